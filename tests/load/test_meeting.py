"""``toolkit load meeting`` against the meeting application the videoconference role
installs (its own handler, a directory and Janus standing in) with Janus' HTTP API behind
the same HTTPS port (tests/load/httpservers.py): each simulated participant logs in, gets
a signed Janus token from the application, creates a Janus session, attaches VideoRoom,
joins its room as a publisher, sends keepalives and, when it stops, destroys its session
and leaves; the ceiling feeds the `video` platform of ``capacity plan``. A wrong password
gets no token and breaks the SLO (exit code 3)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.load import httpservers
from tests.load.mailserver import PASSWORD
from tests.unit.test_bench import load as load_bench
from toolkit.capacity.inputs import load_ceilings
from toolkit.exitcodes import ExitCode

Meeting = tuple[httpservers.Running, Any, httpservers.Janus]


@pytest.fixture
def meeting(tmp_path: Path) -> Iterator[Meeting]:
    running, app, janus = httpservers.start_meeting(tmp_path)
    yield running, app, janus
    running.stop()


load = functools.partial(httpservers.run_load, "meeting")


def test_participants_join_rooms_as_publishers_keep_alive_and_leave(
    meeting: Meeting, inventory: Path, tmp_path: Path
) -> None:
    running, app, janus = meeting
    code, output, result = load(
        running, tmp_path, "-i", str(inventory), "--steps", "3,5", "--step-seconds", "3",
        "--meeting-size", "2", "--keepalive-seconds", "0.5", "--joins-per-hour", "0",
    )  # fmt: skip
    assert code == ExitCode.OK, output
    assert "meeting: carries 5 participants" in output
    names = {r["name"] for step in result["steps"] for r in step["requests"]}
    assert {"meeting login", "meeting token", "janus session", "janus join",
            "janus keepalive"} <= names  # fmt: skip
    # every participant joined a room the application opened, as a publisher, with its
    # signed token (Janus refused none), two to a room
    assert janus.refused_tokens == 0
    assert len(janus.joins) == 5
    assert all(j["ptype"] == "publisher" and j["room"] in janus.rooms for j in janus.joins)
    assert all(room.startswith(f"load-{result['token']}-") for room in janus.rooms)
    assert len(janus.rooms) == 3
    assert "keepalive" in janus.calls
    # cleanup: every session destroyed, every join followed by the application's leave
    assert janus.created == janus.destroyed == 5 and janus.sessions == {}
    joins = [e for e in app.events if e.startswith("join ")]
    leaves = [e for e in app.events if e.startswith("leave ")]
    assert len(joins) == len(leaves) == 5
    ceiling = load_ceilings(inventory).ceilings["video"]
    assert ceiling.teleworkers == 5 and ceiling.target == "127.0.0.1"


def test_a_wrong_password_gets_no_token_and_breaks_the_slo(
    meeting: Meeting, inventory: Path, tmp_path: Path
) -> None:
    running, app, janus = meeting
    code, output, result = load(
        running, tmp_path, "-i", str(inventory), "--steps", "2", "--step-seconds", "2",
        "--no-save", password="pas-le-bon",
    )  # fmt: skip
    assert code == ExitCode.CHECK_FAILED, output
    assert "meeting: carries 0 participants" in output
    login = next(r for r in result["steps"][0]["requests"] if r["name"] == "meeting login")
    assert login["failures"] == login["count"] >= 2
    assert any("HTTP 401" in e for e in login["errors"])
    assert janus.calls == [] and app.events == []


def test_bench_visio_joins_with_the_same_janus_signalling(meeting: Meeting) -> None:
    running, _, janus = meeting
    bench = load_bench(REPO / "bench" / "visio.py")
    s = bench.session(str(running.cert_file))
    base = f"https://localhost:{running.port}"
    form = {"username": httpservers.LOGIN, "password": PASSWORD}
    assert s.post(f"{base}/login", data=form, allow_redirects=False, timeout=5).status_code == 303
    grant = s.post(f"{base}/api/join", json={"room": "bench-room"}, timeout=5).json()
    assert bench.janus_join(s, base, grant["token"], "bench-room") is True
    assert bench.janus_join(s, base, grant["token"], "no-such-room") is False
    assert janus.created == janus.destroyed == 2


def test_two_local_workers_fill_rooms_of_their_own_and_every_participant_leaves(
    meeting: Meeting, inventory: Path, tmp_path: Path
) -> None:
    running, app, janus = meeting
    code, output, result = load(
        running, tmp_path, "-i", str(inventory), "--steps", "2,4", "--step-seconds", "3",
        "--meeting-size", "2", "--keepalive-seconds", "0.5", "--joins-per-hour", "0",
        "--workers", "2", "--master-port", "5596", "--slo-p95-ms", "5000", "--no-save",
    )  # fmt: skip
    assert code == ExitCode.OK, output
    assert result["workers"] == 2
    assert [s["running"] for s in result["steps"]] == [2, 4]
    # each worker names its rooms apart: never more participants in a room than its size
    rooms = [j["room"] for j in janus.joins]
    assert len(rooms) == 4 and max(rooms.count(r) for r in rooms) <= 2
    assert janus.refused_tokens == 0
    assert janus.created == janus.destroyed == 4 and janus.sessions == {}
    assert len([e for e in app.events if e.startswith("leave ")]) == 4
