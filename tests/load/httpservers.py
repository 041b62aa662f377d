"""HTTPS servers on 127.0.0.1 for the groupware and meeting load tests, each speaking just
enough of its platform and recording what it received:

- :class:`Sogo`: SOGo's web login (POST /SOGo/connect, JSON userName/password, a session
  cookie), the calendar page (the login form without the cookie), CalDAV with Basic auth
  (PUT with If-None-Match, REPORT calendar-multiget, PROPFIND Depth 1, DELETE). A
  ``hostile`` mode answers the login with control characters or a body too large.
- :func:`start_meeting`: the meeting application the videoconference role installs (its
  real handler: login, /api/join with a signed Janus token, /api/leave) and, under
  /janus, Janus' HTTP API (create, attach, VideoRoom join as a publisher with its
  "joined" event on the long poll, keepalive, destroy) checking the token's signature.

Certificates are throwaway (tests/load/mailserver.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tests.load.mailserver import PASSWORD, throwaway_certificate
from tests.unit.test_visio_app import visio
from toolkit.cli.main import cli

LOGIN = "audit-probe"
SESSION = "0xHIGHFLYxSOGo"
TOKEN_SECRET = "janus-secret"
#: Terminal escapes (clear screen, window title, bell), CR, NUL and a bidi override.
HOSTILE_TEXT = "\x1b[2J\x1b]0;pwned\x07refus\r\x00\u202e"


@dataclass
class Running:
    port: int
    cert_file: Path
    stop: Callable[[], None]


def run_load(
    platform: str, running: Running, tmp_path: Path, *args: str, password: str = PASSWORD
) -> tuple[int, str, dict[str, Any]]:
    """``toolkit load PLATFORM`` against ``running`` as the probe: its exit code, its output
    and the result it wrote ({} when it wrote none)."""
    password_file = tmp_path / "probe.password"
    password_file.write_text(password, encoding="utf-8")
    result_file = tmp_path / "result.json"
    outcome = CliRunner().invoke(
        cli,
        ["load", platform, "--target", "127.0.0.1", "--server-name", "localhost",
         "--ca-file", str(running.cert_file), "--https-port", str(running.port),
         "--login", LOGIN, "--password-file", str(password_file),
         "-o", str(result_file), *args],
    )  # fmt: skip
    result = json.loads(result_file.read_text("utf-8")) if result_file.exists() else {}
    return outcome.exit_code, outcome.output, result


def serve(handler: type[BaseHTTPRequestHandler], folder: Path) -> Running:
    cert_file, key_file = throwaway_certificate(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()

    return Running(httpd.server_address[1], cert_file, stop)


class _Base(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # kept-alive connections, as nginx offers

    def log_message(self, format: str, *args: Any) -> None:
        return

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


@dataclass
class Sogo:
    """What the groupware received; ``hostile``: "", "control" or "huge"."""

    hostile: str = ""
    seen: list[tuple[str, str]] = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)
    logins: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, bytes] = field(default_factory=dict)
    created: int = 0
    deleted: int = 0
    sessions: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        sogo = self
        collection = f"/SOGo/dav/{LOGIN}/Calendar/personal/"
        good = "Basic " + base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()

        class Handler(_Base):
            def _note(self) -> None:
                with sogo.lock:
                    sogo.seen.append((self.command, self.path))
                    sogo.hosts.add(self.headers.get("Host", ""))

            def do_POST(self) -> None:
                self._note()
                body = self.body()
                if self.path != "/SOGo/connect":
                    self.answer(404, b"")
                    return
                creds = json.loads(body)
                with sogo.lock:
                    sogo.logins.append(creds)
                if sogo.hostile == "control":
                    self.answer(403, HOSTILE_TEXT.encode())
                    return
                if sogo.hostile == "huge":
                    self.answer(200, b"A" * 3_000_000)
                    return
                if (creds.get("userName"), creds.get("password")) != (LOGIN, PASSWORD):
                    self.answer(403, b'{"LDAPPasswordPolicyError": 65535}')
                    return
                value = base64.b64encode(str(time.monotonic_ns()).encode()).decode()
                with sogo.lock:
                    sogo.sessions.add(value)
                cookie = f"{SESSION}={value}; path=/SOGo/; secure; HttpOnly"
                self.answer(200, b'{"expire": -1}', {"Set-Cookie": cookie})

            def do_GET(self) -> None:
                self._note()
                if self.path != f"/SOGo/so/{LOGIN}/Calendar/view":
                    self.answer(404, b"")
                    return
                cookie = self.headers.get("Cookie", "")
                value = (
                    cookie.split(f"{SESSION}=", 1)[-1].split(";")[0] if SESSION in cookie else ""
                )
                known = value in sogo.sessions
                page = (
                    b"<html>calendar</html>" if known else b'<input ng-model="app.creds.username">'
                )
                self.answer(200, page)

            def _dav(self) -> str | None:
                self._note()
                body = self.body()
                if self.headers.get("Authorization") != good:
                    self.answer(401, b"", {"WWW-Authenticate": 'Basic realm="SOGo"'})
                    return None
                return body.decode()

            def do_PUT(self) -> None:
                body = self._dav()
                if body is None:
                    return
                if not self.path.startswith(collection) or self.headers.get("If-None-Match") != "*":
                    self.answer(412, b"")
                    return
                with sogo.lock:
                    sogo.events[self.path] = body.encode()
                    sogo.created += 1
                self.answer(201, b"")

            def do_REPORT(self) -> None:
                body = self._dav()
                if body is None:
                    return
                hrefs = re.findall(r"<D:href>([^<]+)</D:href>", body)
                parts = [
                    f"<D:response><D:href>{h}</D:href><D:propstat><D:prop><C:calendar-data>"
                    f"{sogo.events[h].decode()}</C:calendar-data></D:prop></D:propstat></D:response>"
                    for h in hrefs
                    if h in sogo.events
                ]
                self.multistatus(parts)

            def do_PROPFIND(self) -> None:
                if self._dav() is None:
                    return
                with sogo.lock:
                    names = [collection, *sorted(sogo.events)]
                self.multistatus([f"<D:response><D:href>{h}</D:href></D:response>" for h in names])

            def do_DELETE(self) -> None:
                if self._dav() is None:
                    return
                with sogo.lock:
                    gone = sogo.events.pop(self.path, None)
                    sogo.deleted += gone is not None
                self.answer(204 if gone is not None else 404, b"")

            def multistatus(self, parts: list[str]) -> None:
                xml = (
                    '<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:" '
                    f'xmlns:C="urn:ietf:params:xml:ns:caldav">{"".join(parts)}</D:multistatus>'
                )
                self.answer(207, xml.encode(), {"Content-Type": "text/xml; charset=utf-8"})

        return Handler


class FakeDirectory:
    def authenticate(self, login: str, password: str) -> str | None:
        return login if (login, password) == (LOGIN, PASSWORD) else None


@dataclass
class Janus:
    """Janus as the meeting application and the participants see it; what it received."""

    rooms: dict[str, str] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    joins: list[dict[str, Any]] = field(default_factory=list)
    sessions: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    created: int = 0
    destroyed: int = 0
    refused_tokens: int = 0
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- the application's side (visio.Janus protocol) ---
    def ensure_room(self, room: str, pin: str, publishers: int) -> bool:
        with self.lock:
            if room in self.rooms:
                return False
            self.rooms[room] = pin
            return True

    def participants(self, room: str) -> list[str]:
        return []

    def set_recording(self, room: str, on: bool) -> None:
        return

    def recording_rooms(self) -> list[str]:
        return []

    # --- the HTTP API ---
    def token_valid(self, token: object) -> bool:
        if not isinstance(token, str):
            return False
        data, _, sig = token.partition(":")
        expected = hmac.new(TOKEN_SECRET.encode(), data.encode(), hashlib.sha1).digest()
        expiry = data.split(",")[0]
        return (
            hmac.compare_digest(base64.b64encode(expected).decode(), sig)
            and expiry.isdigit()
            and int(expiry) > time.time()
        )

    def post(self, parts: list[str], body: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0911
        kind = str(body.get("janus"))
        tx = body.get("transaction")
        with self.lock:
            self.calls.append(kind)
        if not self.token_valid(body.get("token")):
            with self.lock:
                self.refused_tokens += 1
            return {"janus": "error", "transaction": tx,
                    "error": {"code": 403, "reason": "Unauthorized request"}}  # fmt: skip
        with self.lock:
            if kind == "create" and not parts:
                sid = next(self.ids)
                self.sessions[sid] = []
                self.created += 1
                return {"janus": "success", "transaction": tx, "data": {"id": sid}}
            sid = int(parts[0]) if parts else 0
            if sid not in self.sessions:
                return {"janus": "error", "transaction": tx,
                        "error": {"code": 458, "reason": "No such session"}}  # fmt: skip
            if kind == "attach":
                return {"janus": "success", "transaction": tx, "data": {"id": next(self.ids)}}
            if kind == "keepalive":
                return {"janus": "ack", "transaction": tx}
            if kind == "destroy":
                del self.sessions[sid]
                self.destroyed += 1
                return {"janus": "success", "transaction": tx}
            if kind == "message" and len(parts) == 2:
                request = body.get("body") or {}
                self.joins.append(request)
                room = request.get("room")
                data = (
                    {"videoroom": "joined", "room": room, "id": next(self.ids)}
                    if room in self.rooms and request.get("ptype") == "publisher"
                    else {"videoroom": "event", "error_code": 426, "error": "No such room"}
                )
                self.sessions[sid].append(
                    {
                        "janus": "event",
                        "plugindata": {"plugin": "janus.plugin.videoroom", "data": data},
                    }
                )
                return {"janus": "ack", "transaction": tx}
        return {"janus": "error", "transaction": tx, "error": {"code": 400, "reason": "?"}}

    def poll(self, sid: int, token: str) -> Any:
        if not self.token_valid(token):
            return {"janus": "error", "error": {"code": 403, "reason": "Unauthorized request"}}
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            with self.lock:
                if sid not in self.sessions:
                    return {"janus": "error", "error": {"code": 458, "reason": "No such session"}}
                if self.sessions[sid]:
                    events, self.sessions[sid] = self.sessions[sid][:5], self.sessions[sid][5:]
                    return events
            time.sleep(0.02)
        return [{"janus": "keepalive"}]


def start_meeting(folder: Path) -> tuple[Running, Any, Janus]:
    """The meeting application (its own handler) and Janus' HTTP API behind one HTTPS port,
    as nginx puts them."""
    janus = Janus()
    settings = visio.Settings(
        session_key="cookie-key", janus_token_secret=TOKEN_SECRET, turn_secret="turn-secret",
        turn_uris=[],
    )  # fmt: skip
    app = visio.App(settings, FakeDirectory(), janus)
    base: type[BaseHTTPRequestHandler] = visio.handler(app)

    class Handler(base, _Base):  # type: ignore[valid-type,misc]
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            if not path.startswith("/janus"):
                super().do_POST()
                return
            parts = [p for p in path.split("/")[2:] if p]
            answer = janus.post(parts, json.loads(self.body()))
            self.answer(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})

        def do_GET(self) -> None:
            split = urllib.parse.urlsplit(self.path)
            if not split.path.startswith("/janus/"):
                super().do_GET()
                return
            token = urllib.parse.parse_qs(split.query).get("token", [""])[0]
            answer = janus.poll(int(split.path.split("/")[2]), token)
            self.answer(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})

    return serve(Handler, folder), app, janus
