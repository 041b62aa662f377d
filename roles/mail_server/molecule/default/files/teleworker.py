"""What teleworkers (and strangers) get from the mail server, with Python's own mail
clients, from the controller through the ports published on 127.0.0.1. Prints one JSON
object of observations; verify.yml asserts on them."""

from __future__ import annotations

import argparse
import base64
import email.message
import email.utils
import http.client
import imaplib
import json
import smtplib
import ssl
import time
import uuid
from pathlib import Path
from typing import Any

import dkim
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone

from toolkit.audit.catalogue import load_catalogue
from toolkit.audit.context import Context
from toolkit.audit.registry import implementations
from toolkit.controls.mail import judge_mta_sts
from toolkit.mail.samples import EICAR, macro_document
from toolkit.paths import project_root

TIMEOUT = 20


def tls_context(ca: str) -> ssl.SSLContext:
    """Verifies the chain against the internal CA; the name is checked by ``names``
    (the clients connect to 127.0.0.1)."""
    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = False
    return context


def names(sock: ssl.SSLSocket) -> list[str]:
    cert = sock.getpeercert() or {}
    return [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]


def message(
    sender: str, to: str, subject: str, attachment: tuple[str, bytes] | None = None
) -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = f"<{uuid.uuid4()}@test.invalid>"
    msg["Date"] = email.utils.formatdate()
    msg.set_content(f"{subject}\n")
    if attachment:
        msg.add_attachment(
            attachment[1], maintype="application", subtype="octet-stream", filename=attachment[0]
        )
    return msg


def from_outside(port: int, msg: email.message.EmailMessage) -> str:
    """Submit on the MX port without authentication; the server's answer."""
    with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as s:
        s.ehlo("outside.example.invalid")
        try:
            s.send_message(msg)
        except smtplib.SMTPDataError as exc:
            return f"{exc.smtp_code} {exc.smtp_error.decode()}"
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return f"{code} {text.decode()}"
    return "250 accepted"


def zone_txt(zone: dns.zone.Zone):  # type: ignore[no-untyped-def]
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        node = zone.get_node(dns.name.from_text(name.decode()))
        rdataset = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.TXT) if node else None
        return b"".join(rdataset[0].strings) if rdataset else None

    return lookup


def main() -> None:  # noqa: PLR0915 (one story, told in order)
    parser = argparse.ArgumentParser()
    parser.add_argument("--ca", required=True)
    parser.add_argument("--zone", required=True)
    parser.add_argument("--domain", required=True)
    parser.add_argument("--mx", required=True)
    parser.add_argument("--sender", required=True, help="login (uid) of A")
    parser.add_argument("--sender-address", required=True)
    parser.add_argument("--reader", required=True, help="address of B (also the IMAP login)")
    parser.add_argument("--passwords", required=True, help="JSON file: login -> password")
    parser.add_argument("--revoked", required=True)
    parser.add_argument("--probe-password", required=True, help="file: the probe's password")
    args = parser.parse_args()
    passwords = json.loads(Path(args.passwords).read_text())
    ctx = tls_context(args.ca)
    seen: dict[str, Any] = {}

    # Submission on 587: no AUTH before STARTTLS, then a signed message from A to B.
    with smtplib.SMTP("127.0.0.1", 42587, timeout=TIMEOUT) as s:
        s.ehlo("laptop.example.invalid")
        seen["auth_offered_before_tls"] = s.has_extn("auth")
        seen["starttls_offered"] = s.has_extn("starttls")
        plain = base64.b64encode(f"\0{args.sender}\0{passwords[args.sender]}".encode()).decode()
        seen["auth_before_tls"] = s.docmd("AUTH", f"PLAIN {plain}")[0]
        seen["mail_before_tls"] = s.docmd("MAIL", f"FROM:<{args.sender_address}>")[0]
    with smtplib.SMTP("127.0.0.1", 42587, timeout=TIMEOUT) as s:
        s.starttls(context=ctx)
        seen["submission_tls"] = s.sock.version()  # type: ignore[union-attr]
        seen["submission_names"] = names(s.sock)  # type: ignore[arg-type]
        s.ehlo("laptop.example.invalid")
        s.login(args.sender, passwords[args.sender])
        sent = message(args.sender_address, args.reader, "Rapport hebdomadaire")
        s.send_message(sent)
        try:
            s.send_message(message(args.reader, args.sender_address, "Usurpation"))
            seen["spoofed_sender"] = "250 accepted"
        except smtplib.SMTPSenderRefused as exc:
            seen["spoofed_sender"] = f"{exc.smtp_code} {exc.smtp_error.decode()}"
        except smtplib.SMTPRecipientsRefused as exc:  # Postfix refuses it at RCPT
            code, text = next(iter(exc.recipients.values()))
            seen["spoofed_sender"] = f"{code} {text.decode()}"
    # Implicit TLS on 465.
    with smtplib.SMTP_SSL("127.0.0.1", 42465, timeout=TIMEOUT, context=ctx) as s:
        s.ehlo("laptop.example.invalid")
        seen["submissions_tls"] = s.sock.version()  # type: ignore[union-attr]
        seen["submissions_auth"] = s.has_extn("auth")
    # The MX from outside: relaying refused, the revoked user has no mailbox, no AUTH.
    with smtplib.SMTP("127.0.0.1", 42525, timeout=TIMEOUT) as s:
        s.ehlo("outside.example.invalid")
        seen["mx_starttls_offered"] = s.has_extn("starttls")
        s.starttls(context=ctx)
        seen["mx_tls"] = s.sock.version()  # type: ignore[union-attr]
        s.ehlo("outside.example.invalid")
        seen["mx_auth_offered"] = s.has_extn("auth")
        s.mail("someone@example.invalid")
        seen["relay"] = " ".join(str(x) for x in s.rcpt("victim@example.net"))
        seen["revoked"] = " ".join(str(x) for x in s.rcpt(args.revoked))
        s.rset()
    seen["clean_from_outside"] = from_outside(
        42525, message("partner@example.invalid", args.reader, "Bonjour")
    )
    seen["eicar"] = from_outside(
        42525,
        message("partner@example.invalid", args.reader, "Facture EICAR", ("facture.txt", EICAR)),
    )
    # A Word document with a real VBA macro (AutoOpen): named .docm (the name is refused),
    # and named .docx (only its content gives it away: ClamAV's macro heuristics).
    seen["docm"] = from_outside(
        42525,
        message(
            "partner@example.invalid",
            args.reader,
            "Facture macro",
            ("facture.docm", macro_document()),
        ),
    )
    seen["macro_docx"] = from_outside(
        42525,
        message(
            "partner@example.invalid",
            args.reader,
            "Rapport macro",
            ("rapport.docx", macro_document()),
        ),
    )

    # B reads over IMAPS: the message from A is there, signed; the bad ones are nowhere.
    zone = dns.zone.from_file(args.zone, origin=args.domain, relativize=False, check_origin=False)
    with imaplib.IMAP4_SSL("127.0.0.1", 42993, ssl_context=ctx, timeout=TIMEOUT) as imap:
        seen["imaps_tls"] = imap.sock.version()  # type: ignore[attr-defined]
        seen["imaps_names"] = names(imap.sock)  # type: ignore[arg-type]
        imap.login(args.reader, passwords[args.reader])
        raw = b""
        for _ in range(30):
            imap.select("INBOX", readonly=True)
            _, ids = imap.search(None, "HEADER", "Message-ID", sent["Message-ID"])
            if ids[0]:
                _, data = imap.fetch(ids[0].split()[0], "(RFC822)")
                raw = data[0][1]  # type: ignore[index]
                break
            time.sleep(1)
        seen["delivered"] = bool(raw)
        seen["dkim_signature"] = b"DKIM-Signature:" in raw
        seen["dkim_verifies"] = bool(raw) and dkim.verify(raw, dnsfunc=zone_txt(zone))
        found = []
        for box in ("INBOX", "Junk"):
            imap.select(box, readonly=True)
            for subject in ("Facture EICAR", "Facture macro", "Rapport macro", "Bonjour"):
                _, ids = imap.search(None, "SUBJECT", f'"{subject}"')
                if ids[0]:
                    found.append(f"{box}:{subject}")
        seen["found"] = found
    # MTA-STS policy and autoconfig over HTTPS.
    for key, host, path in (
        ("mta_sts", f"mta-sts.{args.domain}", "/.well-known/mta-sts.txt"),
        ("autoconfig", f"autoconfig.{args.domain}", "/mail/config-v1.1.xml"),
    ):
        conn = http.client.HTTPSConnection("127.0.0.1", 42443, timeout=TIMEOUT, context=ctx)
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        seen[key] = f"{response.status} {response.read().decode()}"
        conn.close()
    # The policy as MAIL-04 reads it (CRLF lines, RFC 8461 3.2).
    seen["mta_sts_problems"] = judge_mta_sts(seen["mta_sts"].split(" ", 1)[1], [args.mx])
    seen["audit"] = audit(args)
    print(json.dumps(seen, indent=1))


def audit(args: argparse.Namespace) -> dict[str, str]:
    """MAIL-10 and MAIL-11 of `toolkit audit`, with the directory's probe mailbox, on the
    published ports: "status: summary" of each."""
    impls = implementations()
    catalogue = load_catalogue(project_root() / "audits", frozenset(impls))
    ctx = Context(
        name="mail-server", address="127.0.0.1", ssh_address="127.0.0.1", ssh_port=22,
        tls_ports=(), http_ports=(), probe_timeout=TIMEOUT, ca_file=args.ca,
        server_name=args.mx,
    )  # fmt: skip
    probe = {
        "login": "audit-probe",
        "address": f"audit-probe@{args.domain}",
        "password_path": args.probe_password,
        "imaps_port": 42993,
    }
    over = {
        "MAIL-10": {**probe, "port": 42525},
        "MAIL-11": {
            **probe,
            "submission_port": 42587,
            "domain": args.domain,
            "zone_file": args.zone,
        },
    }
    results = {}
    for cid, params in over.items():
        outcome = impls[cid].check(ctx, {**catalogue.controls[cid].spec.params, **params})
        results[cid] = f"{outcome.status.value}: {outcome.summary}"
    return results


if __name__ == "__main__":
    main()
