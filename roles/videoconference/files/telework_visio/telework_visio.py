"""telework-visio: the meeting application beside Janus (M6, A14, E7).

A teleworker logs in with the directory's password (LDAP bind through the identity
contract); only then does the application open or find a VideoRoom room (created with the
plugin's admin key, which browsers never see), and hand out a signed, expiring Janus
token (token_auth with token_auth_secret: HMAC-SHA1 over "expiry,janus,plugin") and
coturn REST credentials (username "expiry:uid", password base64(HMAC-SHA1(secret,
username))). Pages in French, or Arabic right to left, from Accept-Language. Recording
(off unless the administration switches it on) only with every participant's prior
consent (A14): the rules are in visio_consent.py beside this file, the pages in
visio_pages.py. Joins, leaves,
consents and recording starts and stops go to the journal/syslog as one line each: who,
room, time (M13), nothing more (A3).

Runs on Debian's Python 3 with python3-ldap, standard library otherwise."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

from visio_consent import LOGIN_RE, ROOM_RE, Consents, name_field, printable
from visio_pages import language, login_page, meeting_page

log = logging.getLogger("telework-visio")

PLUGIN = "janus.plugin.videoroom"
PIN_RE = re.compile(r"^[0-9]{4,12}$")
COOKIE = "visio_session"
MAX_BODY = 4096
JANUS_TIMEOUT = 10.0
#: Seconds between two looks of the guard at the rooms that record (A14).
GUARD_SECONDS = 2.0


# --- signatures ---------------------------------------------------------------------


def janus_token(secret: str, now: float, ttl: int, plugins: tuple[str, ...] = (PLUGIN,)) -> str:
    """A Janus signed token: ``expiry,janus,plugin...:base64(HMAC-SHA1(secret, data))``."""
    data = ",".join([str(int(now) + ttl), "janus", *plugins])
    sig = hmac.new(secret.encode(), data.encode(), hashlib.sha1).digest()
    return f"{data}:{base64.b64encode(sig).decode()}"


def turn_credentials(secret: str, uid: str, now: float, ttl: int) -> tuple[str, str]:
    """coturn's REST credentials (use-auth-secret): ``expiry:uid`` and its HMAC-SHA1."""
    username = f"{int(now) + ttl}:{uid}"
    sig = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(sig).decode()


def session_cookie(key: str, uid: str, now: float, ttl: int) -> str:
    body = f"{uid}|{int(now) + ttl}"
    sig = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()
    return base64.urlsafe_b64encode(f"{body}|{sig}".encode()).decode()


def session_user(key: str, value: str, now: float) -> str | None:
    """The teleworker a cookie was issued to, or None when forged, malformed or expired."""
    try:
        uid, expiry, sig = base64.urlsafe_b64decode(value.encode()).decode().split("|")
        good = hmac.new(key.encode(), f"{uid}|{expiry}".encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(sig, good) and int(expiry) > now and LOGIN_RE.match(uid):
            return uid
    except (ValueError, UnicodeDecodeError):
        return None
    return None


# --- the directory and Janus -----------------------------------------------------------


class Directory(Protocol):
    def authenticate(self, login: str, password: str) -> str | None:
        """The teleworker's login when the password is right and the identity contract's
        filter admits them, else None."""


@dataclass(frozen=True)
class LdapDirectory:
    uri: str
    ca_file: str
    bind_dn: str
    bind_password_file: str
    people_dn: str
    user_filter: str
    login_attribute: str
    timeout: float = 10.0

    def authenticate(self, login: str, password: str) -> str | None:
        import ldap  # noqa: PLC0415  (Debian's python3-ldap, on the server only)
        import ldap.filter  # noqa: PLC0415

        if not LOGIN_RE.match(login) or not password:
            return None

        def connect() -> Any:
            conn = ldap.initialize(self.uri)
            conn.set_option(ldap.OPT_X_TLS_CACERTFILE, self.ca_file)
            conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
            conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
            conn.set_option(ldap.OPT_NETWORK_TIMEOUT, self.timeout)
            conn.set_option(ldap.OPT_TIMEOUT, self.timeout)
            conn.set_option(ldap.OPT_REFERRALS, 0)
            if self.uri.startswith("ldap://"):
                conn.start_tls_s()
            return conn

        service = connect()
        try:
            service.simple_bind_s(self.bind_dn, Path(self.bind_password_file).read_text().strip())
            wanted = f"(&{self.user_filter}({self.login_attribute}="
            wanted += f"{ldap.filter.escape_filter_chars(login)}))"
            found = service.search_s(self.people_dn, ldap.SCOPE_SUBTREE, wanted, ["1.1"])
        finally:
            service.unbind_s()
        if len(found) != 1:
            return None
        user = connect()
        try:
            user.simple_bind_s(found[0][0], password)
            # a password the policy asks to change first (pwdReset) binds, but its session
            # may do nothing else: reading one's own entry proves a usable account
            user.search_s(found[0][0], ldap.SCOPE_BASE, "(objectClass=*)", ["1.1"])
        except ldap.LDAPError:
            return None
        finally:
            user.unbind_s()
        return login


class Janus(Protocol):
    def ensure_room(self, room: str, pin: str, publishers: int) -> bool:
        """Create the room unless it exists; True when it was created."""

    def participants(self, room: str) -> list[str]:
        """The display names of the room's participants."""

    def set_recording(self, room: str, on: bool) -> None:
        """Start or stop the recording of every participant of the room."""

    def recording_rooms(self) -> list[str]:
        """The rooms Janus records now."""


def room_secret(admin_key: str, room: str) -> str:
    """The room's VideoRoom secret (needed to start and stop its recording), derived from
    the admin key: the same after a restart of the application, never handed out."""
    return hmac.new(admin_key.encode(), f"room-secret:{room}".encode(), hashlib.sha256).hexdigest()


#: VideoRoom's error code for a room created already (JANUS_VIDEOROOM_ERROR_ROOM_EXISTS).
ROOM_EXISTS = 427


class VideoRoomError(RuntimeError):
    """VideoRoom answered a request with an error code."""

    def __init__(self, code: object, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class JanusHttp:
    url: str
    token_secret: str
    admin_key: str
    post: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
    #: Janus' recording folder when the administration allows recording, else empty.
    rec_dir: str = ""

    def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.post is not None:
            return self.post(url, body)
        req = urllib.request.Request(  # noqa: S310  (the configured local Janus URL)
            url, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=JANUS_TIMEOUT) as r:  # noqa: S310
            answer: dict[str, Any] = json.loads(r.read(1 << 20))
        return answer

    def _call(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": secrets.token_hex(8)}
        body["token"] = janus_token(self.token_secret, time.time(), 60)
        answer = self._post(url, body)
        if answer.get("janus") not in ("success", "ack"):
            raise RuntimeError(f"Janus refused {body.get('janus')}: {answer.get('error')}")
        return answer

    def _plugin(self, handle: str, request: dict[str, Any]) -> dict[str, Any]:
        answer = self._call(handle, {"janus": "message", "body": request})
        data: dict[str, Any] = answer.get("plugindata", {}).get("data", {})
        if "error_code" in data:
            raise VideoRoomError(
                data["error_code"], f"VideoRoom refused {request['request']}: {data.get('error')}"
            )
        return data

    def _with_handle(self, work: Callable[[str], Any]) -> Any:
        """``work(handle URL)`` in a Janus session of its own, destroyed afterwards."""
        session = self._call(self.url, {"janus": "create"})["data"]["id"]
        base = f"{self.url}/{session}"
        try:
            handle = self._call(base, {"janus": "attach", "plugin": PLUGIN})["data"]["id"]
            return work(f"{base}/{handle}")
        finally:
            self._call(base, {"janus": "destroy"})

    def ensure_room(self, room: str, pin: str, publishers: int) -> bool:
        def work(url: str) -> bool:
            if self._plugin(url, {"request": "exists", "room": room}).get("exists"):
                return False
            create: dict[str, Any] = {
                "request": "create",
                "room": room,
                "admin_key": self.admin_key,
                "description": room,
                "is_private": True,
                "permanent": False,
                "publishers": publishers,
                "secret": room_secret(self.admin_key, room),
                # nobody records on joining; only the application, with the room's
                # secret, starts it once everyone consented (A14)
                "record": False,
                "lock_record": True,
                "notify_joining": True,
            }
            if self.rec_dir:
                create["rec_dir"] = self.rec_dir
            if pin:
                create["pin"] = pin
            try:
                self._plugin(url, create)
            except VideoRoomError as exc:
                # two participants opened the same new room at once: the other's create
                # came first, and the room is there
                if exc.code == ROOM_EXISTS:
                    return False
                raise
            return True

        return bool(self._with_handle(work))

    def participants(self, room: str) -> list[str]:
        request = {"request": "listparticipants", "room": room}
        data = self._with_handle(lambda url: self._plugin(url, request))
        return [str(p.get("display", "")) for p in data.get("participants", [])]

    def set_recording(self, room: str, on: bool) -> None:
        request = {
            "request": "enable_recording",
            "room": room,
            "secret": room_secret(self.admin_key, room),
            "record": on,
        }
        self._with_handle(lambda url: self._plugin(url, request))

    def recording_rooms(self) -> list[str]:
        request = {"request": "list", "admin_key": self.admin_key}
        data = self._with_handle(lambda url: self._plugin(url, request))
        return [str(r["room"]) for r in data.get("list", []) if r.get("record")]


# --- the application ----------------------------------------------------------------


@dataclass
class Settings:
    session_key: str
    janus_token_secret: str
    turn_secret: str
    turn_uris: list[str]
    token_ttl: int = 3600
    turn_ttl: int = 3600
    session_ttl: int = 36000
    publishers: int = 6
    janus_ws_path: str = "/janus-ws"
    janus_http_path: str = "/janus"
    #: Recording allowed by the administration (videoconference_recording), A14.
    recording: bool = False


@dataclass
class App:
    settings: Settings
    directory: Directory
    janus: Janus
    clock: Callable[[], float] = time.time
    events: list[str] = field(default_factory=list)
    consents: Consents = field(init=False)

    def __post_init__(self) -> None:
        self.consents = Consents(self.settings.recording, self.janus, self.clock, self.event)

    def event(self, what: str, uid: str, room: str, reason: str = "") -> None:
        """One line a join, leave, consent, recording start or stop: who, room, time
        (M13, A14), and why an automatic stop; nothing else (A3)."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock()))
        line = f"{what} user={name_field(uid)} room={room} time={stamp}"
        if reason:
            line += f" reason={reason}"
        self.events.append(line)
        log.info("%s", line)

    def join(self, uid: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        room, pin = str(body.get("room", "")), str(body.get("pin", "") or "")
        if not ROOM_RE.match(room) or (pin and not PIN_RE.match(pin)):
            return 400, {"error": "room: a-z, 0-9 and -, up to 40; PIN: 4 to 12 digits"}
        refusal = self.consents.may_join(uid, room)
        if refusal is not None:  # the room records: only with consent given beforehand
            return refusal.answer()
        try:
            created = self.janus.ensure_room(room, pin, self.settings.publishers)
        except (RuntimeError, OSError, KeyError, ValueError) as exc:
            log.warning("room %s not opened: %s", room, printable(exc))
            return 502, {"error": "the meeting server did not answer", "code": "janus"}
        now = self.clock()
        s = self.settings
        username, credential = turn_credentials(s.turn_secret, uid, now, s.turn_ttl)
        self.event("join", uid, room)
        self.consents.joined(uid, room)
        return 200, {
            "room": room,
            "created": created,
            "display": uid,
            "token": janus_token(s.janus_token_secret, now, s.token_ttl),
            "server": s.janus_ws_path,
            "fallback": s.janus_http_path,
            "iceServers": [{"urls": s.turn_uris, "username": username, "credential": credential}]
            if s.turn_uris
            else [],
        }

    def leave(self, uid: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        room = str(body.get("room", ""))
        if not ROOM_RE.match(room):
            return 400, {"error": "room"}
        self.event("leave", uid, room)
        self.consents.left(uid, room)
        return 200, {"left": room}

    def recording(self, uid: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """/api/consent {room, consent}, /api/recording {room, record}, /api/state {room}."""
        room = body.get("room")
        if not isinstance(room, str) or not ROOM_RE.match(room):
            return 400, {"error": "room: a-z, 0-9 and -, up to 40"}
        flag = body.get("consent" if path == "/api/consent" else "record")
        if path != "/api/state" and not isinstance(flag, bool):
            return 400, {"error": "consent and record are true or false"}
        if path == "/api/consent":
            return self.consents.consent(uid, room, bool(flag))
        if path == "/api/recording":
            return (self.consents.start if flag else self.consents.stop)(uid, room)
        return self.consents.view(uid, room)

    def guard_forever(self, interval: float = GUARD_SECONDS) -> None:
        """The guard of the recordings (A14), every ``interval`` seconds."""
        while True:
            time.sleep(interval)
            try:
                self.consents.guard()
            except Exception as exc:  # the guard must outlive one bad answer
                log.warning("recording guard: %s", printable(type(exc).__name__))


def handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "telework-visio"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            return  # nginx logs requests; the journal gets the events above only (A3)

        def _lang(self) -> str:
            return language(self.headers.get("Accept-Language", ""))

        def _user(self) -> str | None:
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
            morsel = cookie.get(COOKIE)
            if morsel is None:
                return None
            return session_user(app.settings.session_key, morsel.value, app.clock())

        def _send(
            self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Vary", "Accept-Language, Cookie")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: dict[str, Any]) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        def _body(self) -> bytes | None:
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                return None
            if length < 0 or length > MAX_BODY:
                return None
            return self.rfile.read(length)

        def do_GET(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            if path != "/":
                self._json(404, {"error": "not found"})
                return
            uid, lang = self._user(), self._lang()
            body = meeting_page(lang, uid, app.settings.recording) if uid else login_page(lang)
            self._send(200, body, "text/html; charset=utf-8")

        def do_POST(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            raw = self._body()
            if raw is None:
                self._json(413, {"error": "body too large"})
                return
            if path == "/login":
                self._login(raw)
            elif path == "/logout":
                self._send(
                    303,
                    b"",
                    "text/plain",
                    {"Location": "/", "Set-Cookie": f"{COOKIE}=; Max-Age=0; Path=/; Secure"},
                )
            elif path.startswith("/api/"):
                self._api(path, raw)
            else:
                self._json(404, {"error": "not found"})

        def _login(self, raw: bytes) -> None:
            form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), max_num_fields=4)
            login = (form.get("username") or [""])[0].strip()
            password = (form.get("password") or [""])[0]
            try:
                uid = app.directory.authenticate(login, password)
            except Exception as exc:  # the directory is down: refuse, say so
                log.warning("directory unavailable: %s", type(exc).__name__)
                uid = None
            if uid is None:
                self._send(401, login_page(self._lang(), failed=True), "text/html; charset=utf-8")
                return
            value = session_cookie(
                app.settings.session_key, uid, app.clock(), app.settings.session_ttl
            )
            cookie = (
                f"{COOKIE}={value}; Path=/; Max-Age={app.settings.session_ttl}; Secure; "
                "HttpOnly; SameSite=Strict"
            )
            self._send(303, b"", "text/plain", {"Location": "/", "Set-Cookie": cookie})

        def _api(self, path: str, raw: bytes) -> None:
            uid = self._user()
            if uid is None:
                self._json(HTTPStatus.UNAUTHORIZED, {"error": "log in first"})
                return
            if not self.headers.get("Content-Type", "").startswith("application/json"):
                self._json(415, {"error": "JSON only"})
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                self._json(400, {"error": "a JSON object"})
                return
            if path == "/api/join":
                self._json(*app.join(uid, body))
            elif path == "/api/leave":
                self._json(*app.leave(uid, body))
            elif path in ("/api/consent", "/api/recording", "/api/state"):
                self._json(*app.recording(uid, path, body))
            else:
                self._json(404, {"error": "not found"})

    return Handler


def load(path: str) -> tuple[App, int]:
    config = json.loads(Path(path).read_text())
    ldap_config = config["ldap"]
    settings = Settings(
        session_key=config["session_key"],
        janus_token_secret=config["janus_token_secret"],
        turn_secret=config["turn_secret"],
        turn_uris=list(config["turn_uris"]),
        token_ttl=int(config["token_ttl"]),
        turn_ttl=int(config["turn_ttl"]),
        session_ttl=int(config["session_ttl"]),
        publishers=int(config["publishers"]),
        recording=bool(config.get("recording", False)),
    )
    janus = JanusHttp(
        config["janus_url"],
        config["janus_token_secret"],
        config["admin_key"],
        rec_dir=str(config.get("recording_dir", "")) if settings.recording else "",
    )
    app = App(settings, LdapDirectory(**ldap_config), janus)
    return app, int(config["port"])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    app, port = load(args[0] if args else "/etc/telework-visio/config.json")
    server = ThreadingHTTPServer(("127.0.0.1", port), handler(app))
    server.daemon_threads = True
    if app.settings.recording:  # the guard also stops at once what a restart left recording
        threading.Thread(target=app.guard_forever, daemon=True).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
