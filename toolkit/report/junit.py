"""JUnit XML for CI: one test suite a host, one test case a control. ``fail`` is a
failure, ``error`` an error, ``skipped`` and waived findings are skipped (with the
waiver), an unreachable host is one errored case.

The results model already makes every string printable; this writer does it again on its
own (:func:`toolkit.text.printable` on every attribute and text it writes), so nothing
XML 1.0 refuses can reach the file, whoever built the report."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from toolkit.audit.model import Status
from toolkit.audit.results import AuditReport, ControlResult
from toolkit.text import printable


def _message(r: ControlResult) -> str:
    return f"[{r.severity}] {r.summary} (guide: {', '.join(r.guide)})"


def _body(r: ControlResult) -> str:
    lines = [r.summary, *r.details]
    for e in r.evidence:
        lines += [f"$ {e.probe}", e.excerpt]
    return "\n".join(lines)


def _safe(root: ET.Element) -> None:
    """Every attribute (one line) and text (several lines) of the tree made printable."""
    for element in root.iter():
        for key, value in element.attrib.items():
            element.set(key, printable(value))
        if element.text is not None:
            element.text = printable(element.text, multiline=True)


def render(report: AuditReport) -> str:
    root = ET.Element("testsuites", name="toolkit audit", time=f"{report.duration_s:.3f}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for host in report.hosts:
        suite = ET.SubElement(root, "testsuite", name=host.host, time=f"{host.duration_s:.3f}")
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if not host.reachable:
            case = ET.SubElement(suite, "testcase", classname=host.host, name="reachable over SSH")
            ET.SubElement(case, "error", message=host.error or "unreachable").text = host.error
            counts["tests"] += 1
            counts["errors"] += 1
        for r in host.results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{host.host}.{r.control}",
                name=f"{r.control} {r.title}",
                time=f"{r.duration_s:.3f}",
            )
            counts["tests"] += 1
            waived = r.waiver is not None and not r.waiver.expired
            if r.status in (Status.FAIL, Status.ERROR) and waived and r.waiver:
                ET.SubElement(
                    case,
                    "skipped",
                    message=f"waived by {r.waiver.owner} until {r.waiver.expires}: "
                    f"{r.waiver.justification}",
                ).text = _body(r)
                counts["skipped"] += 1
            elif r.status is Status.FAIL:
                ET.SubElement(case, "failure", message=_message(r), type=r.control).text = _body(r)
                counts["failures"] += 1
            elif r.status is Status.ERROR:
                ET.SubElement(case, "error", message=_message(r), type=r.control).text = _body(r)
                counts["errors"] += 1
            elif r.status is Status.SKIPPED:
                ET.SubElement(case, "skipped", message=r.summary)
                counts["skipped"] += 1
            else:
                ET.SubElement(case, "system-out").text = _body(r)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    _safe(root)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write(report: AuditReport, path: Path) -> Path:
    path.write_text(render(report), encoding="utf-8")
    return path
