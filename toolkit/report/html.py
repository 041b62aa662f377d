"""The self-contained HTML report (``templates/report.html.j2``): go/no-go per platform
at the top, findings by severity with their evidence, the clauses they serve, labels in
English, French and Arabic."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from toolkit.audit.catalogue import Severity
from toolkit.audit.model import Status
from toolkit.audit.results import AuditReport, ControlResult, HostResult

_ENV = Environment(
    loader=PackageLoader("toolkit.report", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def findings(report: AuditReport) -> list[tuple[str, list[tuple[HostResult, ControlResult]]]]:
    """Non-passing results by severity, most severe first; blocking ones first."""
    grouped = []
    for severity in Severity:
        items = [
            (h, r)
            for h in report.hosts
            for r in h.results
            if r.severity is severity and r.status not in (Status.PASS, Status.SKIPPED)
        ]
        items.sort(key=lambda hr: (not hr[1].blocking, hr[1].control, hr[0].host))
        grouped.append((severity.value, items))
    return grouped


def render(report: AuditReport) -> str:
    blocking = [(h, r) for h in report.hosts for r in h.results if r.blocking]
    return _ENV.get_template("report.html.j2").render(
        report=report,
        inventory_name=Path(report.inventory).name,
        findings=findings(report),
        blocking=blocking,
        unreachable=[h for h in report.hosts if not h.reachable],
    )


def write(report: AuditReport, path: Path) -> Path:
    path.write_text(render(report), encoding="utf-8")
    return path
