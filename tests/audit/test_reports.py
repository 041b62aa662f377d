"""Reports of an audit: golden JSON and JUnit files, the JSON Schema, the HTML report in
headless Chromium.

Golden files live in tests/audit/golden/; times and durations are normalised. After a
deliberate change of the output, regenerate them with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/audit/test_reports.py

and review the diff."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from tests.audit.conftest import plan_for
from tests.audit.test_gate import LIMITS, impl, report_of
from toolkit.audit.baseline import compare
from toolkit.audit.catalogue import Catalogue, Severity
from toolkit.audit.model import Outcome, Status
from toolkit.audit.results import AuditReport, HostResult, Verdict, host_verdict
from toolkit.audit.runner import audit_host
from toolkit.audit.waivers import Waiver
from toolkit.report import html, junit
from toolkit.report import json as json_report

GOLDEN = Path(__file__).parent / "golden"


def _normalise(report: AuditReport) -> AuditReport:
    """Zero every duration: the rest of a report is deterministic."""
    data = report.model_dump(mode="json")
    data["duration_s"] = 0.0
    for host in data["hosts"]:
        host["duration_s"] = 0.0
        for result in host["results"]:
            result["duration_s"] = 0.0
    return AuditReport.model_validate(data)


@pytest.fixture
def report(catalogue: Catalogue) -> AuditReport:
    """Two audited hosts (every status, a waived and an expired-waiver failure) and one
    unreachable host, compared with a baseline."""
    outcomes = {
        "LNX-02": Outcome.passed("Debian GNU/Linux 12 (bookworm) supported until 2028-06-30"),
        "LNX-03": Outcome.failed("PasswordAuthentication yes; PermitRootLogin yes"),
        "LNX-05": Outcome.failed("minlen 8 (at least 12)"),
        "LNX-06": Outcome.failed("tcp/23 (inetd) is forbidden"),
        "LNX-07": Outcome.warned("nftables.service is disabled: rules are not restored at boot"),
        "LNX-09": Outcome.failed("auditd is inactive"),
        "LNX-10": Outcome.failed("AIDE is not installed"),
        "LNX-11": Outcome(Status.ERROR, "needs root and `sudo -n` was refused"),
        "WEB-01": Outcome.skipped("the host's profiles list no TLS port"),
    }
    waivers = [
        Waiver(
            control="LNX-09",
            owner="RSSI",
            justification="containers cannot run auditd (no AUDIT_CONTROL)",
            expires=date(2027, 2, 28),
        ),
        Waiver(
            control="LNX-06",
            hosts="gateway",
            owner="DSI",
            justification="telnet kept for the legacy switch console until the migration",
            expires=date(2026, 11, 1),
        ),
    ]
    hosts = []
    for name, groups in (
        ("gateway", ("servers", "vpn_gateways")),
        ("mail", ("servers", "mail_servers")),
    ):
        impls = {cid: impl(cid, o) for cid, o in outcomes.items()}
        if name == "mail":
            impls["LNX-03"] = impl("LNX-03", Outcome.passed("root and password login off"))
        hosts.append(
            audit_host(
                plan_for(catalogue, name, list(outcomes), groups),
                impls,
                waivers,
                limits=LIMITS,
                fail_on=Severity.HIGH,
                today=date(2026, 11, 23),
            )
        )
    hosts.append(
        HostResult(
            host="visio",
            groups=["servers", "videoconference_servers"],
            platforms=["videoconference_servers"],
            ssh="admin@127.0.0.1:2205",
            address="127.0.0.1",
            reachable=False,
            error="admin@127.0.0.1:2205: cannot connect: Connection refused",
            duration_s=0.0,
            verdict=host_verdict(False, []),
            results=[],
        )
    )
    current = report_of(*hosts)
    current.requirements = {
        c: catalogue.requirements[c] for c in ("A8", "A13", "A10", "A11", "E9", "M4", "M13")
    }
    previous = current.model_copy(deep=True)
    previous.hosts[1].results[1].status = Status.FAIL
    previous.hosts[1].results[1].blocking = True
    current.baseline = compare(previous, current, "reports/audit/lab-previous/report.json")
    return _normalise(current)


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs (UPDATE_GOLDEN=1 to accept)"


def test_json_report_matches_the_golden_file(report: AuditReport) -> None:
    _golden("report.json", json_report.render(report))


def test_junit_report_matches_the_golden_file(report: AuditReport) -> None:
    _golden("junit.xml", junit.render(report))


def test_json_report_follows_the_documented_json_schema(report: AuditReport) -> None:
    schema = json.loads(json_report.SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(json_report.render(report)), schema)


def test_the_schema_file_is_the_one_the_models_generate() -> None:
    # python -m toolkit.report.json rewrites it after a change of the models
    assert json.loads(json_report.SCHEMA_FILE.read_text()) == json_report.schema()


def test_gate_in_the_report_blocks_on_unwaived_and_expired_waiver_failures(
    report: AuditReport,
) -> None:
    gateway = report.hosts[0]
    blocking = {
        r.control: r.waiver.expired if r.waiver else None for r in gateway.results if r.blocking
    }
    assert blocking == {"LNX-03": None, "LNX-06": True, "LNX-11": None}
    lnx10 = next(r for r in gateway.results if r.control == "LNX-10")
    assert (lnx10.severity, lnx10.status, lnx10.blocking) == ("medium", "fail", False)
    assert (report.verdict, report.exit_code) == (Verdict.NO_GO, 5)
    assert [(p.platform, p.verdict) for p in report.platforms] == [
        ("mail_servers", "no-go"),
        ("videoconference_servers", "no-go"),
        ("vpn_gateways", "no-go"),
    ]


def _chromium(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not installed: ./run setup installs it")
    return subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_html_report_renders_in_headless_chromium_with_title_and_no_go_banner(
    report: AuditReport, tmp_path: Path
) -> None:
    page = html.write(report, tmp_path / "report.html")
    shot = tmp_path / "report.png"
    profile = tmp_path / "chromium-profile"
    proc = _chromium(
        f"--user-data-dir={profile}",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        page.as_uri(),
    )
    assert shot.exists() and shot.stat().st_size > 20_000, proc.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = _chromium(f"--user-data-dir={profile}", "--dump-dom", page.as_uri()).stdout
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title and title.group(1).startswith("Pre-opening audit: NO-GO (test, 2026-11-23")
    banner = re.search(r'<div id="verdict" class="banner no-go">(.*?)</div>', dom, re.S)
    assert banner and banner.group(1).startswith("NO-GO")
    assert "لا يجوز الفتح للعمل عن بعد بعد" in banner.group(1)
    assert "ne pas ouvrir au télétravail" in banner.group(1)
    assert 'class="clause" title="Regulate access rights to systems used remotely"' in dom
    if os.environ.get("AUDIT_SCREENSHOT"):
        shutil.copy(shot, os.environ["AUDIT_SCREENSHOT"])


def test_html_report_shows_go_when_nothing_blocks(catalogue: Catalogue, tmp_path: Path) -> None:
    host = audit_host(
        plan_for(catalogue, "mail", ["LNX-02"], ("servers", "mail_servers")),
        {"LNX-02": impl("LNX-02", Outcome.passed("supported"))},
        [],
        limits=LIMITS,
        fail_on=Severity.HIGH,
    )
    text = html.render(report_of(host))
    assert '<div id="verdict" class="banner go">GO' in text
    assert "<title>Pre-opening audit: GO (test, " in text
