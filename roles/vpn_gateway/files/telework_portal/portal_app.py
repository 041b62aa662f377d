"""The teleworker portal on the VPN gateway (A4 second factor, E23 start and end of work,
A17 checked electronically): a Flask app served by gunicorn on 127.0.0.1 behind nginx.

A teleworker logs in with the directory's password and a TOTP code (or a one-time recovery
code); the first time, from the administration's network only (``enrol_networks``), they
enrol: QR code, secret, confirmation with a code, ten recovery codes shown once. Then they
start work (the gate opens their gated VPN groups until the end of their schedule's span)
and end it. Logins are throttled per login and per address (WEB-05), sessions expire when
idle and at most after ``session_max_seconds`` (E12), every form carries a CSRF token, the
client's address is nginx's ``X-Real-IP`` (only that). Logins, failures, enrolments,
starts and ends are one key=value line each in the journal (A3), every value from outside
made printable; pages escape them (Jinja's autoescape).

Config (``TELEWORK_PORTAL_CONFIG``, default /etc/telework-portal/portal.json), JSON:
``session_key_file``, ``totp_key_file`` (a Fernet key), ``database``, ``gate_socket``,
``issuer``, ``enrol_networks`` (CIDR list), ``session_idle_seconds``,
``session_max_seconds``, ``ldap`` (the fields of LdapDirectory). Debian's python3-flask
(2.2 on bookworm, 3.x later), python3-pyotp, python3-qrcode, python3-cryptography,
python3-ldap."""

from __future__ import annotations

import datetime
import hmac
import ipaddress
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pyotp
from flask import Flask, Response, g, jsonify, make_response, request, session
from portal_directory import Directory
from portal_errors import GateError
from portal_pages import CSS, field, language, qr_svg, render, when
from portal_store import Store, new_recovery_codes

log = logging.getLogger(__name__)

DEFAULT_CONFIG = "/etc/telework-portal/portal.json"
DEFAULT_SOCKET = "/run/telework-portal-gate/gate.sock"
#: Longest form field read (a password included).
MAX_FIELD = 1024
#: The gate's refusals the pages explain, and the HTTP status of each.
GATE_STATUS = {
    "not-your-device": 403,
    "unknown-address": 403,
    "not-gated": 409,
    "outside-schedule": 409,
    "firewall": 502,
    "unavailable": 502,
}


def event(what: str, **fields: object) -> None:
    log.info("%s %s", what, " ".join(f"{k}={field(v)}" for k, v in fields.items()))


# --- the gate -------------------------------------------------------------------------------


class Gate(Protocol):
    """The gate daemon's client (portal_gate's GateClient); every method raises GateError
    on a refusal, OSError when the gate cannot be reached."""

    def whois(self, address: str) -> dict[str, Any] | None: ...

    def devices(self, user: str) -> list[dict[str, Any]]: ...

    def start(self, user: str, address: str) -> dict[str, Any]: ...

    def end(self, user: str, address: str) -> int: ...

    def status(self, user: str) -> list[dict[str, Any]]: ...


# --- the application ------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Settings:
    secret_key: bytes
    issuer: str = "Administration"
    enrol_networks: tuple[Network, ...] = ()
    session_idle_seconds: int = 900
    session_max_seconds: int = 36000
    #: WEB-05: failures allowed per login and per address within the window.
    login_failures: int = 5
    address_failures: int = 20
    failure_window: int = 900
    #: Seconds between the enrolment page and its confirmation.
    enrol_seconds: int = 600


def see_home() -> Response:
    """303 to the home page (flask.redirect's type differs between Flask 2.2 and 3)."""
    response = make_response("", 303)
    response.headers["Location"] = "/"
    return response


def client_address() -> str | None:
    """nginx's X-Real-IP ($remote_addr), the only address the app believes."""
    try:
        return str(ipaddress.ip_address(request.headers.get("X-Real-IP", "").strip()))
    except ValueError:
        return None


def page(name: str, status: int = 200, **context: Any) -> Response:
    """The page ``name`` in the browser's language, with the session's CSRF token."""
    context.setdefault("csrf", session.get("csrf", ""))
    return make_response(render(name, g.lang, **context), status)


def signed_out() -> Response:
    """The login page, for a form posted without (or after) a session."""
    return page("login", 401, login="", note="expired" if g.expired else "")


@dataclass
class Portal:
    """The portal's behaviour, one method a route; ``clock`` is injected for the tests."""

    settings: Settings
    directory: Directory
    gate: Gate
    store: Store
    clock: Callable[[], float] = time.time

    # --- every request ----------------------------------------------------------------

    def before(self) -> Response | None:
        g.now, g.lang = self.clock(), language(request.headers.get("Accept-Language", ""))
        g.expired = False
        if request.path in {"/healthz", "/portal.css"}:
            return None
        address = client_address()
        if address is None:
            return make_response("X-Real-IP missing\n", 400)
        g.address = address
        if "user" in session:
            s = self.settings
            seen, auth = float(session.get("seen", 0)), float(session.get("auth", 0))
            if g.now - seen > s.session_idle_seconds or g.now - auth > s.session_max_seconds:
                token = session.get("csrf")  # E12: idle or too old; the CSRF token stays
                session.clear()
                session["csrf"] = token
                g.expired = True
            else:
                session["seen"] = g.now
        if not session.get("csrf"):
            session["csrf"] = secrets.token_urlsafe(32)
        if request.method == "POST":
            sent = request.form.get("csrf", "")
            if not hmac.compare_digest(sent.encode(), str(session["csrf"]).encode()):
                return page("message", 400, note="bad_form", tone="error")
        return None

    @staticmethod
    def headers(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"
        )
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Vary"] = "Accept-Language, Cookie"
        return response

    # --- the factors (A4) and throttling (WEB-05) -------------------------------------

    def throttled(self, login: str) -> int:
        """Seconds the login or the address must still wait, 0 when it may try."""
        s = self.settings
        since, wait = g.now - s.failure_window, 0
        for key, limit in (
            (f"login:{login.lower()}", s.login_failures),
            (f"address:{g.address}", s.address_failures),
        ):
            times = self.store.failures(key, since)
            if len(times) >= limit:
                until = times[len(times) - limit] + s.failure_window
                wait = max(wait, int(until - g.now) + 1)
        return wait

    def too_many(self, login: str) -> Response | None:
        wait = self.throttled(login)
        if not wait:
            return None
        event("login-throttled", user=login, address=g.address)
        response = page("message", 429, note="throttled", tone="error")
        response.headers["Retry-After"] = str(wait)
        return response

    def failed(self, login: str, reason: str) -> None:
        keys = (f"login:{login.lower()}", f"address:{g.address}")
        self.store.add_failure(keys, g.now, g.now - self.settings.failure_window)
        event("login-failed", user=login, address=g.address, reason=reason)

    @staticmethod
    def matching_steps(secret: str, code: str) -> list[int]:
        """The time steps (newest first) whose code is ``code``: 30 s, valid_window 1."""
        if len(code) != 6 or not code.isdigit():
            return []
        totp, now_step = pyotp.TOTP(secret), int(g.now // 30)
        steps = (now_step + 1, now_step, now_step - 1)
        return [s for s in steps if hmac.compare_digest(totp.at(s * 30).encode(), code.encode())]

    def second_factor(self, uid: str, secret: str, code: str) -> str | None:
        """``totp`` or ``recovery`` when the code is good and new, else None."""
        plain = "".join(code.split())
        if len(plain) == 6:
            for step in self.matching_steps(secret, plain):
                if self.store.accept_step(uid, step):  # a replayed code's step is not newer
                    return "totp"
            return None
        return "recovery" if self.store.use_recovery(uid, plain, g.now) else None

    def log_in(self, uid: str) -> None:
        """A new session (a new CSRF token) for the teleworker, from now."""
        session.clear()
        session.permanent = True
        session.update(user=uid, auth=g.now, seen=g.now, csrf=secrets.token_urlsafe(32))

    def may_enrol(self) -> bool:
        address = ipaddress.ip_address(g.address)
        return any(address in network for network in self.settings.enrol_networks)

    def enrol_page(self, uid: str, secret: str, status: int = 200, **context: Any) -> Response:
        issuer = self.settings.issuer
        uri = pyotp.TOTP(secret).provisioning_uri(name=uid, issuer_name=issuer)
        shown = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
        return page("enrol", status, qr=qr_svg(uri, issuer), secret=shown, **context)

    def begin_enrolment(self, uid: str) -> Response:
        """First login: the enrolment page, from the administration's network only."""
        if not self.may_enrol():
            event("enrol-refused", user=uid, address=g.address, reason="network")
            return page("message", 403, note="enrol_outside", tone="error")
        secret = pyotp.random_base32()
        pending = json.dumps({"user": uid, "secret": secret})
        session["enrol"] = self.store.seal(pending, g.now)  # encrypted, stamped
        event("enrol-begin", user=uid, address=g.address)
        return self.enrol_page(uid, secret)

    # --- pages ------------------------------------------------------------------------

    def home(self, status: int = 200, **context: Any) -> Response:
        uid = session["user"]
        device, device_note, sessions = "", "", []
        try:
            peer = self.gate.whois(g.address)
            if peer is None:
                device_note = "no_device"
            elif str(peer.get("user", "")).lower() != uid:
                device_note = "other_device"
            else:
                device = str(peer.get("device", ""))
                device_note = "" if peer.get("gated") else "not_gated"
            for s in self.gate.status(uid):
                sessions.append(
                    {
                        "ends": when(s.get("ends")),
                        "iso": str(s.get("ends")),
                        "device": str(s.get("device")),
                    }
                )
        except (GateError, OSError) as exc:
            log.warning("gate: %s", field(getattr(exc, "code", type(exc).__name__)))
            context.setdefault("note", "e_unavailable")
            context.setdefault("tone", "error")
        return page(
            "home", status, user=uid, device=device, device_note=device_note,
            sessions=sessions, **context,
        )  # fmt: skip

    def index(self) -> Response:
        if "user" not in session:
            return page("login", 200, login="", note="expired" if g.expired else "")
        flash = session.pop("flash", None)
        return self.home(note=flash[0], detail=flash[1]) if flash else self.home()

    def first_factor(self, login: str, password: str) -> str | Response:
        """The directory's password (the teleworker's id), then C5, E1: a teleworker without
        a device in the VPN (revoked) goes no further; a Response is a refusal."""
        try:
            uid = self.directory.authenticate(login, password)
        except Exception as exc:  # the directory is down: say so, count nothing
            log.warning("directory unavailable: %s", field(type(exc).__name__))
            return page("login", 503, login=login, note="unavailable", tone="error")
        if uid is None:
            self.failed(login, "password")
            return page("login", 401, login=login, note="failed", tone="error")
        try:
            allowed = bool(self.gate.devices(uid.lower()))
        except (GateError, OSError) as exc:
            log.warning("gate: %s", field(getattr(exc, "code", type(exc).__name__)))
            return page("login", 503, login=login, note="e_unavailable", tone="error")
        if not allowed:
            self.failed(login, "no-device")
            return page("login", 403, login=login, note="no_access", tone="error")
        return uid.lower()

    def login(self) -> Response:
        login = request.form.get("username", "").strip()[:MAX_FIELD]
        password = request.form.get("password", "")[:MAX_FIELD]
        refused = self.too_many(login)
        if refused is not None:  # WEB-05: the directory is not even asked
            return refused
        uid = self.first_factor(login, password)
        if not isinstance(uid, str):
            return uid
        known = self.store.secret(uid)
        if known is None:
            return self.begin_enrolment(uid)
        how = self.second_factor(uid, known[0], request.form.get("code", "")[:MAX_FIELD])
        if how is None:
            self.failed(login, "code")
            return page("login", 401, login=login, note="failed", tone="error")
        self.log_in(uid)
        self.store.clear_failures(f"login:{login.lower()}")
        event("login", user=uid, address=g.address, how=how)
        if how == "recovery":
            session["flash"] = ["recovery_left", str(self.store.recovery_left(uid))]
        return see_home()

    def enrol(self) -> Response:
        token = session.get("enrol")
        sealed = self.store.unseal(token, g.now, self.settings.enrol_seconds) if token else None
        if sealed is None:
            return page("login", 400, login="", note="enrol_expired", tone="error")
        pending = json.loads(sealed)
        uid, secret = str(pending["user"]), str(pending["secret"])
        if not self.may_enrol():
            event("enrol-refused", user=uid, address=g.address, reason="network")
            return page("message", 403, note="enrol_outside", tone="error")
        refused = self.too_many(uid)
        if refused is not None:
            return refused
        code = "".join(request.form.get("code", "")[:MAX_FIELD].split())
        steps = self.matching_steps(secret, code)
        if not steps:
            self.failed(uid, "enrol-code")
            return self.enrol_page(uid, secret, 401, note="enrol_failed", tone="error")
        codes = new_recovery_codes()
        if not self.store.enrol(uid, secret, steps[0], codes, g.now):
            session.pop("enrol", None)  # enrolled meanwhile, in another browser
            return page("login", 409, login=uid, note="enrol_expired", tone="error")
        self.log_in(uid)
        event("totp-enrolled", user=uid, address=g.address)
        return page("recovery", codes=codes)  # shown this once: only hashes are kept

    def start(self) -> Response:
        """E23: the teleworker confirms the start of work; the gate opens their gated
        groups until the end of their schedule's span (A17: the gate's journal)."""
        if "user" not in session:
            return signed_out()
        uid = session["user"]
        try:
            opened = self.gate.start(uid, g.address)
        except GateError as exc:
            code = exc.code if exc.code in GATE_STATUS else "unavailable"
            event("work-refused", user=uid, address=g.address, error=exc.code)
            return self.home(GATE_STATUS[code], note=f"e_{code}", tone="error")
        except OSError as exc:
            log.warning("gate unreachable: %s", field(type(exc).__name__))
            return self.home(502, note="e_unavailable", tone="error")
        event("work-start", user=uid, address=g.address, ends=opened.get("ends", ""))
        return self.home(note="started", detail=when(opened.get("ends")), tone="ok")

    def end(self) -> Response:
        """E23: the teleworker confirms the end of work; the gate closes the access."""
        if "user" not in session:
            return signed_out()
        uid = session["user"]
        try:
            ended = self.gate.end(uid, g.address)
        except (GateError, OSError) as exc:
            log.warning("gate: %s", field(getattr(exc, "code", type(exc).__name__)))
            return self.home(502, note="e_unavailable", tone="error")
        event("work-end", user=uid, address=g.address, ended=ended)
        return self.home(note="ended" if ended else "nothing_open", tone="ok" if ended else "")

    @staticmethod
    def logout() -> Response:
        """Clears the session cookie; work goes on (the gate's session is not ended)."""
        if "user" in session:
            event("logout", user=session["user"], address=g.address)
        session.clear()
        return see_home()


def create_app(
    settings: Settings,
    directory: Directory,
    gate: Gate,
    store: Store,
    clock: Callable[[], float] = time.time,
) -> Flask:
    portal = Portal(settings, directory, gate, store, clock)
    app = Flask(__name__, static_folder=None)
    app.secret_key = settings.secret_key
    app.config.update(
        SESSION_COOKIE_NAME="__Host-portal",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PATH="/",
        PERMANENT_SESSION_LIFETIME=datetime.timedelta(seconds=settings.session_max_seconds),
        MAX_CONTENT_LENGTH=16 * 1024,
    )
    app.before_request(portal.before)
    app.after_request(portal.headers)
    app.add_url_rule("/healthz", "healthz", lambda: jsonify(ok=True))
    app.add_url_rule("/portal.css", "css", lambda: Response(CSS, mimetype="text/css"))
    app.add_url_rule("/", "index", portal.index)
    for name in ("login", "enrol", "start", "end", "logout"):
        app.add_url_rule(f"/{name}", name, getattr(portal, name), methods=["POST"])
    return app
