"""``toolkit load groupware`` against a SOGo stand-in the test starts on 127.0.0.1
(tests/load/httpservers.py): every simulated teleworker logs in on the web as SOGo's page
does, opens calendar pages with its session cookie, creates events over CalDAV and reads
them back; the ceiling feeds the `web` platform of ``capacity plan``; the probe's calendar
is left as it was. Bad credentials and hostile answers are failures, counted, capped and
made printable, and break the SLO (exit code 3)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from tests.load import httpservers
from tests.load.mailserver import PASSWORD
from toolkit.capacity.inputs import load_ceilings
from toolkit.exitcodes import ExitCode
from toolkit.text import unsafe_characters

load = functools.partial(httpservers.run_load, "groupware")


def names(result: dict[str, Any]) -> set[str]:
    return {r["name"] for step in result["steps"] for r in step["requests"]}


def test_teleworkers_log_in_create_and_read_events_and_leave_the_calendar_as_it_was(
    sogo: tuple[httpservers.Sogo, httpservers.Running], inventory: Path, tmp_path: Path
) -> None:
    state, running = sogo
    code, output, result = load(
        running, tmp_path, "-i", str(inventory), "--steps", "2,4", "--step-seconds", "3",
        "--events-per-hour", "7200",
    )  # fmt: skip
    assert code == ExitCode.OK, output
    assert "groupware: carries 4 teleworkers" in output
    # SOGo's own login request: JSON userName/password on /SOGo/connect, one per user at least
    assert len(state.logins) >= 4
    assert all(
        login == {"userName": "audit-probe", "password": PASSWORD, "rememberLogin": 0}
        for login in state.logins
    )
    assert {"web login", "caldav put", "caldav report"} <= names(result)
    methods = {method for method, _ in state.seen}
    assert {"POST", "PUT", "REPORT", "PROPFIND", "DELETE"} <= methods
    assert all(path.startswith("/SOGo/") for _, path in state.seen)
    assert state.hosts == {f"localhost:{running.port}"}  # SOGo's links follow the Host
    # every event created was deleted: by its user as it stopped, or by the cleanup
    assert state.created > 0 and state.deleted == state.created and state.events == {}
    assert "cleanup:" in output and "test events deleted" in output
    ceiling = load_ceilings(inventory).ceilings["web"]
    assert ceiling.teleworkers == 4 and "caldav put" in ceiling.rates


def test_bad_credentials_are_counted_as_failures_and_break_the_slo(
    sogo: tuple[httpservers.Sogo, httpservers.Running], inventory: Path, tmp_path: Path
) -> None:
    state, running = sogo
    code, output, result = load(
        running, tmp_path, "-i", str(inventory), "--steps", "2", "--step-seconds", "2",
        "--no-save", password="pas-le-bon",
    )  # fmt: skip
    assert code == ExitCode.CHECK_FAILED, output
    assert "groupware: carries 0 teleworkers" in output
    login = next(r for r in result["steps"][0]["requests"] if r["name"] == "web login")
    assert login["failures"] == login["count"] >= 2
    assert any("HTTP 403" in e for e in login["errors"])
    assert state.events == {}
    assert not (inventory / "capacity" / "ceilings.json").exists()


@pytest.mark.parametrize(
    ("hostile", "said"), [("control", r"\x1b[2J\x1b]0;pwned\x07refus\x0d\x00\u202e"),
                          ("huge", "longer than 2000000 bytes")],
)  # fmt: skip
def test_a_hostile_answer_is_capped_and_made_printable(
    sogo: tuple[httpservers.Sogo, httpservers.Running], inventory: Path, tmp_path: Path,
    hostile: str, said: str,
) -> None:  # fmt: skip
    state, running = sogo
    state.hostile = hostile
    code, output, result = load(
        running, tmp_path, "-i", str(inventory), "--steps", "1", "--step-seconds", "2",
        "--no-save",
    )  # fmt: skip
    assert code == ExitCode.CHECK_FAILED, output
    errors = [e for step in result["steps"] for r in step["requests"] for e in r["errors"]]
    assert any(said in e for e in errors), errors
    # what the server said reaches the JSON and the terminal escaped, never as it was sent
    assert not [e for e in errors if unsafe_characters(e)]
    assert not unsafe_characters(output.replace("\n", ""))


def test_master_with_two_local_workers_merges_the_groupware_results(
    sogo: tuple[httpservers.Sogo, httpservers.Running], inventory: Path, tmp_path: Path
) -> None:
    state, running = sogo
    code, output, result = load(
        running, tmp_path, "-i", str(inventory), "--steps", "2,4", "--step-seconds", "4",
        "--events-per-hour", "3600", "--workers", "2", "--master-port", "5597",
        "--slo-p95-ms", "5000",
    )  # fmt: skip
    assert code == ExitCode.OK, output
    assert result["workers"] == 2
    # The master's user count is the sum of both workers' reports.
    assert [s["running"] for s in result["steps"]] == [2, 4]
    puts = sum(
        r["count"] for s in result["steps"] for r in s["requests"] if r["name"] == "caldav put"
    )
    # every PUT the workers reported reached the server (a few in flight at a boundary or
    # at the stop are not counted)
    assert 0 < puts <= state.created
    assert puts >= 0.6 * state.created
    assert state.events == {} and state.deleted == state.created
