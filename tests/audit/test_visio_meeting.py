"""VC-06 (M6) without a browser: the control is skipped where the auditor's machine has
no Chromium or no Playwright, maps what the two pages saw to pass or to a failure naming
the step, and escapes what a page or a server says before it reaches the report. The
real meeting runs against the lab (tests/integration/test_lab_provisioned.py)."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tests.audit.conftest import fake_context, params
from tests.certs import self_signed
from toolkit.adapters import browser
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, Status
from toolkit.controls import visio_meeting
from toolkit.controls.visio_meeting import Candidate, Seen, judge

SERVER = ["192.0.2.10"]
JANUS = Candidate("host", "192.0.2.10", 20012, "udp")


def met(**changes: Any) -> Seen:
    """Both joined; audit-probe-2 decoded audit-probe's video from the server."""
    seen = Seen(
        "audit-vc06-1a2b3c4d",
        "audit-probe",
        "audit-probe-2",
        joined=["audit-probe", "audit-probe-2"],
        feeds=["audit-probe"],
        frames=87,
        remote=JANUS,
        publisher_remote=Candidate("host", "192.0.2.10", 20010, "udp"),
        seconds=6.4,
    )
    for name, value in changes.items():
        setattr(seen, name, value)
    return seen


def test_two_participants_who_met_through_the_server_pass() -> None:
    outcome = judge(met(), SERVER, 60)
    assert outcome.status is Status.PASS
    assert outcome.summary == (
        "audit-probe and audit-probe-2 joined room audit-vc06-1a2b3c4d; audit-probe-2 "
        "decoded 87 frames of audit-probe's video from the server at "
        "192.0.2.10:20012/udp (host) in 6.4 s"
    )


def test_an_address_janus_announces_behind_a_nat_counts_as_the_server() -> None:
    natted = Candidate("srflx", "2001:db8::0:15", 20012, "udp")
    seen = met(remote=natted, publisher_remote=natted)
    assert judge(seen, SERVER, 60).status is Status.FAIL
    assert judge(seen, [*SERVER, "2001:db8::15"], 60).status is Status.PASS


@pytest.mark.parametrize(
    ("step", "reason", "summary"),
    [
        ("site", "net::ERR_CONNECTION_REFUSED", "the meeting site did not open for audit-probe"),
        ("login", "Identifiant ou mot de passe refusé.", "login refused for audit-probe"),
        ("join", "the meeting server did not answer", "audit-probe could not join the room"),
        ("media", "Target page closed", "media failed for audit-probe"),
    ],
)
def test_a_step_that_failed_is_named_with_what_the_page_said(
    step: str, reason: str, summary: str
) -> None:
    outcome = judge(met(failed=step, who="audit-probe", reason=reason), SERVER, 60)
    assert outcome.status is Status.FAIL
    assert outcome.summary == f"{summary}: {reason}"


def test_no_frame_within_the_limit_fails_naming_the_feeds_the_subscriber_saw() -> None:
    outcome = judge(met(frames=0, page_errors=["audit-probe-2: boom"]), SERVER, 45)
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "no video frame of audit-probe decoded by audit-probe-2 within 45 s "
        "(feeds audit-probe-2 saw: audit-probe)"
    )
    assert outcome.details == ["audit-probe-2: boom"]


def test_media_that_went_around_the_server_or_has_no_selected_pair_fails() -> None:
    around = Candidate("prflx", "10.88.0.7", 40000, "udp")
    outcome = judge(met(remote=around, publisher_remote=None), SERVER, 60)
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "audit-probe-2's media went to 10.88.0.7:40000/udp (prflx), not through the server "
        "(192.0.2.10); audit-probe's connection has no selected candidate pair"
    )


def test_what_a_hostile_page_or_server_says_is_escaped_and_cut() -> None:
    hostile = "refusé\x1b[2J\u202eevil\r\nsecond line"
    outcome = judge(met(failed="login", who="audit-probe\x07", reason=hostile), SERVER, 60)
    assert outcome.summary == ("login refused for audit-probe\\x07: refusé\\x1b[2J\\u202eevil...")
    long = judge(met(failed="join", who="p", reason="x" * 5000), SERVER, 60)
    assert len(long.summary) < 400
    odd = Candidate("host", "\u202e1.2.3.4", 1, "udp")
    moved = judge(met(remote=odd, feeds=["\x1b]0;x\x07"]), SERVER, 60)
    assert "\u202e" not in moved.summary and "\\u202e1.2.3.4" in moved.summary
    none = judge(met(frames=0, feeds=["\x1b]0;x\x07"]), SERVER, 60)
    assert "\x1b" not in none.summary and "\\x1b]0;x\\x07" in none.summary


def test_a_candidate_from_the_page_keeps_only_what_it_should() -> None:
    assert Candidate.of(None) is None
    assert Candidate.of({"type": "host", "address": "192.0.2.10", "port": "x"}) == Candidate(
        "host", "192.0.2.10", 0, ""
    )


def test_without_chromium_vc06_is_skipped_saying_why(catalogue: Catalogue) -> None:
    p = params(catalogue, "VC-06", chromium="/nonexistent/chromium")
    outcome = visio_meeting.participants_meet(fake_context({}), p)
    assert outcome.status is Status.SKIPPED
    assert outcome.summary.startswith("no Chromium at /nonexistent/chromium on the auditor's")
    assert outcome.summary.endswith("VC-06 needs two headless browsers")


def test_without_playwright_vc06_is_skipped_saying_why(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "playwright" else real(name)
    )
    p = params(catalogue, "VC-06", chromium=str(chromium))
    outcome = visio_meeting.participants_meet(fake_context({}), p)
    assert outcome.status is Status.SKIPPED
    assert "the Python package playwright is not installed" in outcome.summary


def probes(tmp_path: Path, catalogue: Catalogue, **changes: Any) -> dict[str, Any]:
    for name in ("audit-probe", "audit-probe-2"):
        (tmp_path / f"{name}.password").write_text(f"secret of {name}\n")
    given: dict[str, Any] = {
        "publisher_login": "audit-probe",
        "publisher_password_path": str(tmp_path / "audit-probe.password"),
        "subscriber_login": "audit-probe-2",
        "subscriber_password_path": str(tmp_path / "audit-probe-2.password"),
        "media_addresses": ["203.0.113.5"],
    }
    return params(catalogue, "VC-06", **{**given, **changes})


@pytest.fixture
def any_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    """The auditor's machine has a browser (the meeting itself is replaced)."""
    monkeypatch.setattr(browser, "missing", lambda executable: None)


@pytest.mark.usefixtures("any_browser")
def test_the_control_meets_as_the_two_probes_and_notes_what_the_pages_showed(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    asked: dict[str, Any] = {}

    def meet(site: browser.Site, port: int, accounts: Any, limit: float, executable: str) -> Seen:
        asked.update(site=site, port=port, accounts=accounts, limit=limit, chromium=executable)
        return met(remote=Candidate("host", "203.0.113.5", 20012, "udp"))

    monkeypatch.setattr(visio_meeting, "meet", meet)
    monkeypatch.setattr(visio_meeting, "_pin", lambda ctx, port: "cGlu")
    ctx = fake_context({}, server_name="visio.example.ma")
    outcome = visio_meeting.participants_meet(ctx, probes(tmp_path, catalogue))
    assert outcome.status is Status.PASS, outcome.summary
    assert asked["site"] == browser.Site("visio.example.ma", "192.0.2.10", "cGlu")
    assert (asked["port"], asked["limit"], asked["chromium"]) == (443, 60.0, "/usr/bin/chromium")
    assert [(a.login, a.password) for a in asked["accounts"]] == [
        ("audit-probe", "secret of audit-probe"),
        ("audit-probe-2", "secret of audit-probe-2"),
    ]
    [note] = ctx.evidence
    assert note.probe.startswith("chromium https://visio.example.ma:443/ at 192.0.2.10")
    assert "video frames decoded: 87" in note.excerpt
    assert "secret of" not in note.excerpt


@pytest.mark.usefixtures("any_browser")
def test_without_two_distinct_probe_accounts_vc06_cannot_be_evaluated(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    ctx = fake_context({}, server_name="visio.example.ma")
    with pytest.raises(ControlError, match="set subscriber_login and subscriber_password_path"):
        visio_meeting.participants_meet(ctx, probes(tmp_path, catalogue, subscriber_login=""))
    same = probes(tmp_path, catalogue, subscriber_login="audit-probe")
    with pytest.raises(ControlError, match="two accounts"):
        visio_meeting.participants_meet(ctx, same)


def test_chromium_accepts_only_the_proven_key_and_resolves_only_the_site() -> None:
    site = browser.Site("visio.example.ma", "2001:db8::15", "cGlu")
    args = browser.arguments(site, root=False)
    assert "--host-resolver-rules=MAP visio.example.ma [2001:db8::15]" in args
    assert "--ignore-certificate-errors-spki-list=cGlu" in args
    assert "--ignore-certificate-errors" not in args and "--no-sandbox" not in args
    assert "--no-sandbox" in browser.arguments(site, root=True)


def test_the_pin_is_the_sha256_of_the_certificates_public_key() -> None:
    key, cert = self_signed("visio.example.ma")
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    assert browser.spki_pin(der) == base64.b64encode(hashlib.sha256(spki).digest()).decode()


def test_a_step_that_did_not_complete_in_time_is_told_apart_from_a_refusal() -> None:
    seen = met(failed="login", who="audit-probe-2", reason="Timeout 1ms exceeded.", timed_out=True)
    assert judge(seen, SERVER, 3).summary == (
        "the login of audit-probe-2 did not complete within 3 s: Timeout 1ms exceeded."
    )


def test_a_subscriber_who_never_saw_the_publisher_fails_saying_so() -> None:
    outcome = judge(met(feeds=[], frames=0), SERVER, 60)
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "audit-probe-2 did not see audit-probe's feed in the room within 60 s (feeds: none)"
    )


def test_a_chromium_that_does_not_start_is_an_error_of_the_audit_not_a_failure(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("playwright.sync_api")
    monkeypatch.setattr(visio_meeting, "_pin", lambda ctx, port: "cGlu")
    p = probes(tmp_path, catalogue, chromium="/bin/false", time_limit=10.0)
    ctx = fake_context({}, server_name="visio.example.ma")
    with pytest.raises(ControlError, match=r"^Chromium could not be driven: "):
        visio_meeting.participants_meet(ctx, p)
