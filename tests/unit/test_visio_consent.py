"""A meeting is recorded only with the prior consent of every participant (guide clause
A14): the rules of the meeting application (roles/videoconference/files/telework_visio/
visio_consent.py) with a fake Janus, then through the application's HTTP API. Consents and
recording starts and stops are logged as who, room, time, nothing more (A3); names from
outside are made safe before they reach a log line or JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit.test_visio_app import (
    NOW,
    SCRIPT,
    FakeDirectory,
    FakeJanus,
    request,
    serving,
    visio,
)
from toolkit.text import printable

consent_rules = sys.modules["visio_consent"]  # loaded beside the application's script


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def app() -> Any:
    settings = visio.Settings(
        session_key="cookie-key",
        janus_token_secret="janus-secret",
        turn_secret="turn-secret",
        turn_uris=[],
        recording=True,
    )
    return visio.App(settings, FakeDirectory(), FakeJanus(), clock=Clock())


def join(app: Any, *uids: str, room: str = "budget") -> None:
    """``uids`` join through the application, then Janus lists them in the room."""
    for uid in uids:
        status, _ = app.join(uid, {"room": room})
        assert status == 200
        app.janus.present.setdefault(room, []).append(uid)


def consent(app: Any, uid: str, given: bool = True, room: str = "budget") -> int:
    status, _ = app.recording(uid, "/api/consent", {"room": room, "consent": given})
    return int(status)


def start(app: Any, uid: str, room: str = "budget") -> tuple[int, dict[str, Any]]:
    status, body = app.recording(uid, "/api/recording", {"room": room, "record": True})
    return int(status), body


def test_a14_recording_is_refused_while_one_participant_has_not_consented(app: Any) -> None:
    join(app, "ag0001", "ag0002")
    consent(app, "ag0001")
    status, body = start(app, "ag0001")
    assert status == 409
    assert body["code"] == "consent_missing" and body["missing"] == ["ag0002"]
    assert app.janus.recording == set()
    assert not [e for e in app.events if e.startswith("recording-start")]


def test_a14_recording_starts_once_every_participant_present_has_consented(app: Any) -> None:
    join(app, "ag0001", "ag0002")
    assert consent(app, "ag0001") == 200 and consent(app, "ag0002") == 200
    status, body = start(app, "ag0002")
    assert status == 200 and body["recording"] is True and body["consented"] is True
    assert app.janus.recording == {"budget"}
    assert app.events[-3:] == [
        "consent user=ag0001 room=budget time=2027-01-15T08:00:00Z",
        "consent user=ag0002 room=budget time=2027-01-15T08:00:00Z",
        "recording-start user=ag0002 room=budget time=2027-01-15T08:00:00Z",
    ]


def test_a14_withdrawing_a_consent_stops_the_recording_at_once(app: Any) -> None:
    join(app, "ag0001", "ag0002")
    consent(app, "ag0001")
    consent(app, "ag0002")
    start(app, "ag0001")
    assert consent(app, "ag0002", given=False) == 200
    assert app.janus.recording == set()
    assert app.events[-2:] == [
        "consent-withdrawn user=ag0002 room=budget time=2027-01-15T08:00:00Z",
        "recording-stop user=ag0002 room=budget time=2027-01-15T08:00:00Z reason=withdrawn",
    ]
    assert start(app, "ag0001")[0] == 409  # and it cannot start again without it


def test_a14_someone_let_in_but_not_yet_in_janus_counts_as_present(app: Any) -> None:
    join(app, "ag0001")
    consent(app, "ag0001")
    assert app.join("ag0002", {"room": "budget"})[0] == 200  # still connecting to Janus
    status, body = start(app, "ag0001")
    assert status == 409 and body["missing"] == ["ag0002"]
    app.clock.now += consent_rules.PENDING_SECONDS + 1  # never came: no longer present
    assert start(app, "ag0001")[0] == 200


def test_a14_prior_consent_a_room_that_records_lets_in_only_those_who_consented(
    app: Any,
) -> None:
    join(app, "ag0001")
    consent(app, "ag0001")
    start(app, "ag0001")
    status, body = app.join("ag0002", {"room": "budget"})
    assert status == 409 and body["code"] == "consent_required"
    assert "token" not in body
    assert consent(app, "ag0002") == 200  # consent first, for this room, then join
    assert app.join("ag0002", {"room": "budget"})[0] == 200
    assert app.janus.recording == {"budget"}


def test_a14_the_guard_stops_a_recording_when_someone_without_consent_is_in_the_room(
    app: Any,
) -> None:
    join(app, "ag0001")
    consent(app, "ag0001")
    start(app, "ag0001")
    app.janus.present["budget"].append("ag0002")  # came in with an earlier Janus token
    app.consents.guard()
    assert app.janus.recording == set()
    assert app.events[-1].startswith("recording-stop user=ag0002 room=budget")
    assert app.events[-1].endswith("reason=no-consent")


def test_a14_the_guard_stops_recordings_of_empty_rooms_and_those_it_did_not_start(
    app: Any,
) -> None:
    join(app, "ag0001")
    consent(app, "ag0001")
    start(app, "ag0001")
    app.janus.present["budget"] = []
    app.janus.recording.add("orphan")  # e.g. left by a restart of the application
    app.consents.guard()
    assert app.janus.recording == set()
    assert [e.split(" reason=")[1] for e in app.events if " reason=" in e] == [
        "empty",
        "unknown",
    ]


def test_a14_any_participant_stops_a_recording_a_stranger_to_the_room_cannot(
    app: Any,
) -> None:
    join(app, "ag0001", "ag0002")
    consent(app, "ag0001")
    consent(app, "ag0002")
    start(app, "ag0001")
    stop = {"room": "budget", "record": False}
    assert app.recording("ag0009", "/api/recording", stop)[0] == 403
    assert app.janus.recording == {"budget"}
    status, body = app.recording("ag0002", "/api/recording", stop)
    assert status == 200 and body["recording"] is False
    assert app.events[-1] == "recording-stop user=ag0002 room=budget time=2027-01-15T08:00:00Z"


def test_a14_a_participant_not_in_the_room_may_not_start_its_recording(app: Any) -> None:
    join(app, "ag0001")
    consent(app, "ag0002")
    assert start(app, "ag0002")[1]["code"] == "not_participant"


def test_a_display_name_from_outside_is_made_safe_in_logs_and_json(app: Any) -> None:
    join(app, "ag0001")
    consent(app, "ag0001")
    forged = "x\u202e user=ag0001\nroom=autre"
    app.janus.present["budget"].append(forged)
    status, body = start(app, "ag0001")
    assert status == 409 and body["missing"] == [printable(forged)]
    assert "\u202e" not in json.dumps(body, ensure_ascii=False)
    app.janus.recording.add("budget")
    app.consents.rooms["budget"].recording = True
    app.consents.guard()
    line = app.events[-1]
    assert "\n" not in line and "\u202e" not in line
    assert line.startswith('recording-stop user="x\\\\u202e user=ag0001\\\\x0aroom=autre" room=')


@pytest.mark.parametrize(
    "text", ["ag0001", "أمينة بنعلي", "a\x1bb", "\u2066x\u2069", "a\u2028b", "\ud800", "\uffff"]
)
def test_the_applications_printable_follows_the_toolkits_rules(text: str) -> None:
    assert consent_rules.printable(text) == printable(text)


@pytest.mark.parametrize(
    "body",
    [{"room": "../x", "consent": True}, {"room": "budget", "consent": "yes"}, {"room": 3}],
)
def test_bad_rooms_and_flags_are_refused(app: Any, body: dict[str, Any]) -> None:
    assert app.recording("ag0001", "/api/consent", body)[0] == 400
    assert app.events == []


@pytest.fixture
def server(app: Any) -> Iterator[tuple[int, Any]]:
    with serving(app) as port:
        yield port, app


def test_a14_over_http_consent_start_state_and_the_pages_buttons_in_both_languages(
    server: tuple[int, Any],
) -> None:
    port, app = server

    def post(uid: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        cookie = visio.session_cookie("cookie-key", uid, NOW, 60)
        jar = {"Cookie": f"visio_session={cookie}", "Content-Type": "application/json"}
        status, _, answer = request(port, "POST", path, json.dumps(body).encode(), jar)
        return status, json.loads(answer)

    for uid in ("ag0001", "ag0002"):
        assert post(uid, "/api/join", {"room": "budget"})[0] == 200
        app.janus.present.setdefault("budget", []).append(uid)
        post(uid, "/api/consent", {"room": "budget", "consent": True})
    assert post("ag0001", "/api/recording", {"room": "budget", "record": True})[0] == 200
    status, state = post("ag0002", "/api/state", {"room": "budget"})
    assert (status, state["recording"], state["consented"]) == (200, True, True)
    cookie = visio.session_cookie("cookie-key", "ag0001", NOW, 60)
    for lang, words in (("fr", "Je consens"), ("ar", "أوافق على تسجيل")):
        _, _, page = request(
            port, "GET", "/", headers={"Cookie": f"visio_session={cookie}", "Accept-Language": lang}
        )
        html = page.decode()
        assert 'id="consent"' in html and 'id="rec-indicator"' in html and words in html
        assert '"consent_missing"' in html  # the script's texts for the API's refusals


class Posts:
    """Janus' HTTP API as the application uses it, recording every request."""

    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.answers = answers

    def __call__(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        if body["janus"] in ("create", "attach"):
            return {"janus": "success", "data": {"id": 5}}
        if body["janus"] == "message":
            self.bodies.append(body["body"])
            data = self.answers.get(body["body"]["request"], {"videoroom": "success"})
            return {"janus": "success", "plugindata": {"data": data}}
        return {"janus": "success"}


def test_janus_records_into_the_folder_with_the_rooms_secret_known_only_to_the_app() -> None:
    posts = Posts(
        {
            "exists": {"exists": False},
            "listparticipants": {"participants": [{"id": "x", "display": "ag0001"}]},
            "list": {"list": [{"room": "budget", "record": True}, {"room": "x", "record": False}]},
        }
    )
    janus = visio.JanusHttp("http://j/janus", "s", "admin-key", posts, rec_dir="/srv/rec")
    janus.ensure_room("budget", "", 6)
    janus.set_recording("budget", True)
    assert janus.participants("budget") == ["ag0001"]
    assert janus.recording_rooms() == ["budget"]
    create, enable = posts.bodies[1], posts.bodies[2]
    secret = visio.room_secret("admin-key", "budget")
    assert create["rec_dir"] == "/srv/rec" and create["record"] is False
    assert create["lock_record"] is True and create["secret"] == secret
    assert enable == {
        "request": "enable_recording",
        "room": "budget",
        "secret": secret,
        "record": True,
    }
    assert visio.room_secret("other-key", "budget") != secret
    assert posts.bodies[-1] == {"request": "list", "admin_key": "admin-key"}
    assert SCRIPT.with_name("visio_consent.py").is_file()
