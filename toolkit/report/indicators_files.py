"""The indicators report's files (A18): ``indicators-<date>.html`` for the steering team and
``indicators-<date>.json`` for a machine and for the next report's trend, kept side by side
in one folder per inventory."""

from __future__ import annotations

import re
from pathlib import Path

from toolkit.report import charts
from toolkit.report.indicators import Indicators
from toolkit.report.pages import clause_texts, render, write_atomically

_JSON = re.compile(r"^indicators-(\d{4}-\d{2}-\d{2})\.json$")


def html(ind: Indicators, audits: Path | None = None) -> str:
    return render(
        "indicators.html.j2",
        ind=ind,
        charts=charts.all_charts(ind),
        clauses=clause_texts(tuple(ind.clauses), audits),
    )


def json_text(ind: Indicators) -> str:
    return ind.model_dump_json(indent=2) + "\n"


def previous_report(folder: Path, before: Indicators) -> Path | None:
    """The newest ``indicators-<date>.json`` of ``folder`` older than ``before``."""
    if not folder.is_dir():
        return None
    dated = [
        (m[1], p)
        for p in folder.iterdir()
        if (m := _JSON.match(p.name)) and m[1] < before.generated_on.isoformat()
    ]
    return max(dated)[1] if dated else None


def write(ind: Indicators, folder: Path, audits: Path | None = None) -> dict[str, Path]:
    stem = f"indicators-{ind.generated_on.isoformat()}"
    return {
        "html": write_atomically(folder / f"{stem}.html", html(ind, audits), 0o644),
        "json": write_atomically(folder / f"{stem}.json", json_text(ind), 0o644),
    }
