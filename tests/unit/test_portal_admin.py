"""A17, C5, A4: telework-portal-admin (roles/vpn_gateway/files/telework_portal/
portal_admin.py) lists the gate's sessions, ends a teleworker's sessions at once (revocation)
and resets a lost device's second factor in the web app's store, with one journal line."""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

PORTAL = Path(__file__).resolve().parents[2] / "roles/vpn_gateway/files/telework_portal"
if str(PORTAL) not in sys.path:
    sys.path.insert(0, str(PORTAL))
portal_admin = importlib.import_module("portal_admin")
GateError = importlib.import_module("portal_errors").GateError

SESSION = {
    "id": 7,
    "user": "ag0002",
    "device": "lt-0002\x1b]0;owned\x07\u202e",
    "groups": ["finance"],
    "started": "2026-11-24T09:00:00+01:00",
    "ends": "2026-11-24T12:30:00+01:00",
    "ended": None,
    "how": None,
}


class FakeGate:
    def __init__(self, refuse: str = "") -> None:
        self.calls: list[tuple[str, ...]] = []
        self.refuse = refuse

    def sessions(self, open_only: bool) -> list[dict[str, Any]]:
        self.calls.append(("sessions", str(open_only)))
        if self.refuse:
            raise GateError(self.refuse)
        return [SESSION]

    def end_user(self, user: str, how: str) -> int:
        self.calls.append(("end-user", user, how))
        if self.refuse:
            raise GateError(self.refuse)
        return 2


class FakeStore:
    opened: list[str]
    resets: list[str]

    def __init__(self, path: str) -> None:
        FakeStore.opened.append(path)

    def reset(self, user: str) -> bool:
        FakeStore.resets.append(user)
        return True


@pytest.fixture(autouse=True)
def fresh_store() -> None:
    FakeStore.opened = []
    FakeStore.resets = []


def run(argv: list[str], gate: FakeGate, journal: list[str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    lines = journal if journal is not None else []
    code = portal_admin.main(
        argv, gate=gate, store=FakeStore, write_journal=lines.append, out=out, err=err
    )
    return code, out.getvalue(), err.getvalue()


def test_sessions_prints_json_with_json() -> None:
    gate = FakeGate()
    code, out, _ = run(["sessions", "--open", "--json"], gate)
    assert code == 0
    assert json.loads(out) == [SESSION]
    assert out.isascii() and "\x1b" not in out
    assert gate.calls == [("sessions", "True")]


def test_sessions_prints_a_table_with_hostile_names_made_harmless() -> None:
    code, out, _ = run(["sessions"], FakeGate())
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["id", "user", "device", "groups", "started", "ends", "ended", "how"]
    assert "lt-0002\\x1b]0;owned\\x07\\u202e" in row
    assert out.isascii() and all(line.isprintable() for line in out.splitlines())


def test_end_ends_every_open_session_of_the_teleworker_as_revoked() -> None:
    gate = FakeGate()
    code, out, _ = run(["end", "--user", "AG0002", "--json"], gate)
    assert code == 0
    assert json.loads(out) == {"user": "ag0002", "ended": 2}
    assert gate.calls == [("end-user", "ag0002", "revoked")]


def test_reset_totp_forgets_the_secret_ends_the_sessions_and_writes_one_journal_line() -> None:
    gate, journal = FakeGate(), list[str]()
    code, out, _ = run(["reset-totp", "--user", "ag0002", "--store", "/s/portal.db"], gate, journal)
    assert code == 0
    assert FakeStore.opened == ["/s/portal.db"]
    assert FakeStore.resets == ["ag0002"]
    assert gate.calls == [("end-user", "ag0002", "reset")]
    assert journal == ["totp-reset user=ag0002 by=root"]
    assert out == "ag0002: second factor reset, 2 open session(s) ended\n"


def test_reset_totp_finds_the_store_in_the_web_apps_configuration(tmp_path: Path) -> None:
    config = tmp_path / "portal.json"
    config.write_text(json.dumps({"database": "/var/lib/telework-portal/portal.db"}))
    code, _, _ = run(["reset-totp", "--user", "ag0002", "--portal-config", str(config)], FakeGate())
    assert code == 0
    assert FakeStore.opened == ["/var/lib/telework-portal/portal.db"]


def test_the_web_apps_store_is_imported_only_when_a_reset_needs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = types.ModuleType("portal_store")
    fake.Store = FakeStore  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "portal_store", fake)
    store = portal_admin.open_store("/s/portal.db")
    store.reset("ag0002")
    assert FakeStore.opened == ["/s/portal.db"]
    assert FakeStore.resets == ["ag0002"]


def test_a_gate_refusal_is_reported_and_fails() -> None:
    code, out, err = run(["end", "--user", "ag0002"], FakeGate(refuse="forbidden"))
    assert (code, out) == (1, "")
    assert "forbidden" in err


def test_a_reset_whose_sessions_could_not_be_ended_still_says_the_factor_was_reset() -> None:
    journal: list[str] = []
    code, _, err = run(
        ["reset-totp", "--user", "ag0002", "--store", "/s/p.db"],
        FakeGate(refuse="unavailable"),
        journal,
    )
    assert code == 1
    assert journal == ["totp-reset user=ag0002 by=root"]
    assert "was reset" in err


def test_a_user_id_that_is_not_one_is_refused_before_anything_is_done() -> None:
    gate = FakeGate()
    code, _, err = run(["end", "--user", "ag0002\x1b[2J"], gate)
    assert code == 2
    assert gate.calls == []
    assert "\x1b" not in err


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to another owner needs root")
def test_a_reset_made_as_root_leaves_the_stores_journal_files_to_the_stores_owner(
    tmp_path: Path,
) -> None:
    database = tmp_path / "portal.db"
    database.write_bytes(b"")
    os.chown(database, 4242, 4243)
    (tmp_path / "portal.db-wal").write_bytes(b"")  # made by root during the reset
    portal_admin.keep_owner(str(database))
    wal = (tmp_path / "portal.db-wal").stat()
    assert (wal.st_uid, wal.st_gid) == (4242, 4243)
    portal_admin.keep_owner(str(tmp_path / "missing.db"))  # nothing to give: no error
