"""telework-visio, the meeting application the videoconference role installs beside Janus:
only a teleworker the directory accepts gets a room, a signed expiring Janus token and TURN
credentials (M6, VC-01, VC-02); pages in French or Arabic (right to left) from the
browser's language; recording off unless the administration allows it, and then only with
every participant's prior consent (A14, VC-05; the rules in visio_consent.py have their own
tests in test_visio_consent.py); joins and leaves logged as who, room, time (M13, A3)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "roles/videoconference/files/telework_visio/telework_visio.py"
NOW = 1_800_000_000.0


def load_script() -> ModuleType:
    if str(SCRIPT.parent) not in sys.path:  # it imports visio_consent from beside it
        sys.path.insert(0, str(SCRIPT.parent))
    loader = SourceFileLoader("telework_visio", str(SCRIPT))
    spec = spec_from_loader("telework_visio", loader)
    assert spec is not None
    module = module_from_spec(spec)
    sys.modules["telework_visio"] = module  # dataclasses look their module up
    loader.exec_module(module)
    return module


visio = load_script()


def test_a_janus_token_is_signed_expiring_and_scoped_to_the_videoroom_plugin() -> None:
    token = visio.janus_token("s3cret", NOW, 600)
    data, _, sig = token.partition(":")
    assert data == f"{int(NOW) + 600},janus,janus.plugin.videoroom"
    expected = hmac.new(b"s3cret", data.encode(), hashlib.sha1).digest()
    assert base64.b64decode(sig) == expected
    assert visio.janus_token("other", NOW, 600) != token


def test_turn_credentials_follow_coturns_rest_scheme() -> None:
    user, password = visio.turn_credentials("turn-secret", "ag0001", NOW, 3600)
    assert user == f"{int(NOW) + 3600}:ag0001"
    assert (
        password
        == base64.b64encode(hmac.new(b"turn-secret", user.encode(), hashlib.sha1).digest()).decode()
    )


def test_a_session_cookie_names_its_teleworker_until_it_expires() -> None:
    cookie = visio.session_cookie("k", "ag0001", NOW, 60)
    assert visio.session_user("k", cookie, NOW + 59) == "ag0001"
    assert visio.session_user("k", cookie, NOW + 61) is None
    assert visio.session_user("other key", cookie, NOW) is None


@pytest.mark.parametrize(
    "forged",
    [
        "",
        "not base64 !",
        base64.urlsafe_b64encode(b"ag0001|9999999999|deadbeef").decode(),
        base64.urlsafe_b64encode(b"only|two").decode(),
    ],
)
def test_a_forged_or_malformed_cookie_names_nobody(forged: str) -> None:
    assert visio.session_user("k", forged, NOW) is None


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("ar-MA,ar;q=0.9,fr;q=0.8", "ar"),
        ("fr-FR,fr;q=0.9,ar;q=0.8", "fr"),
        ("en-US,ar;q=0.5,fr;q=0.4", "ar"),
        ("en-US", "fr"),
        ("ar;q=0, fr;q=0.1", "fr"),
        ("ar;q=bogus", "fr"),
        ("", "fr"),
    ],
)
def test_the_page_language_follows_accept_language_french_by_default(
    header: str, lang: str
) -> None:
    assert visio.language(header) == lang


def test_arabic_pages_are_right_to_left_and_names_are_escaped() -> None:
    arabic = visio.meeting_page("ar", "<b>x").decode()
    assert 'dir="rtl"' in arabic and 'lang="ar"' in arabic
    assert "&lt;b&gt;x" in arabic and "<b>x" not in arabic
    assert 'dir="ltr"' in visio.login_page("fr").decode()
    assert "refusé" in visio.login_page("fr", failed=True).decode()


class FakeDirectory:
    def authenticate(self, login: str, password: str) -> str | None:
        return login if (login, password) == ("ag0001", "bon-mot-de-passe") else None


class FakeJanus:
    """Janus' rooms as the application sees them: who is in each, which ones record."""

    def __init__(self) -> None:
        self.rooms: dict[str, str] = {}
        self.present: dict[str, list[str]] = {}
        self.recording: set[str] = set()

    def ensure_room(self, room: str, pin: str, publishers: int) -> bool:
        if room in self.rooms:
            return False
        self.rooms[room] = pin
        return True

    def participants(self, room: str) -> list[str]:
        return list(self.present.get(room, []))

    def set_recording(self, room: str, on: bool) -> None:
        (self.recording.add if on else self.recording.discard)(room)

    def recording_rooms(self) -> list[str]:
        return sorted(self.recording)


@pytest.fixture
def server() -> Iterator[tuple[int, Any]]:
    settings = visio.Settings(
        session_key="cookie-key",
        janus_token_secret="janus-secret",
        turn_secret="turn-secret",
        turn_uris=["turns:visio.example.test:5349?transport=tcp"],
    )
    app = visio.App(settings, FakeDirectory(), FakeJanus(), clock=lambda: NOW)
    with serving(app) as port:
        yield port, app


@contextlib.contextmanager
def serving(app: Any) -> Iterator[int]:
    """The application's HTTP handler on 127.0.0.1 (a free port, yielded) while in use."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), visio.handler(app))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def request(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def login(port: int, user: str, password: str) -> tuple[int, dict[str, str]]:
    form = urllib.parse.urlencode({"username": user, "password": password}).encode()
    status, headers, _ = request(
        port, "POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    return status, headers


def test_a_wrong_password_gets_the_login_page_again_and_no_cookie(
    server: tuple[int, Any],
) -> None:
    port, _ = server
    status, headers = login(port, "ag0001", "faux")
    assert status == 401
    assert "Set-Cookie" not in headers


def test_without_a_login_no_room_no_token_and_no_turn_credentials(
    server: tuple[int, Any],
) -> None:
    port, app = server
    status, _, body = request(
        port, "POST", "/api/join", b'{"room": "budget"}', {"Content-Type": "application/json"}
    )
    assert status == 401
    assert b"token" not in body and b"credential" not in body
    assert app.janus.rooms == {}
    forged = visio.session_cookie("not-the-key", "ag0001", NOW, 60)
    status, _, _ = request(
        port,
        "POST",
        "/api/join",
        b'{"room": "budget"}',
        {"Content-Type": "application/json", "Cookie": f"visio_session={forged}"},
    )
    assert status == 401


def test_a_teleworker_gets_a_room_a_token_and_turn_credentials_and_the_join_is_logged(
    server: tuple[int, Any],
) -> None:
    port, app = server
    status, headers = login(port, "ag0001", "bon-mot-de-passe")
    assert status == 303
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie
    jar = {"Cookie": cookie.split(";")[0], "Content-Type": "application/json"}
    status, _, body = request(port, "POST", "/api/join", b'{"room": "budget", "pin": "4321"}', jar)
    grant = json.loads(body)
    assert status == 200
    assert grant["room"] == "budget" and grant["created"] is True
    assert grant["token"] == visio.janus_token("janus-secret", NOW, 3600)
    ice = grant["iceServers"][0]
    assert ice["username"] == f"{int(NOW) + 3600}:ag0001"
    assert app.janus.rooms == {"budget": "4321"}
    status, _, body = request(port, "POST", "/api/leave", b'{"room": "budget"}', jar)
    assert status == 200
    assert app.events == [
        "join user=ag0001 room=budget time=2027-01-15T08:00:00Z",
        "leave user=ag0001 room=budget time=2027-01-15T08:00:00Z",
    ]
    page = request(port, "GET", "/", headers={"Cookie": jar["Cookie"], "Accept-Language": "ar"})
    assert page[0] == 200 and b'dir="rtl"' in page[2] and b"ag0001" in page[2]


@pytest.mark.parametrize(
    "body", [b'{"room": "../etc"}', b'{"room": "ok", "pin": "12"}', b"[1]", b"not json"]
)
def test_bad_room_names_pins_and_bodies_are_refused(server: tuple[int, Any], body: bytes) -> None:
    port, app = server
    cookie = visio.session_cookie("cookie-key", "ag0001", NOW, 60)
    jar = {"Cookie": f"visio_session={cookie}", "Content-Type": "application/json"}
    status, _, _ = request(port, "POST", "/api/join", body, jar)
    assert status == 400
    assert app.janus.rooms == {} and app.events == []


def test_recording_switched_off_refuses_consent_and_recording_and_oversized_bodies(
    server: tuple[int, Any],
) -> None:
    port, app = server
    cookie = visio.session_cookie("cookie-key", "ag0001", NOW, 60)
    jar = {"Cookie": f"visio_session={cookie}", "Content-Type": "application/json"}
    for path, body in (
        ("/api/recording", b'{"room": "budget", "record": true}'),
        ("/api/consent", b'{"room": "budget", "consent": true}'),
    ):
        status, _, answer = request(port, "POST", path, body, jar)
        assert status == 403 and json.loads(answer)["code"] == "recording_off"
    assert app.janus.recording == set() and app.events == []
    page = request(port, "GET", "/", headers={"Cookie": jar["Cookie"]})[2].decode()
    assert 'id="consent"' not in page and "désactivé par l'administration" in page
    status, _, _ = request(port, "POST", "/api/join", b"x" * 5000, jar)
    assert status == 413


class Recorder:
    def __init__(self, exists: bool, create_error: bool = False, raced: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.exists, self.create_error, self.raced = exists, create_error, raced

    def __call__(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((url, body))
        kind = body["janus"]
        if kind in ("create", "attach"):
            return {"janus": "success", "data": {"id": 7 if kind == "create" else 9}}
        if kind == "message":
            request = body["body"]["request"]
            if request == "exists":
                data: dict[str, Any] = {"videoroom": "success", "exists": self.exists}
            elif self.create_error:
                data = {"videoroom": "event", "error_code": 403, "error": "Unauthorized"}
            elif self.raced:  # another request created it between exists and create
                room = body["body"]["room"]
                data = {"videoroom": "event", "error_code": 427, "error": f"Room {room} exists"}
            else:
                data = {"videoroom": "created", "room": body["body"]["room"]}
            return {"janus": "success", "plugindata": {"data": data}}
        return {"janus": "success"}


def test_rooms_are_created_with_the_admin_key_without_recording_and_with_the_pin() -> None:
    post = Recorder(exists=False)
    janus = visio.JanusHttp("http://127.0.0.1:8088/janus", "janus-secret", "admin-key", post)
    assert janus.ensure_room("budget", "4321", 6) is True
    create = next(b["body"] for _, b in post.calls if b.get("body", {}).get("request") == "create")
    assert create["admin_key"] == "admin-key" and create["pin"] == "4321"
    assert create["record"] is False and create["lock_record"] is True
    assert create["is_private"] is True and create["publishers"] == 6
    assert all(b["token"].endswith("=") or ":" in b["token"] for _, b in post.calls)
    assert post.calls[-1][1]["janus"] == "destroy"  # the application's session is closed


def test_an_existing_room_is_joined_not_recreated_and_a_refusal_is_an_error() -> None:
    post = Recorder(exists=True)
    janus = visio.JanusHttp("http://127.0.0.1:8088/janus", "s", "k", post)
    assert janus.ensure_room("budget", "", 6) is False
    assert not [b for _, b in post.calls if b.get("body", {}).get("request") == "create"]
    refused = visio.JanusHttp("http://x/janus", "s", "k", Recorder(False, create_error=True))
    with pytest.raises(RuntimeError, match="Unauthorized"):
        refused.ensure_room("budget", "", 6)


def test_a_room_another_participant_opened_at_the_same_moment_is_joined_not_an_error() -> None:
    """Found by `toolkit load meeting` on the lab: two participants of a new room at once
    both found it missing; the second create got VideoRoom's 427 and the join a 502."""
    post = Recorder(exists=False, raced=True)
    janus = visio.JanusHttp("http://127.0.0.1:8088/janus", "s", "k", post)
    assert janus.ensure_room("budget", "", 6) is False
    assert post.calls[-1][1]["janus"] == "destroy"
