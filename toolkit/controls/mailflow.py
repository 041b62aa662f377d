"""Mail as a teleworker uses it: MAIL-10 and MAIL-11 (docs/controls.md).

These controls send real messages, so they need a mailbox of their own: the directory
role's probe account (``directory_probe_accounts``: ``audit-probe``, a member of
``teleworkers`` only, its password on the control node). Parameters: ``login``,
``address``, ``password_path`` (relative to the inventory folder). Every message carries a
random token in ``X-Telework-Audit``; the controls find their messages by it and delete
them afterwards, so a mailbox is left as it was. The probe's password is sent only over
TLS to a server whose certificate is of the target's CA and valid for
``audit_server_name`` (toolkit.controls.tls): a certificate of the same CA issued to
another name is refused before LOGIN or AUTH.

- MAIL-11 submits a message on 587 after STARTTLS with the probe's password, reads it back
  over IMAPS and verifies its DKIM signature against the published key (the DNS, or the
  zone snippet of ``zone_file``, as MAIL-01..06 read it).
- MAIL-10 sends, from outside (the MX port, no authentication, like a phishing mail), an
  EICAR attachment, a Word document with a VBA macro named ``.docx`` (content must be
  recognised, not only the name) and the same as ``.docm``, then a clean message. Each bad
  one must be refused at SMTP or, once the clean one has arrived, be in no folder of the
  mailbox (quarantined). A server that refuses the clean message too cannot be judged.
"""

from __future__ import annotations

import email
import imaplib
import logging
import re
import secrets
import smtplib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import dkim
import dkim.util

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params
from toolkit.audit.registry import control
from toolkit.controls import tls
from toolkit.controls.mail import Lookup, records
from toolkit.errors import ToolkitError
from toolkit.mail.samples import EICAR, macro_document
from toolkit.secrets import read_secret

log = logging.getLogger(__name__)

HEADER = "X-Telework-Audit"
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Probe:
    """The mailbox the controls use, from the parameters."""

    login: str
    address: str
    password: str


def probe_account(p: Params) -> Probe:
    login, address = str(p.get("login") or ""), str(p.get("address") or "")
    path = str(p.get("password_path") or "")
    if not (login and address and path):
        raise ControlError(
            "set the parameters login, address and password_path (audit_params) to a probe "
            "mailbox (role directory: directory_probe_accounts)"
        )
    return Probe(login, address, probe_password(login, path))


def probe_password(login: str, path: str) -> str:
    """The password of the probe account ``login``, read from ``path`` (MAIL-10, MAIL-11,
    VC-06); ControlError when it cannot be read or is empty."""
    try:  # the file may be vault-encrypted (toolkit/secrets.py)
        password = read_secret(Path(path)).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError, ToolkitError) as exc:
        raise ControlError(f"password of the probe account {login}: {exc}") from exc
    if not password:
        raise ControlError(f"password of the probe account {login}: {path} is empty")
    return password


def test_message(sender: str, recipient: str, subject: str, token: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, recipient, subject
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg[HEADER] = token
    msg.set_content(
        "Message de contrôle de telework-toolkit (audit). Il est supprimé automatiquement.\n"
    )
    return msg


def _smtp_answer(exc: smtplib.SMTPException) -> tuple[int, str]:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return code, text.decode(errors="replace")
    if isinstance(exc, smtplib.SMTPResponseException):
        raw = exc.smtp_error
        return exc.smtp_code, raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    raise exc


def deliver(ctx: Context, port: int, msg: EmailMessage, helo: str) -> tuple[int, str]:
    """Send on the MX port after STARTTLS, without authentication; the server's answer."""
    try:
        with smtplib.SMTP(ctx.address, port, timeout=ctx.probe_timeout) as smtp:
            smtp.ehlo(helo)
            tls.starttls(smtp, tls.service_name(ctx), tls.verifying_context(ctx.ca_file))
            smtp.ehlo(helo)
            try:
                smtp.send_message(msg)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
                return _smtp_answer(exc)
    except (OSError, smtplib.SMTPException) as exc:
        raise ControlError(f"SMTP {ctx.address}:{port}: {exc}") from exc
    return 250, "accepted"


def submit(ctx: Context, port: int, probe: Probe, msg: EmailMessage) -> None:
    """Submit as the probe on 587: STARTTLS, then AUTH with its password."""
    try:
        with smtplib.SMTP(ctx.address, port, timeout=ctx.probe_timeout) as smtp:
            smtp.ehlo("audit.invalid")
            # the certificate proves the server's name before the password is sent
            tls.starttls(smtp, tls.service_name(ctx), tls.verifying_context(ctx.ca_file))
            smtp.ehlo("audit.invalid")
            smtp.login(probe.login, probe.password)
            smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise ControlError(
            f"submission {ctx.address}:{port}: the probe account {probe.login} cannot log in "
            f"({exc.smtp_code})"
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise ControlError(f"submission {ctx.address}:{port}: {exc}") from exc


class Mailbox:
    """The probe's mailbox over IMAPS: find messages by token, in every folder."""

    def __init__(self, imap: imaplib.IMAP4) -> None:
        self.imap = imap

    def folders(self) -> list[str]:
        status, listing = self.imap.list()
        if status != "OK":
            raise ControlError(f"IMAP LIST: {status}")
        names = []
        for raw in listing:
            line = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
            if "\\Noselect" in line:
                continue
            match = re.search(r'(?:"([^"]*)"|(\S+))$', line)
            if match:
                names.append(match.group(1) or match.group(2))
        return names

    def find(self, token: str, folders: list[str] | None = None) -> dict[str, list[bytes]]:
        """Folder to message numbers of the messages carrying ``token``."""
        found: dict[str, list[bytes]] = {}
        for folder in folders or self.folders():
            status, _ = self.imap.select(f'"{folder}"', readonly=True)
            if status != "OK":
                continue
            _, ids = self.imap.search(None, "HEADER", HEADER, token)
            if ids and ids[0]:
                found[folder] = ids[0].split()
        return found

    def wait(self, token: str, seconds: float) -> tuple[str, bytes] | None:
        """Poll INBOX until the message with ``token`` is there: (folder, its number)."""
        deadline = time.monotonic() + seconds
        while True:
            hits = self.find(token, ["INBOX"])
            if hits:
                return "INBOX", hits["INBOX"][0]
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_SECONDS)

    def fetch(self, folder: str, number: bytes) -> bytes:
        self.imap.select(f'"{folder}"', readonly=True)
        _, data = self.imap.fetch(number.decode(), "(BODY.PEEK[])")
        for part in data:
            if isinstance(part, tuple):
                return bytes(part[1])
        raise ControlError(f"IMAP FETCH {folder} {number.decode()}: no message body")

    def delete(self, tokens: list[str]) -> int:
        """Delete every message carrying one of ``tokens``; how many."""
        removed = 0
        for folder in self.folders():
            if self.imap.select(f'"{folder}"')[0] != "OK":
                continue
            for token in tokens:
                _, ids = self.imap.search(None, "HEADER", HEADER, token)
                for number in ids[0].split() if ids and ids[0] else []:
                    self.imap.store(number.decode(), "+FLAGS", "\\Deleted")
                    removed += 1
            self.imap.expunge()
        return removed


@contextmanager
def mailbox(ctx: Context, probe: Probe, port: int = 993) -> Iterator[Mailbox]:
    try:
        with tls.IMAPS(
            ctx.address,
            port,
            server_name=tls.service_name(ctx),
            context=tls.verifying_context(ctx.ca_file),
            timeout=ctx.probe_timeout,
        ) as imap:
            try:
                imap.login(probe.login, probe.password)
            except imaplib.IMAP4.error as exc:
                raise ControlError(
                    f"IMAPS {ctx.address}:{port}: the probe account {probe.login} cannot log in "
                    f"({exc})"
                ) from exc
            yield Mailbox(imap)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ControlError(f"IMAPS {ctx.address}:{port}: {exc}") from exc


def dkim_dnsfunc(lookup: Lookup) -> Callable[..., bytes | None]:
    """dkimpy's DNS callback, answered from the same records MAIL-01..06 read."""

    def txt(name: bytes, timeout: int = 5) -> bytes | None:
        found = lookup(name.decode().rstrip("."), "TXT")
        return found[0].encode() if found else None

    return txt


def dkim_verdict(raw: bytes, domain: str, lookup: Lookup) -> tuple[bool, str]:
    """Whether ``raw`` carries a DKIM signature of ``domain`` that verifies; and what was seen."""
    header = email.message_from_bytes(raw).get("DKIM-Signature")
    if header is None:
        return False, "no DKIM-Signature header"
    try:
        tags = {
            k.decode(): v.decode(errors="replace")
            for k, v in dkim.util.parse_tag_value(re.sub(r"\s+", "", str(header)).encode()).items()
        }
    except dkim.util.InvalidTagValueList as exc:
        return False, f"DKIM-Signature cannot be read: {exc}"
    seen = f"d={tags.get('d', '?')} s={tags.get('s', '?')} a={tags.get('a', '?')}"
    try:
        valid = dkim.DKIM(raw).verify(dnsfunc=dkim_dnsfunc(lookup))
    except dkim.DKIMException as exc:
        return False, f"{seen}: {exc}"
    if tags.get("d", "").lower() != domain.lower():
        return False, f"{seen}: signed for another domain than {domain}"
    return bool(valid), f"{seen}: {'pass' if valid else 'fail'}"


@control("MAIL-11", needs_ssh=False)
def end_to_end(ctx: Context, p: Params) -> Outcome:
    """A message submitted on 587 as the probe arrives in its inbox over IMAPS, DKIM pass."""
    probe = probe_account(p)
    domain, lookup = records(ctx, p)
    token = secrets.token_hex(16)
    msg = test_message(probe.address, probe.address, f"Contrôle MAIL-11 {token[:8]}", token)
    with mailbox(ctx, probe, int(p["imaps_port"])) as box:
        try:
            began = time.monotonic()
            submit(ctx, int(p["submission_port"]), probe, msg)
            arrived = box.wait(token, float(p["delivery_timeout"]))
            took = time.monotonic() - began
            if arrived is None:
                return Outcome.failed(
                    f"a message submitted as {probe.login} did not reach its inbox in "
                    f"{p['delivery_timeout']} s"
                )
            raw = box.fetch(*arrived)
        finally:
            box.delete([token])
    valid, seen = dkim_verdict(raw, domain, lookup)
    ctx.note(f"message {msg['Message-ID']} as {probe.login}", f"delivered in {took:.1f} s; {seen}")
    if not valid:
        return Outcome.failed(f"delivered in {took:.1f} s, but DKIM does not pass ({seen})")
    return Outcome.passed(f"sent as {probe.login}, read over IMAPS in {took:.1f} s, DKIM {seen}")


@dataclass
class Sample:
    label: str
    filename: str
    content: bytes
    token: str = ""
    answer: tuple[int, str] = (0, "")


def samples() -> list[Sample]:
    document = macro_document()
    return [
        Sample("EICAR test file", "facture.txt", EICAR),
        Sample("Word document with a VBA macro named .docx", "rapport.docx", document),
        Sample("Word document with a VBA macro (.docm)", "rapport.docm", document),
    ]


@control("MAIL-10", needs_ssh=False)
def hostile_attachments(ctx: Context, p: Params) -> Outcome:
    """EICAR and macro documents sent from outside are refused or quarantined, a clean
    message sent after them arrives."""
    probe = probe_account(p)
    port, sender = int(p["port"]), str(p["probe_sender"])
    sent = samples()
    for sample in sent:
        sample.token = secrets.token_hex(16)
        msg = test_message(sender, probe.address, f"Facture {sample.token[:8]}", sample.token)
        msg.add_attachment(
            sample.content, maintype="application", subtype="octet-stream", filename=sample.filename
        )
        sample.answer = deliver(ctx, port, msg, "partner.example.invalid")
    clean = secrets.token_hex(16)
    answer = deliver(
        ctx, port, test_message(sender, probe.address, "Contrôle MAIL-10", clean),
        "partner.example.invalid",
    )  # fmt: skip
    ctx.note(
        f"SMTP {ctx.address}:{port} from {sender}",
        "\n".join(f"{s.filename}: {s.answer[0]} {s.answer[1]}" for s in sent)
        + f"\nclean message: {answer[0]} {answer[1]}",
    )
    if answer[0] != 250:
        raise ControlError(f"a clean message from outside is refused too ({answer[0]} {answer[1]})")
    problems, verdicts = [], []
    with mailbox(ctx, probe, int(p["imaps_port"])) as box:
        try:
            if box.wait(clean, float(p["delivery_timeout"])) is None:
                raise ControlError(
                    f"the clean message did not arrive in {p['delivery_timeout']} s: cannot "
                    "tell quarantined messages from slow ones"
                )
            folders = box.folders()
            for sample in sent:
                code, text = sample.answer
                if 500 <= code < 600:
                    verdicts.append(f"{sample.filename}: refused ({code})")
                    continue
                if code != 250:
                    problems.append(
                        f"{sample.label}: answered {code} {text} (neither refused nor taken)"
                    )
                    continue
                found = box.find(sample.token, folders)
                if found:
                    problems.append(f"{sample.label} reached the mailbox ({', '.join(found)})")
                else:
                    verdicts.append(f"{sample.filename}: accepted, then kept out of the mailbox")
        finally:
            box.delete([clean, *(s.token for s in sent)])
    ctx.note("verdicts", "\n".join(verdicts + problems))
    return Outcome.of(problems, "; ".join(verdicts))
