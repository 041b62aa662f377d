"""The report files of one audit run: ``report.html``, ``report.json`` and ``junit.xml``
in one folder. The audit engine builds the report; this module (and the CLI) writes it, so
the engine never imports the report package."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from toolkit.audit.results import AuditReport
from toolkit.report import html, json, junit

WRITERS: dict[str, tuple[str, Callable[[AuditReport, Path], Path]]] = {
    "html": ("report.html", html.write),
    "json": ("report.json", json.write),
    "junit": ("junit.xml", junit.write),
}


def write_reports(report: AuditReport, folder: Path) -> dict[str, Path]:
    """Write every report file of ``report`` into ``folder``; kind -> path written."""
    folder.mkdir(parents=True, exist_ok=True)
    return {kind: write(report, folder / name) for kind, (name, write) in WRITERS.items()}
