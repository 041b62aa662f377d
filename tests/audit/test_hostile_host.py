"""A hostile host never runs anything on the auditor's side, never hangs the audit and
never makes a report lie: what it says reaches the terminal, the HTML, the JSON and the
JUnit XML only as printable text, and a control past its time limit leaves nothing behind
in the next control's findings."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from rich.console import Console

from tests.audit.conftest import FakeHost, plan_for
from tests.audit.test_gate import report_of
from tests.conftest import REPO
from toolkit.audit.catalogue import Catalogue, Severity
from toolkit.audit.context import Context
from toolkit.audit.model import Outcome, Params, Status
from toolkit.audit.registry import Implementation, implementations
from toolkit.audit.results import ControlResult, EvidenceItem, HostResult, Verdict
from toolkit.audit.runner import Limits, audit_host
from toolkit.report import html, junit
from toolkit.report import json as json_report
from toolkit.report.terminal import print_report, summary_table

TERMINAL_TITLE_AND_CLEAR = "\x1b]0;pwned\x07\x1b[2J"
RIGHT_TO_LEFT_OVERRIDE = "sshd\u202egnp.exe"
RAW = ("\x1b", "\x07", "\u202e")
LIMITS = Limits(workers=1, connect=1, command=1, control=1, host=30)
#: One control after the other: the next one starts once the slow one is abandoned.
ONE_AT_A_TIME = Limits(workers=1, connect=1, command=1, control=1, host=30, host_concurrency=1)


def _ss_with(process: str) -> str:
    return (
        'tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=1,fd=3))\n'
        f'tcp LISTEN 0 128 0.0.0.0:4444 0.0.0.0:* users:(("{process}",pid=666,fd=3))\n'
    )


def _lnx06_on_a_host_whose_process_is_named(
    catalogue: Catalogue, process: str, host: str = "srv1"
) -> HostResult:
    """LNX-06, the real implementation, run by the runner on a host answering ``ss``."""
    real = implementations()["LNX-06"]

    def check(ctx: Context, p: Params) -> Outcome:
        ctx.host = FakeHost({"ss -Hlntup": _ss_with(process)})
        return real.check(ctx, p)

    return audit_host(
        plan_for(catalogue, host, ["LNX-06"]),
        {"LNX-06": Implementation("LNX-06", check, needs_ssh=False)},
        [],
        limits=LIMITS,
        fail_on=Severity.HIGH,
        today=date(2026, 11, 23),
    )


def _has_raw(text: str) -> list[str]:
    return [ch for ch in RAW if ch in text]


@pytest.mark.parametrize("process", [TERMINAL_TITLE_AND_CLEAR, RIGHT_TO_LEFT_OVERRIDE])
def test_a_process_name_with_escapes_reaches_the_summary_and_evidence_only_as_visible_escapes(
    catalogue: Catalogue, process: str
) -> None:
    result = _lnx06_on_a_host_whose_process_is_named(catalogue, process).results[0]
    assert result.status is Status.FAIL
    texts = [result.summary, *result.details]
    texts += [t for e in result.evidence for t in (e.probe, e.excerpt)]
    assert [t for t in texts if _has_raw(t)] == []
    if process == TERMINAL_TITLE_AND_CLEAR:
        assert "tcp/4444 (\\x1b]0;pwned\\x07\\x1b[2J on 0.0.0.0)" in result.summary
    else:
        assert "tcp/4444 (sshd\\u202egnp.exe on 0.0.0.0)" in result.summary
    assert "\\x1b]0;pwned" in result.evidence[0].excerpt or "\\u202e" in result.evidence[0].excerpt


def test_multi_line_evidence_keeps_its_lines_and_tabs_but_not_carriage_returns() -> None:
    item = EvidenceItem(probe="ss -Hlntup", excerpt="line one\tok\nline two\r\x1b[1A")
    assert item.excerpt == "line one\tok\nline two\\x0d\\x1b[1A"


def test_host_names_and_errors_from_the_inventory_are_made_printable_too() -> None:
    host = HostResult(
        host="srv\x1b[31m",
        groups=["servers\u202e"],
        platforms=[],
        ssh="admin@127.0.0.1:22",
        address="127.0.0.1",
        reachable=False,
        error="cannot connect: \x1b]0;x\x07",
        duration_s=0.0,
        verdict=Verdict.NO_GO,
        results=[],
    )
    assert (host.host, host.groups, host.error) == (
        "srv\\x1b[31m",
        ["servers\\u202e"],
        "cannot connect: \\x1b]0;x\\x07",
    )


def test_junit_xml_of_a_run_with_hostile_evidence_parses(catalogue: Catalogue) -> None:
    host = _lnx06_on_a_host_whose_process_is_named(catalogue, TERMINAL_TITLE_AND_CLEAR)
    root = ET.fromstring(junit.render(report_of(host)))  # noqa: S314 (our own output)
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert "\\x1b]0;pwned\\x07" in failure.get("message", "")
    assert "\\x1b[2J" in (failure.text or "")


def test_the_junit_writer_on_its_own_writes_nothing_xml_refuses(catalogue: Catalogue) -> None:
    clean = _lnx06_on_a_host_whose_process_is_named(catalogue, "sshd").results[0]
    # built without validation, as a caller bypassing the results model would
    dirty = ControlResult.model_construct(
        **{
            **dict(clean),
            "summary": "bad \x00\x1b\x07\ufffe\ud800 end",
            "details": ["\x0c detail"],
            "evidence": [EvidenceItem.model_construct(probe="ss\x1b", excerpt="a\x00\nb")],
        }
    )
    report = report_of(_lnx06_on_a_host_whose_process_is_named(catalogue, "sshd"))
    report.hosts[0].results = [dirty]
    text = junit.render(report)
    root = ET.fromstring(text)  # noqa: S314 (our own output)
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message", "").startswith("[high] bad \\x00\\x1b\\x07\\ufffe\\ud800 end")
    assert "a\\x00\nb" in (failure.text or "")


def test_the_json_report_of_a_hostile_host_is_valid_json_with_only_visible_escapes(
    catalogue: Catalogue,
) -> None:
    host = _lnx06_on_a_host_whose_process_is_named(catalogue, TERMINAL_TITLE_AND_CLEAR)
    text = json_report.render(report_of(host))
    data = json.loads(text)
    summary = data["hosts"][0]["results"][0]["summary"]
    assert _has_raw(summary) == []
    assert "\\u001b" not in text  # no ESC, even JSON-escaped, for a viewer to decode


def test_the_html_report_of_a_hostile_host_holds_no_raw_escape(catalogue: Catalogue) -> None:
    host = _lnx06_on_a_host_whose_process_is_named(catalogue, TERMINAL_TITLE_AND_CLEAR)
    page = html.render(report_of(host))
    assert _has_raw(page) == []
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in page


def _terminal(render: object) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, color_system=None, force_terminal=False)
    console.print(render)
    return buffer.getvalue()


def test_the_terminal_shows_a_hostile_summary_without_running_its_escapes(
    catalogue: Catalogue,
) -> None:
    host = _lnx06_on_a_host_whose_process_is_named(catalogue, TERMINAL_TITLE_AND_CLEAR)
    buffer = io.StringIO()
    console = Console(file=buffer, width=300, color_system=None, record=True)
    print_report(report_of(host), console)
    shown = buffer.getvalue()
    assert _has_raw(shown) == []
    assert _has_raw(console.export_text()) == []
    assert "tcp/4444 (\\x1b]0;pwned\\x07\\x1b[2J on 0.0.0.0)" in shown


def test_rich_markup_in_a_host_answer_is_printed_as_it_is(catalogue: Catalogue) -> None:
    host = _lnx06_on_a_host_whose_process_is_named(catalogue, "[/x][bold]GO :thumbs_up:")
    buffer = io.StringIO()
    print_report(report_of(host), Console(file=buffer, width=300, color_system=None))
    assert "([/x][bold]GO :thumbs_up: on 0.0.0.0)" in buffer.getvalue()


def test_a_host_name_with_rich_markup_does_not_break_the_summary_table(
    catalogue: Catalogue,
) -> None:
    host = _lnx06_on_a_host_whose_process_is_named(catalogue, "sshd", host="srv[/x][bold]")
    shown = _terminal(summary_table(report_of(host)))
    assert "srv[/x][bold]" in shown


def test_a_control_past_its_time_limit_writes_nothing_into_the_next_controls_evidence(
    catalogue: Catalogue,
) -> None:
    b_started, a_wrote = threading.Event(), threading.Event()
    late: list[BaseException | None] = []

    def slow_a(ctx: Context, p: Params) -> Outcome:
        ctx.note("A before its time limit", "a-early")
        b_started.wait(10)  # past A's 1 s limit: B is running by then
        try:
            ctx.note("A after its time limit", "a-late")
            late.append(None)
        except BaseException as exc:  # a late write must raise nothing
            late.append(exc)
        a_wrote.set()
        return Outcome.passed("A too late")

    def b(ctx: Context, p: Params) -> Outcome:
        b_started.set()
        a_wrote.wait(10)
        ctx.note("B's probe", "b-seen")
        return Outcome.passed("B done")

    host = audit_host(
        plan_for(catalogue, "srv1", ["LNX-07", "LNX-11"]),
        {
            "LNX-07": Implementation("LNX-07", slow_a, needs_ssh=False),
            "LNX-11": Implementation("LNX-11", b, needs_ssh=False),
        },
        [],
        limits=ONE_AT_A_TIME,
        fail_on=Severity.HIGH,
    )
    a, b_result = host.results
    assert (a.status, a.summary) == (Status.ERROR, "timed out after 1 s")
    assert a.evidence == []
    assert (b_result.status, b_result.summary) == (Status.PASS, "B done")
    assert [(e.probe, e.excerpt) for e in b_result.evidence] == [("B's probe", "b-seen")]
    assert late == [None]


def test_a_timed_out_control_can_run_no_more_commands_on_the_host(catalogue: Catalogue) -> None:
    go_on, finished = threading.Event(), threading.Event()
    host_seen = FakeHost({"true": ""})
    late: list[str] = []

    def slow(ctx: Context, p: Params) -> Outcome:
        ctx.host = host_seen
        go_on.wait(10)
        try:
            ctx.run("true")
            late.append("ran")
        except Exception as exc:  # what the abandoned control sees
            late.append(str(exc))
        finished.set()
        return Outcome.passed("too late")

    def next_one(ctx: Context, p: Params) -> Outcome:
        go_on.set()
        finished.wait(10)
        return Outcome.passed("ok")

    host = audit_host(
        plan_for(catalogue, "srv1", ["LNX-07", "LNX-11"]),
        {
            "LNX-07": Implementation("LNX-07", slow, needs_ssh=False),
            "LNX-11": Implementation("LNX-11", next_one, needs_ssh=False),
        },
        [],
        limits=ONE_AT_A_TIME,
        fail_on=Severity.HIGH,
    )
    assert [r.status for r in host.results] == [Status.ERROR, Status.PASS]
    assert host_seen.commands == []
    assert late == ["the control's time limit has passed: nothing more is run"]


_QUADRATIC_BAIT = """
from tests.audit.test_hostile_host import judge_bait
print(judge_bait())
"""


def judge_bait() -> str:
    """LNX-03 whose ``sudo`` answers 4 MiB of ``sudo: `` on one line, and LOG-04 whose
    rsyslog configuration is 4 MiB of ``action(``: both used to take quadratic time
    holding the GIL (the whole audit frozen, the runner's time limits included)."""
    from tests.audit.conftest import Answer, fake_context
    from toolkit.audit.model import ControlError

    size = 4 * 1024 * 1024
    seen = []
    ctx = fake_context({"sshd -T": Answer(1, "", "sudo: " * (size // 6))})
    try:
        implementations()["LNX-03"].check(ctx, {})
    except ControlError as exc:
        seen.append(str(exc)[:40])
    ctx = fake_context(
        {
            "rsyslog.conf": "/etc/rsyslog.conf: " + "action(" * (size // 7),
            "is-active": "active",
            "find /var/log": "",
        }
    )
    outcome = implementations()["LOG-04"].check(
        ctx, {"require_forwarding": True, "require_tls": True, "world_readable_allowed": []}
    )
    seen.append(outcome.summary[:40])
    return " | ".join(seen)


def test_hostile_answers_that_bait_a_quadratic_regex_are_judged_promptly() -> None:
    # a child process: a regex holds the GIL, no thread of this one could stop it
    proc = subprocess.run(
        [sys.executable, "-c", _QUADRATIC_BAIT],
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard: it takes about a second
        check=False,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == (
        "`sudo -n /bin/sh -c 'sshd -T'` exited 1: | no forwarding to a log collector (omfwd"
    )
