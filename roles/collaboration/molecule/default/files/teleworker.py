"""What teleworkers (and strangers) get from the groupware, with real clients from the
controller through the ports published on 127.0.0.1: headless Chromium (Playwright) for
the web interface, PyPI's caldav for calendars, plain WebDAV requests for address books,
imaplib/smtplib against the mail server. Prints one JSON object of observations;
verify.yml asserts on them.

Two phases: ``--phase main`` does everything but the idle wait and leaves a logged-in
session and its cookies in ``--state``; ``--phase after`` (run once the session was idle
longer than the role's idle minutes, and B revoked in the directory) checks both."""

from __future__ import annotations

import argparse
import base64
import email
import email.message
import email.utils
import hashlib
import imaplib
import json
import smtplib
import socket
import ssl
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import caldav
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import sync_playwright

TIMEOUT = 20
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# SOGo serves a "browser not supported" page to clients it does not recognise.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
DAV_NS = "urn:inverse:params:xml:ns:inverse-dav"


def pin_name(name: str) -> None:
    """``name`` resolves to 127.0.0.1 in this process (the published port), so that TLS
    checks the certificate against the real service name."""
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == name else host, *args, **kwargs)

    socket.getaddrinfo = fake  # type: ignore[assignment]


def session(ca: str) -> requests.Session:
    s = requests.Session()
    s.verify = ca
    s.trust_env = False  # no REQUESTS_CA_BUNDLE or proxy from the environment
    s.headers["User-Agent"] = USER_AGENT
    return s


def web_login(base: str, ca: str, user: str, password: str) -> tuple[int, requests.Session]:
    s = session(ca)
    r = s.post(
        f"{base}/SOGo/connect",
        json={"userName": user, "password": password, "rememberLogin": 0},
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    return r.status_code, s


def logged_in(s: requests.Session, base: str, user: str) -> str:
    """ "app" when a page only a logged-in user gets is served, "login page" when SOGo
    answers with its login form instead (with status 200), else the status."""
    r = s.get(f"{base}/SOGo/so/{user}/Calendar/view", timeout=TIMEOUT, allow_redirects=False)
    if r.status_code != 200:
        return f"status {r.status_code}"
    return "login page" if "app.creds.username" in r.text else "app"


def dav(base: str, ca: str, user: str, password: str) -> requests.Session:
    s = session(ca)
    s.auth = (user, password)
    return s


def imap_wait(
    port: int, ca: str, *, user: str, password: str, needle: str, seconds: int = 120
) -> str | None:
    """The raw message of INBOX that contains ``needle``, waiting for its delivery."""
    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = False
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=context, timeout=TIMEOUT) as m:
            m.login(user, password)
            m.select("INBOX", readonly=True)
            _, data = m.search("UTF-8", "TEXT", needle.encode())
            for num in (data[0] or b"").split():
                _, parts = m.fetch(num, "(RFC822)")
                raw = parts[0][1] if parts and isinstance(parts[0], tuple) else b""
                return raw.decode("utf-8", errors="replace")
        time.sleep(3)
    return None


def send(
    port: int, ca: str, *, user: str, password: str, sender: str, to: str, subject: str, body: str
) -> None:
    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = False
    msg = email.message.EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = f"<{uuid.uuid4()}@test.invalid>"
    msg["Date"] = email.utils.formatdate()
    msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as s:
        s.starttls(context=context)
        s.login(user, password)
        s.send_message(msg)


def spki_hash(host: str, port: int, ca: str) -> str:
    """Base64 SHA-256 of the server key, for Chromium's pin (the chain is checked here)."""
    context = ssl.create_default_context(cafile=ca)
    with (
        socket.create_connection((host, port), timeout=TIMEOUT) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True) or b""
    key = x509.load_der_x509_certificate(der).public_key()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def browser_reads_mail(
    base: str, *, host: str, pin: str, user: str, password: str, subject: str, shot: str
) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    args = [
        *CHROMIUM_ARGS,
        f"--host-resolver-rules=MAP {host} 127.0.0.1",
        f"--ignore-certificate-errors-spki-list={pin}",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page(user_agent=USER_AGENT, locale="fr-FR")
            page.set_default_timeout(60_000)
            page.goto(f"{base}/SOGo/")
            seen["login_title"] = page.title()
            content = page.content()
            seen["languages_offered"] = [
                w for w in ("Français", "العربية", "Arabic", "French") if w in content
            ]
            page.fill("input[ng-model='app.creds.username']", user)
            page.fill("input[ng-model='app.creds.password']", password)
            page.press("input[ng-model='app.creds.password']", "Enter")
            page.wait_for_url("**/SOGo/so/**", timeout=60_000)
            page.goto(f"{base}/SOGo/so/{user}/Mail/view")
            row = page.locator(f"text={subject} >> visible=true").first
            row.wait_for(timeout=90_000)
            seen["listed"] = True
            # the list is an Angular virtual repeat under a ripple layer: a plain click
            # waits for a stable, unobscured target that never comes
            row.click(timeout=30_000, force=True)
            page.get_by_text("Bonjour Amina").first.wait_for(timeout=30_000)
            seen["mail_page"] = page.inner_text("body")[:4000]
            page.screenshot(path=shot, full_page=True)
        finally:
            browser.close()
    return seen


def event(uid: str, summary: str, start: datetime, organizer: str = "", attendee: str = "") -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//telework-toolkit//verify//FR",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{start.strftime('%Y%m%dT%H%M%SZ')}",
        f"DTEND:{(start + timedelta(hours=1)).strftime('%Y%m%dT%H%M%SZ')}",
        f"SUMMARY:{summary}",
    ]
    if organizer:
        lines.append(f"ORGANIZER:mailto:{organizer}")
        lines.append(f"ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:{organizer}")
    if attendee:
        lines.append(
            f"ATTENDEE;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:{attendee}"
        )
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def acl_query(s: requests.Session, url: str, body: str) -> int:
    r = s.request(
        "REPORT",
        url,
        data=f'<?xml version="1.0" encoding="utf-8"?>'
        f'<acl-query xmlns="{DAV_NS}">{body}</acl-query>'.encode(),
        headers={"Content-Type": "application/xml; charset=utf-8"},
        timeout=TIMEOUT,
    )
    return r.status_code


def main_phase(a: argparse.Namespace, pw: dict[str, str]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    base = f"https://{a.host}:{a.port}"
    tag = uuid.uuid4().hex[:8]
    user_a, user_b = a.user_a, a.user_b
    seen["session_a_login"], idle = web_login(base, a.ca, user_a, pw[user_a])
    seen["session_a_fresh"] = logged_in(idle, base, user_a)
    Path(a.state).write_text(json.dumps({"cookies": idle.cookies.get_dict(), "since": time.time()}))

    # HTTP redirects, discovery.
    plain = requests.get(
        f"http://127.0.0.1:{a.http_port}/SOGo/", allow_redirects=False, timeout=TIMEOUT
    )
    seen["http_redirect"] = [plain.status_code, plain.headers.get("Location", "")]
    anon = session(a.ca)
    for what in ("caldav", "carddav"):
        r = anon.get(f"{base}/.well-known/{what}", allow_redirects=False, timeout=TIMEOUT)
        seen[f"well_known_{what}"] = [r.status_code, r.headers.get("Location", "")]
    seen["hsts"] = anon.get(f"{base}/SOGo/", timeout=TIMEOUT).headers.get(
        "Strict-Transport-Security", ""
    )
    seen["admin_page"] = anon.get(
        f"{base}/SOGo/so/{user_a}/Administration", allow_redirects=False, timeout=TIMEOUT
    ).status_code

    # B writes to A; A reads it in the browser (webmail over the mail server's IMAPS).
    subject = f"Note de service {tag}"
    send(
        a.smtp_port,
        a.ca,
        user=a.user_b_mail,
        password=pw[user_b],
        sender=a.user_b_mail,
        to=a.user_a_mail,
        subject=subject,
        body="Bonjour Amina, le rapport est prêt.",
    )
    seen["delivered_to_a"] = (
        imap_wait(a.imap_port, a.ca, user=user_a, password=pw[user_a], needle=tag) is not None
    )
    seen["browser"] = browser_reads_mail(
        base,
        host=a.host,
        pin=spki_hash(a.host, a.port, a.ca),
        user=user_a,
        password=pw[user_a],
        subject=subject,
        shot=a.screenshot,
    )

    seen.update(calendars(a, pw, base, tag))
    seen.update(cards_and_refusals(a, pw, base, tag))
    return seen


def calendars(a: argparse.Namespace, pw: dict[str, str], base: str, tag: str) -> dict[str, Any]:
    """CalDAV: A creates an event, B cannot read it until A shares the calendar; A invites B."""
    seen: dict[str, Any] = {}
    user_a, user_b = a.user_a, a.user_b
    client_a = caldav.DAVClient(
        url=f"{base}/SOGo/dav/", username=user_a, password=pw[user_a], ssl_verify_cert=a.ca
    )
    calendar = client_a.principal().calendars()[0]
    start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=2)
    shared_uid = f"partage-{tag}"
    calendar.save_event(event(shared_uid, f"Point d'équipe {tag}", start))
    seen["a_reads_own_event"] = f"Point d'équipe {tag}" in calendar.event_by_uid(shared_uid).data
    cal_url = str(calendar.url)
    seen["calendar_url"] = cal_url
    b_dav = dav(base, a.ca, user_b, pw[user_b])
    a_dav = dav(base, a.ca, user_a, pw[user_a])
    # a share left by an earlier verify run on the same containers is taken back first
    seen["unshare_before"] = acl_query(a_dav, cal_url, f'<remove-user user="{user_b}"/>')
    seen["b_before_share"] = b_dav.get(f"{cal_url}{shared_uid}.ics", timeout=TIMEOUT).status_code
    seen["share_add"] = acl_query(a_dav, cal_url, f'<add-user user="{user_b}"/>')
    seen["share_roles"] = acl_query(
        a_dav,
        cal_url,
        f'<set-roles user="{user_b}"><PublicViewer/><ConfidentialViewer/>'
        f"<PrivateViewer/></set-roles>",
    )
    client_b = caldav.DAVClient(
        url=f"{base}/SOGo/dav/", username=user_b, password=pw[user_b], ssl_verify_cert=a.ca
    )
    shared = client_b.calendar(url=cal_url)
    seen["b_sees_shared_event"] = f"Point d'équipe {tag}" in shared.event_by_uid(shared_uid).data

    # An invitation: A invites B; SOGo mails it as iMIP through the mail server.
    invite_uid = f"invitation-{tag}"
    calendar.save_event(
        event(
            invite_uid,
            f"Réunion budget {tag}",
            start + timedelta(hours=3),
            organizer=a.user_a_mail,
            attendee=a.user_b_mail,
        )
    )
    raw = imap_wait(a.imap_port, a.ca, user=user_b, password=pw[user_b], needle=invite_uid)
    seen["invitation_received"] = raw is not None
    if raw:
        msg = email.message_from_string(raw)
        parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
        seen["invitation_method"] = parts[0].get_param("method") if parts else None
        payload = parts[0].get_payload(decode=True) if parts else b""
        seen["invitation_has_uid"] = invite_uid.encode() in (payload or b"")

    return seen


def cards_and_refusals(
    a: argparse.Namespace, pw: dict[str, str], base: str, tag: str
) -> dict[str, Any]:
    """CardDAV: a card with an Arabic name round-trips; the directory's address books
    answer. Then wrong passwords and the revoked teleworker."""
    seen: dict[str, Any] = {}
    user_a = a.user_a
    a_dav = dav(base, a.ca, user_a, pw[user_a])
    card_uid = f"contact-{tag}"
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
        f"UID:{card_uid}\r\nFN:سعاد الفاسي\r\nN:الفاسي;سعاد;;;\r\n"
        "EMAIL;TYPE=work:souad.elfassi@example.invalid\r\nEND:VCARD\r\n"
    )
    book = f"{base}/SOGo/dav/{user_a}/Contacts/personal/{card_uid}.vcf"
    put = a_dav.put(
        book,
        data=card.encode(),
        headers={"Content-Type": "text/vcard; charset=utf-8"},
        timeout=TIMEOUT,
    )
    got = a_dav.get(book, timeout=TIMEOUT)
    seen["vcard_put"] = put.status_code
    seen["vcard_round_trip"] = "FN:سعاد الفاسي" in got.content.decode("utf-8", errors="replace")
    books = a_dav.request(
        "PROPFIND", f"{base}/SOGo/dav/{user_a}/Contacts/", headers={"Depth": "1"}, timeout=TIMEOUT
    )
    seen["address_books"] = books.content.decode("utf-8", errors="replace").count("<D:href>")
    seen["address_books_listing"] = books.text.split("<D:href>")[1:11]
    unit = a_dav.request(
        "REPORT",
        f"{base}/SOGo/dav/{user_a}/Contacts/unit-finance/",
        data=(
            b'<?xml version="1.0"?><C:addressbook-query xmlns:D="DAV:" '
            b'xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data/></D:prop>'
            b'<C:filter><C:prop-filter name="FN"><C:text-match collation="i;unicode-casemap" '
            b'match-type="contains">Youssef</C:text-match></C:prop-filter></C:filter>'
            b"</C:addressbook-query>"
        ),
        headers={"Depth": "1", "Content-Type": "application/xml"},
        timeout=TIMEOUT,
    )
    seen["unit_book"] = [unit.status_code, a.user_b_mail in unit.text]

    # Refusals: a wrong password, a revoked teleworker, on the web and over DAV.
    seen["wrong_password_web"] = web_login(base, a.ca, user_a, "pas-le-bon-mot-de-passe")[0]
    seen["wrong_password_dav"] = (
        dav(base, a.ca, user_a, "pas-le-bon")
        .request("PROPFIND", f"{base}/SOGo/dav/{user_a}/", headers={"Depth": "0"}, timeout=TIMEOUT)
        .status_code
    )
    seen["revoked_web"] = web_login(base, a.ca, a.revoked, a.revoked_password)[0]
    seen["revoked_dav"] = (
        dav(base, a.ca, a.revoked, a.revoked_password)
        .request(
            "PROPFIND", f"{base}/SOGo/dav/{a.revoked}/", headers={"Depth": "0"}, timeout=TIMEOUT
        )
        .status_code
    )
    return seen


def after_phase(a: argparse.Namespace, pw: dict[str, str]) -> dict[str, Any]:
    """Once the session was idle and B was revoked in the directory."""
    seen: dict[str, Any] = {}
    base = f"https://{a.host}:{a.port}"
    state = json.loads(Path(a.state).read_text())
    seen["idle_seconds"] = round(time.time() - state["since"])
    idle = session(a.ca)
    idle.cookies.update(state["cookies"])
    seen["idle_session"] = logged_in(idle, base, a.user_a)
    seen["a_logs_in_again"] = web_login(base, a.ca, a.user_a, pw[a.user_a])[0]
    seen["b_revoked_web"] = web_login(base, a.ca, a.user_b, pw[a.user_b])[0]
    seen["b_revoked_dav"] = (
        dav(base, a.ca, a.user_b, pw[a.user_b])
        .request(
            "PROPFIND", f"{base}/SOGo/dav/{a.user_b}/", headers={"Depth": "0"}, timeout=TIMEOUT
        )
        .status_code
    )
    # Throttling (WEB-05): after the allowed failures, even the right password is refused.
    failures = [web_login(base, a.ca, a.probe, "faux")[0] for _ in range(a.failures + 1)]
    seen["throttle_failures"] = failures
    seen["throttle_then_right_password"] = web_login(
        base, a.ca, a.probe, Path(a.probe_password).read_text().strip()
    )[0]
    return seen


def main() -> None:
    ap = argparse.ArgumentParser()
    for name in (
        "phase",
        "host",
        "ca",
        "passwords",
        "user-a",
        "user-b",
        "user-a-mail",
        "user-b-mail",
        "revoked",
        "revoked-password",
        "state",
        "screenshot",
        "probe",
        "probe-password",
    ):
        ap.add_argument(f"--{name}", default="")
    for name in ("port", "http-port", "imap-port", "smtp-port", "failures"):
        ap.add_argument(f"--{name}", type=int, default=0)
    a = ap.parse_args()
    pin_name(a.host)
    pw = json.loads(Path(a.passwords).read_text())
    seen = main_phase(a, pw) if a.phase == "main" else after_phase(a, pw)
    print(json.dumps(seen, ensure_ascii=False))


if __name__ == "__main__":
    main()
