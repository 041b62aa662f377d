"""The teleworker portal's web app (roles/vpn_gateway/files/telework_portal/portal_app.py)
through Flask's test client, with a fake directory, a fake gate and an injected clock:
French or Arabic pages, CSRF tokens, the directory's password and a TOTP code (replays
refused) or a one-time recovery code (A4), throttling per login and per address (WEB-05),
enrolment from the administration's network only, start and end of work through the gate
(E23, A17), session cookies' flags and expiry (E12), hostile strings escaped in pages and
made printable in the journal's lines (A3)."""

from __future__ import annotations

import html
import ipaddress
import logging
import re
import sys
from pathlib import Path
from typing import Any

import pyotp
import pytest
from cryptography.fernet import Fernet
from flask import Flask
from werkzeug.test import TestResponse

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "roles/vpn_gateway/files/telework_portal"
if str(PORTAL) not in sys.path:  # the portal's modules import each other by name
    sys.path.insert(0, str(PORTAL))

from portal_app import Settings, create_app  # noqa: E402
from portal_errors import GateError  # noqa: E402
from portal_store import Store, new_recovery_codes  # noqa: E402

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
OFFICE = "192.168.10.5"  # in enrol_networks: the administration's network
DEVICE = "10.77.0.3"  # ag0001's laptop, through the tunnel
OTHERS = "10.77.0.4"  # ag0002's laptop
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
ENDS = "2027-01-15T16:30:00+01:00"
PASSWORD = "bon-mot-de-passe"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class FakeDirectory:
    def __init__(self) -> None:
        self.asked: list[str] = []
        self.down = False

    def authenticate(self, login: str, password: str) -> str | None:
        self.asked.append(login)
        if self.down:
            raise OSError("ldap server unreachable")
        passwords = {"ag0001": PASSWORD, "ag0002": "autre-mot-de-passe"}
        return login if passwords.get(login) == password else None


class FakeGate:
    """The gate as the contract describes it: whois/start/end/status, GateError(code)."""

    def __init__(self) -> None:
        self.peers: dict[str, dict[str, Any]] = {
            DEVICE: {"user": "ag0001", "device": "lt-0001", "groups": ["finance"], "gated": True},
            OTHERS: {"user": "ag0002", "device": "lt-0002", "groups": ["finance"], "gated": True},
        }
        self.open: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, ...]] = []
        self.refusal = ""
        self.down = False

    def whois(self, address: str) -> dict[str, Any] | None:
        if self.down:
            raise ConnectionRefusedError("gate.sock")
        return self.peers.get(address)

    def devices(self, user: str) -> list[dict[str, Any]]:
        if self.down:
            raise ConnectionRefusedError("gate.sock")
        return [
            {"device": p["device"], "groups": p["groups"], "gated": p["groups"]}
            for p in self.peers.values()
            if p["user"] == user
        ]

    def start(self, user: str, address: str) -> dict[str, Any]:
        self.calls.append(("start", user, address))
        if self.refusal:
            raise GateError(self.refusal)
        peer = self.peers.get(address)
        if peer is None:
            raise GateError("unknown-address")
        if peer["user"] != user:
            raise GateError("not-your-device")
        session = {"id": 7, "user": user, "device": peer["device"], "groups": ["finance"],
                   "started": "2027-01-15T09:00:00+01:00", "ends": ENDS, "ended": None,
                   "how": None}  # fmt: skip
        self.open[peer["device"]] = session
        return session

    def end(self, user: str, address: str) -> int:
        self.calls.append(("end", user, address))
        peer = self.peers.get(address)
        if peer is None or peer["user"] != user or peer["device"] not in self.open:
            return 0
        del self.open[peer["device"]]
        return 1

    def status(self, user: str) -> list[dict[str, Any]]:
        return [s for s in self.open.values() if s["user"] == user]


class Browser:
    """A browser behind nginx: HTTPS, nginx's X-Real-IP, one cookie jar."""

    def __init__(self, app: Flask, address: str = DEVICE, lang: str = "fr") -> None:
        self.client = app.test_client()
        self.address, self.lang = address, lang

    def _headers(self, address: str | None) -> dict[str, str]:
        return {"X-Real-IP": address or self.address, "Accept-Language": self.lang}

    def get(self, path: str, address: str | None = None) -> TestResponse:
        return self.client.get(path, base_url="https://portal.test", headers=self._headers(address))

    def post(self, path: str, data: dict[str, str], address: str | None = None) -> TestResponse:
        return self.client.post(
            path, base_url="https://portal.test", data=data, headers=self._headers(address)
        )

    def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.get("/").text)
        assert found is not None
        return found.group(1)

    def form(self, path: str, address: str | None = None, **fields: str) -> TestResponse:
        return self.post(path, {"csrf": self.csrf(), **fields}, address)

    def login(self, user: str = "ag0001", password: str = PASSWORD, code: str = "") -> TestResponse:
        return self.form("/login", username=user, password=password, code=code)


def words(response: TestResponse) -> str:
    """The page's text as a reader sees it (Jinja escapes quotes)."""
    return html.unescape(response.text)


class Portal:
    def __init__(self, tmp: Path) -> None:
        self.clock, self.directory, self.gate = Clock(), FakeDirectory(), FakeGate()
        self.store = Store(tmp / "portal.db", Fernet.generate_key())
        settings = Settings(
            secret_key=b"k" * 32,
            issuer="Administration test",
            enrol_networks=(ipaddress.ip_network("192.168.10.0/24"),),
        )
        self.app = create_app(settings, self.directory, self.gate, self.store, self.clock)
        self.codes = new_recovery_codes()
        # ag0001 enrolled earlier (with a code of ten steps ago); ag0002 has not enrolled
        self.store.enrol("ag0001", SECRET, int(NOW // 30) - 10, self.codes, NOW - 300)

    def browser(self, address: str = DEVICE, lang: str = "fr") -> Browser:
        return Browser(self.app, address, lang)

    def code(self, offset: int = 0, secret: str = SECRET) -> str:
        return pyotp.TOTP(secret).at(int(self.clock.now) + offset * 30)


@pytest.fixture
def portal(tmp_path: Path) -> Portal:
    return Portal(tmp_path)


def logged_in(portal: Portal, address: str = DEVICE) -> Browser:
    browser = portal.browser(address)
    assert browser.login(code=portal.code()).status_code == 303
    return browser


def test_the_login_page_is_in_french_by_default_and_fits_a_phone(portal: Portal) -> None:
    page = portal.browser(lang="en-US").get("/")
    assert page.status_code == 200
    assert '<html lang="fr" dir="ltr">' in page.text
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page.text
    assert "Identifiant" in page.text and "Code à 6 chiffres" in page.text


def test_the_login_page_is_in_arabic_right_to_left_when_the_browser_asks(
    portal: Portal,
) -> None:
    page = portal.browser(lang="ar-MA,ar;q=0.9,fr;q=0.8").get("/")
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "اسم المستخدم" in page.text and "بوابة العمل عن بعد" in page.text


def test_a_post_without_the_csrf_token_is_refused(portal: Portal) -> None:
    browser = portal.browser()
    browser.get("/")
    fields = {"username": "ag0001", "password": "bon-mot-de-passe", "code": portal.code()}
    assert browser.post("/login", fields).status_code == 400
    assert browser.post("/login", {**fields, "csrf": "forged"}).status_code == 400
    assert portal.directory.asked == []
    signed_in = logged_in(portal)
    assert signed_in.post("/start", {}).status_code == 400
    assert portal.gate.calls == []


def test_a_wrong_password_is_refused(portal: Portal) -> None:
    browser = portal.browser()
    page = browser.login(password="faux", code=portal.code())
    assert page.status_code == 401
    assert "Identifiant, mot de passe ou code refusé." in page.text
    assert 'action="/login"' in browser.get("/").text


def test_a_wrong_totp_code_is_refused(portal: Portal) -> None:
    browser = portal.browser()
    wrong = f"{(int(portal.code()) + 1) % 1_000_000:06d}"
    assert browser.login(code=wrong).status_code == 401
    assert browser.login(code="").status_code == 401
    assert browser.login(code=portal.code(offset=-3)).status_code == 401  # too old
    assert 'action="/login"' in browser.get("/").text


def test_the_password_and_a_current_code_open_the_home_page(portal: Portal) -> None:
    browser = portal.browser()
    answer = browser.login(code=portal.code())
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
    home = browser.get("/").text
    assert "ag0001" in home and "lt-0001" in home and "Commencer le travail" in home


def test_a_replayed_totp_code_is_refused(portal: Portal) -> None:
    code = portal.code()
    first = portal.browser()
    assert first.login(code=code).status_code == 303
    assert portal.browser().login(code=code).status_code == 401  # someone who saw it
    portal.clock.now += 30
    assert portal.browser().login(code=portal.code(offset=-1)).status_code == 401
    assert portal.browser().login(code=portal.code()).status_code == 303


def test_a_recovery_code_works_once_only(portal: Portal) -> None:
    browser = portal.browser()
    assert browser.login(code=portal.codes[0].lower()).status_code == 303
    assert 'Code de secours utilisé. Codes restants : <b dir="ltr">9</b>' in words(browser.get("/"))
    assert portal.browser().login(code=portal.codes[0]).status_code == 401


def test_five_failures_throttle_a_login_without_asking_the_directory(portal: Portal) -> None:
    browser = portal.browser()
    for _ in range(5):
        assert browser.login(password="faux").status_code == 401
    asked = len(portal.directory.asked)
    refused = browser.login(code=portal.code())
    assert refused.status_code == 429
    assert "Trop d'essais" in words(refused) and int(refused.headers["Retry-After"]) > 0
    assert len(portal.directory.asked) == asked
    assert portal.browser(OTHERS).login("ag0001", code=portal.code()).status_code == 429
    portal.clock.now += 901
    assert portal.browser().login(code=portal.code()).status_code == 303


def test_twenty_failures_from_one_address_throttle_it(portal: Portal) -> None:
    browser = portal.browser()
    for i in range(20):
        assert browser.login(f"guess{i}", "faux").status_code == 401
    asked = len(portal.directory.asked)
    assert browser.login(code=portal.code()).status_code == 429
    assert len(portal.directory.asked) == asked
    assert portal.browser(OTHERS).login(code=portal.code()).status_code == 303


def enrol_page(portal: Portal) -> tuple[Browser, str]:
    browser = portal.browser(OFFICE)
    page = browser.login("ag0002", "autre-mot-de-passe")
    assert page.status_code == 200
    found = re.search(r'<code class="secret" dir="ltr">([A-Z2-7 ]+)</code>', page.text)
    assert found is not None
    return browser, found.group(1).replace(" ", "")


def test_enrolment_shows_an_svg_qr_code_and_the_secret(portal: Portal) -> None:
    browser = portal.browser(OFFICE)
    page = browser.login("ag0002", "autre-mot-de-passe").text
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page and "<path d=" in page
    assert 'aria-label="Administration test"' in page
    assert re.search(r'<code class="secret" dir="ltr">([A-Z2-7]{4} ?){8}</code>', page)


def test_a_teleworker_without_a_device_in_the_vpn_gets_neither_enrolment_nor_login(
    portal: Portal,
) -> None:
    portal.gate.peers = {k: v for k, v in portal.gate.peers.items() if v["user"] != "ag0002"}
    page = portal.browser(OFFICE).login("ag0002", "autre-mot-de-passe")  # revoked (C5)
    assert page.status_code == 403
    assert "Aucun accès au télétravail" in page.text
    assert "<svg" not in page.text and 'class="secret"' not in page.text


def test_confirming_enrolment_stores_the_secret_encrypted_and_shows_recovery_codes_once(
    portal: Portal,
) -> None:
    browser, secret = enrol_page(portal)
    assert portal.store.secret("ag0002") is None  # nothing stored before the confirmation
    page = browser.form("/enrol", code=portal.code(secret=secret))
    assert page.status_code == 200
    codes = re.findall(r"<li><code>([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})</code>",
                       page.text)  # fmt: skip
    assert len(set(codes)) == 10
    stored = portal.store.secret("ag0002")
    assert stored is not None and stored[0] == secret
    raw = b"".join(p.read_bytes() for p in portal.store.path.parent.glob("portal.db*"))
    assert secret.encode() not in raw and codes[0].encode() not in raw
    home = browser.get("/").text
    assert "ag0002" in home and codes[0] not in home  # signed in; the codes not shown again
    assert portal.browser().login("ag0002", "autre-mot-de-passe", codes[5]).status_code == 303


def test_a_wrong_code_does_not_confirm_enrolment(portal: Portal) -> None:
    browser, secret = enrol_page(portal)
    wrong = f"{(int(portal.code(secret=secret)) + 1) % 1_000_000:06d}"
    page = browser.form("/enrol", code=wrong)
    assert page.status_code == 401 and "<svg" in page.text
    assert portal.store.secret("ag0002") is None


def test_enrolment_is_refused_outside_the_enrol_networks(portal: Portal) -> None:
    page = portal.browser(OTHERS).login("ag0002", "autre-mot-de-passe")
    assert page.status_code == 403
    assert "réseau de l'administration" in words(page) and "<svg" not in page.text
    browser, secret = enrol_page(portal)  # begun at the office, confirmed from home
    assert browser.form("/enrol", OTHERS, code=portal.code(secret=secret)).status_code == 403
    assert portal.store.secret("ag0002") is None


def test_starting_work_asks_the_gate_for_the_user_at_the_real_ip_and_shows_the_end(
    portal: Portal,
) -> None:
    browser = logged_in(portal)
    page = browser.form("/start")
    assert page.status_code == 200
    assert portal.gate.calls == [("start", "ag0001", DEVICE)]
    assert "Travail commencé" in page.text and "15/01/2027 16:30" in page.text


def test_starting_work_from_another_teleworkers_device_says_it_is_not_theirs(
    portal: Portal,
) -> None:
    browser = logged_in(portal, OTHERS)
    assert "Ce poste n'est pas le vôtre." in words(browser.get("/"))
    page = browser.form("/start")
    assert page.status_code == 403
    assert "Ce poste n'est pas le vôtre : commencez le travail" in words(page)
    assert portal.gate.open == {}


@pytest.mark.parametrize(
    ("code", "status", "text"),
    [
        ("outside-schedule", 409, "en dehors de vos horaires"),
        ("firewall", 502, "Prévenez le support"),
        ("something-new", 502, "momentanément indisponible"),
    ],
)
def test_a_gate_refusal_is_a_clear_message(
    portal: Portal, code: str, status: int, text: str
) -> None:
    browser = logged_in(portal)
    portal.gate.refusal = code
    page = browser.form("/start")
    assert page.status_code == status and text in words(page)


def test_an_unreachable_gate_is_a_clear_message(portal: Portal) -> None:
    browser = logged_in(portal)
    portal.gate.down = True
    assert "momentanément indisponible" in words(browser.get("/"))


def test_ending_work_closes_the_session(portal: Portal) -> None:
    browser = logged_in(portal)
    browser.form("/start")
    page = browser.form("/end")
    assert page.status_code == 200 and "Travail terminé." in page.text
    assert portal.gate.calls[-1] == ("end", "ag0001", DEVICE) and portal.gate.open == {}
    assert "Aucun travail en cours à terminer." in browser.form("/end").text


def test_logging_out_clears_the_session_but_not_the_work(portal: Portal) -> None:
    browser = logged_in(portal)
    browser.form("/start")
    answer = browser.form("/logout")
    assert answer.status_code == 303
    assert 'action="/login"' in browser.get("/").text
    assert portal.gate.open != {}


def test_the_session_cookie_is_secure_http_only_and_strict(portal: Portal) -> None:
    browser = portal.browser()
    answer = browser.login(code=portal.code())
    cookie = next(h for h in answer.headers.getlist("Set-Cookie") if "__Host-portal=" in h)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/" in cookie and "Expires=" in cookie
    assert answer.headers["Cache-Control"] == "no-store"


def test_an_idle_session_expires(portal: Portal) -> None:
    browser = logged_in(portal)
    portal.clock.now += 899
    assert "Commencer le travail" in browser.get("/").text  # activity keeps it alive
    token = browser.csrf()
    portal.clock.now += 901
    page = browser.post("/start", {"csrf": token})
    assert page.status_code == 401 and "Votre session a expiré" in page.text
    assert portal.gate.calls == []


def test_a_session_expires_after_its_maximum_even_when_active(portal: Portal) -> None:
    browser = logged_in(portal)
    for _ in range(45):  # 45 x 800 s = 10 h
        portal.clock.now += 800
        assert "Commencer le travail" in browser.get("/").text
    portal.clock.now += 800
    assert "Votre session a expiré" in browser.get("/").text


def test_hostile_strings_are_escaped_in_pages_and_printable_in_log_lines(
    portal: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="portal_app")
    hostile = '<script>alert(1)</script>"\x1b[31m\nforged=line\u202e'
    page = portal.browser().login(hostile, "faux")
    assert page.status_code == 401
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "\x1b" not in page.text or 'value="&lt;script&gt;' in page.text
    lines = [r.getMessage() for r in caplog.records if "login-failed" in r.getMessage()]
    assert len(lines) == 1
    line = lines[0]
    assert "\x1b" not in line and "\n" not in line and "\u202e" not in line
    assert "\\x1b" in line and "\\u202e" in line and "reason=password" in line
    assert line.startswith('login-failed user="<script>')


def test_a_request_without_nginxs_address_is_refused(portal: Portal) -> None:
    client = portal.app.test_client()
    assert client.get("/", base_url="https://portal.test").status_code == 400
    answer = client.get("/", base_url="https://portal.test", headers={"X-Real-IP": "nonsense"})
    assert answer.status_code == 400


def test_an_unreachable_directory_is_said_and_not_counted(portal: Portal) -> None:
    portal.directory.down = True
    page = portal.browser().login(code=portal.code())
    assert page.status_code == 503 and "L'annuaire ne répond pas" in words(page)
    assert portal.store.failures("login:ag0001", 0) == []


def test_healthz_answers_ok_in_json(portal: Portal) -> None:
    answer = portal.app.test_client().get("/healthz")
    assert answer.status_code == 200 and answer.get_json() == {"ok": True}
    assert portal.app.test_client().get("/portal.css").mimetype == "text/css"
