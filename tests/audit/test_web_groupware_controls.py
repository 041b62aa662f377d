"""WEB-05..07 (groupware logins, hidden administration pages, current software) on canned
answers of a SOGo host: each passes on what role collaboration builds and fails on the
weakness it names."""

from __future__ import annotations

from typing import Any

import pytest

from tests.audit.conftest import Answer, fake_context, params
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.context import Context
from toolkit.audit.model import Outcome, Status
from toolkit.audit.registry import implementations
from toolkit.controls import web_groupware

IMPL = implementations()
NAME = "collab.lab.test"
BOOKWORM = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
INSTALLED = (
    "sogo\tii \t5.8.0-2+deb12u4\nlibsope1\tii \t5.8.0-1+deb12u1\nnginx\tii \t1.22.1-9+deb12u11\n"
)
THROTTLED = (
    "  SOGoMaximumFailedLoginCount = 5;\n  SOGoMaximumFailedLoginInterval = 300;\n"
    "  SOGoFailedLoginBlockInterval = 900;\n  SOGoTOTPEnabled = YES;\n"
)


def run(catalogue: Catalogue, control: str, ctx: Context, **over: Any) -> Outcome:
    return IMPL[control].check(ctx, params(catalogue, control, **over))


def test_web05_passes_five_failures_then_a_quarter_hour_block(catalogue: Catalogue) -> None:
    outcome = run(catalogue, "WEB-05", fake_context({"grep -E": THROTTLED}))
    assert outcome.status is Status.PASS
    assert outcome.summary == "blocked 900 s after 5 failed logins; per-user TOTP offered"


def test_web05_totp_without_throttling_fails_since_dav_clients_bypass_it(
    catalogue: Catalogue,
) -> None:
    outcome = run(catalogue, "WEB-05", fake_context({"grep -E": "  SOGoTOTPEnabled = YES;\n"}))
    assert outcome.status is Status.FAIL
    assert "never covers CalDAV/CardDAV" in outcome.summary


def test_web05_many_failures_and_a_short_block_fail_on_each_count(catalogue: Catalogue) -> None:
    lax = "SOGoMaximumFailedLoginCount = 50;\nSOGoFailedLoginBlockInterval = 10;\n"
    outcome = run(catalogue, "WEB-05", fake_context({"grep -E": lax}))
    assert outcome.status is Status.FAIL
    assert outcome.summary.split("; ") == [
        "50 failed logins allowed before a block (at most 10)",
        "a block of 10 s (at least 60)",
    ]


def test_web05_no_setting_at_all_fails_and_no_sogo_is_skipped(catalogue: Catalogue) -> None:
    assert run(catalogue, "WEB-05", fake_context({"grep -E": Answer(1, "")})).status is Status.FAIL
    missing = Answer(2, "", "grep: /etc/sogo/sogo.conf: No such file or directory")
    assert run(catalogue, "WEB-05", fake_context({"grep -E": missing})).status is Status.SKIPPED


def answering(monkeypatch: pytest.MonkeyPatch, statuses: dict[str, int]) -> None:
    def status(ctx: Context, port: int, path: str) -> int:
        return statuses.get(path, 404)

    monkeypatch.setattr(web_groupware, "_status", status)


def test_web06_passes_when_every_status_and_admin_path_is_refused(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    answering(monkeypatch, {"/SOGo/so/audit/Administration": 403})
    ctx = fake_context({}, tls_ports=(443,), server_name=NAME)
    outcome = run(catalogue, "WEB-06", ctx)
    assert outcome.status is Status.PASS


def test_web06_a_status_page_or_an_admin_login_redirect_fails(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    answering(monkeypatch, {"/nginx_status": 200, "/SOGo/so/audit/Administration": 302})
    ctx = fake_context({}, tls_ports=(443,), server_name=NAME)
    outcome = run(catalogue, "WEB-06", ctx)
    assert outcome.status is Status.FAIL
    assert outcome.summary.split("; ") == [
        "port 443: /nginx_status answers 200",
        "port 443: /SOGo/so/audit/Administration answers 302",
    ]


def host(**changes: Any) -> Context:
    answers: dict[str, Any] = {"os-release": BOOKWORM, "dpkg-query": INSTALLED, "apt-get -s": ""}
    answers.update(changes)
    return fake_context(answers)


def test_web07_passes_bookworms_current_sogo_and_nginx(catalogue: Catalogue) -> None:
    outcome = run(catalogue, "WEB-07", host())
    assert outcome.status is Status.PASS
    assert "sogo 5.8.0-2+deb12u4" in outcome.summary


def test_web07_an_old_sogo_and_a_pending_nginx_security_update_fail(
    catalogue: Catalogue,
) -> None:
    old = INSTALLED.replace("5.8.0-2+deb12u4", "5.8.0-2+deb12u1")
    update = (
        "Inst nginx [1.22.1-9+deb12u11] (1.22.1-9+deb12u12 Debian-Security:12/stable-security "
        "[amd64])\n"
    )
    outcome = run(catalogue, "WEB-07", host(**{"dpkg-query": old, "apt-get -s": update}))
    assert outcome.status is Status.FAIL
    assert "sogo 5.8.0-2+deb12u1 is older than 5.8.0-2+deb12u4" in outcome.summary
    assert "security updates pending: nginx" in outcome.summary
