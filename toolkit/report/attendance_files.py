"""The attendance report's files (A17, A3): ``attendance.html`` for a person,
``attendance.csv`` (one row a deviation, or a checked day in the detail view) and
``attendance-units.csv`` (per-unit totals), all mode 0600; and the retention limit of the
folder they are written to."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import asdict
from pathlib import Path

from toolkit.report.attendance import Attendance
from toolkit.report.pages import clause_texts, render, write_atomically
from toolkit.text import printable

ROW_COLUMNS = (
    "unit",
    "id",
    "day",
    "weekday",
    "scheduled",
    "evidence",
    "status",
    "deviations",
    "covered_pct",
    "first",
    "last",
)
UNIT_COLUMNS = (
    "unit",
    "teleworkers",
    "scheduled_days",
    "kept",
    "deviations",
    "no_data",
    "unverifiable",
)


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        # A cell a spreadsheet would run as a formula starts with a quote instead.
        writer.writerow(["'" + c if c[:1] in ("=", "+", "-", "@") else c for c in row])
    return out.getvalue()


def rows_csv(report: Attendance) -> str:
    lines = [list(ROW_COLUMNS)]
    for r in report.rows:
        lines.append(
            [
                printable(r.unit),
                printable(r.ident),
                r.day.isoformat(),
                r.weekday,
                r.scheduled,
                r.source,
                r.status,
                " ".join(r.deviations),
                str(r.covered_pct),
                r.first,
                r.last,
            ]
        )
    return _csv(lines)


def units_csv(report: Attendance) -> str:
    lines = [list(UNIT_COLUMNS)]
    for u in report.units:
        values = asdict(u)
        values["kept"] = u.ok
        lines.append([printable(str(values[c])) for c in UNIT_COLUMNS])
    return _csv(lines)


def html(report: Attendance, audits: Path | None = None) -> str:
    return render("attendance.html.j2", report=report, clauses=clause_texts(report.clauses, audits))


def write(report: Attendance, folder: Path, audits: Path | None = None) -> dict[str, Path]:
    """Write the three files into ``folder``; kind -> path."""
    return {
        "html": write_atomically(folder / "attendance.html", html(report, audits)),
        "csv": write_atomically(folder / "attendance.csv", rows_csv(report)),
        "units": write_atomically(folder / "attendance-units.csv", units_csv(report)),
    }


def prune_reports(parent: Path, keep_days: int, now: float | None = None) -> list[Path]:
    """Delete the report folders under ``parent`` last written more than ``keep_days`` ago
    (A3: reports are kept no longer than the evidence); the folders deleted."""
    limit = (now if now is not None else time.time()) - keep_days * 86400
    removed = []
    if parent.is_dir():
        for folder in sorted(parent.iterdir()):
            if folder.is_dir() and not folder.is_symlink() and folder.stat().st_mtime < limit:
                for item in folder.iterdir():
                    if item.is_file() and item.name.startswith("attendance"):
                        item.unlink()
                if not any(folder.iterdir()):
                    folder.rmdir()
                    removed.append(folder)
    return removed
