"""MAIL-10 and MAIL-11 judged on a fake server (no network): what the mail server answers
and what lands in the probe's mailbox decide the outcome. The real server is exercised
by the mail_server Molecule scenario and the lab audit."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from tests.audit.conftest import fake_context, params
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, Outcome, Status
from toolkit.audit.registry import implementations
from toolkit.controls import mailflow
from toolkit.controls.mail import _zone_lookup

IMPL = implementations()
DOMAIN = "lab.telework.test"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def zone_file(tmp_path: Path, domain: str = DOMAIN) -> str:
    public = (
        "p="
        + base64.b64encode(
            KEY.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        ).decode()
    )
    chunks = " ".join(f'"{public[i : i + 200]}"' for i in range(0, len(public), 200))
    path = tmp_path / f"{domain}.zone"
    path.write_text(
        f"$ORIGIN {domain}.\n$TTL 3600\n@ IN MX 10 mail.{domain}.\n"
        f'telework._domainkey IN TXT ( "v=DKIM1; k=rsa; " {chunks} )\n'
    )
    return str(path)


def signed(msg: EmailMessage, domain: str = DOMAIN) -> bytes:
    pem = KEY.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    raw = msg.as_bytes().replace(b"\n", b"\r\n")
    signature: bytes = dkim.sign(
        raw, b"telework", domain.encode(), pem, include_headers=[b"from", b"to", b"subject"]
    )
    return signature + raw


class FakeMailbox:
    """The probe's mailbox: folder name to raw messages."""

    def __init__(self) -> None:
        self.folders_: dict[str, list[bytes]] = {"INBOX": [], "Junk": [], "Sent": []}
        self.deleted: list[str] = []

    def put(self, folder: str, raw: bytes) -> None:
        self.folders_[folder].append(raw)

    def folders(self) -> list[str]:
        return list(self.folders_)

    def find(self, token: str, folders: list[str] | None = None) -> dict[str, list[bytes]]:
        found: dict[str, list[bytes]] = {}
        for folder in folders or self.folders():
            hits = [
                str(i + 1).encode()
                for i, raw in enumerate(self.folders_[folder])
                if token.encode() in raw
            ]
            if hits:
                found[folder] = hits
        return found

    def wait(self, token: str, seconds: float) -> tuple[str, bytes] | None:
        hits = self.find(token, ["INBOX"])
        return ("INBOX", hits["INBOX"][0]) if hits else None

    def fetch(self, folder: str, number: bytes) -> bytes:
        return self.folders_[folder][int(number) - 1]

    def delete(self, tokens: list[str]) -> int:
        self.deleted += tokens
        return 0


class Server:
    """What the fake mail server does with each message: by attachment file name, a code
    and where an accepted message goes (a folder, or None: quarantined)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, **rules: tuple[int, str | None]) -> None:
        self.box = FakeMailbox()
        self.rules = rules
        self.sign_for = DOMAIN
        self.submissions = 0
        monkeypatch.setattr(mailflow, "deliver", self.deliver)
        monkeypatch.setattr(mailflow, "submit", self.submit)
        monkeypatch.setattr(mailflow, "mailbox", self.mailbox)

    def deliver(self, ctx: Any, port: int, msg: EmailMessage, helo: str) -> tuple[int, str]:
        names = [part.get_filename() or "" for part in msg.iter_attachments()]
        code, folder = self.rules.get(
            names[0].replace(".", "_") if names else "clean", (250, "INBOX")
        )
        if code == 250 and folder:
            self.box.put(folder, msg.as_bytes())
        return code, "answer"

    def submit(self, ctx: Any, port: int, probe: mailflow.Probe, msg: EmailMessage) -> None:
        self.submissions += 1
        self.box.put("INBOX", signed(msg, self.sign_for))

    @contextmanager
    def mailbox(self, ctx: Any, probe: mailflow.Probe, port: int = 993) -> Iterator[FakeMailbox]:
        yield self.box


def run(catalogue: Catalogue, cid: str, tmp_path: Path, **over: Any) -> Outcome:
    secret = tmp_path / "audit-probe.password"
    secret.write_text("x" * 40 + "\n")
    p = params(
        catalogue,
        cid,
        login="audit-probe",
        address=f"audit-probe@{DOMAIN}",
        password_path=str(secret),
        **over,
    )
    return IMPL[cid].check(fake_context({}), p)


def test_refused_or_quarantined_attachments_pass_mail_10(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Server(
        monkeypatch,
        facture_txt=(554, None),
        rapport_docx=(250, None),  # accepted, then quarantined
        rapport_docm=(554, None),
    )
    outcome = run(catalogue, "MAIL-10", tmp_path)
    assert outcome.status is Status.PASS, outcome.summary
    assert "rapport.docx: accepted, then kept out of the mailbox" in outcome.summary
    assert "facture.txt: refused (554)" in outcome.summary
    assert len(server.box.deleted) == 4  # the three samples and the clean message


def test_a_macro_document_delivered_to_junk_fails_mail_10(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Server(
        monkeypatch,
        facture_txt=(554, None),
        rapport_docx=(250, "Junk"),
        rapport_docm=(554, None),
    )
    outcome = run(catalogue, "MAIL-10", tmp_path)
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "Word document with a VBA macro named .docx reached the mailbox (Junk)"
    )


def test_eicar_in_the_inbox_and_a_temporary_refusal_fail_mail_10(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Server(
        monkeypatch, facture_txt=(250, "INBOX"), rapport_docx=(451, None), rapport_docm=(554, None)
    )
    summary = run(catalogue, "MAIL-10", tmp_path).summary
    assert "EICAR test file reached the mailbox (INBOX)" in summary
    assert "answered 451" in summary


def test_mail_10_cannot_judge_when_the_clean_message_never_arrives(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Server(monkeypatch, clean=(250, None))
    with pytest.raises(ControlError, match="the clean message did not arrive"):
        run(catalogue, "MAIL-10", tmp_path)


def test_a_signed_message_read_back_passes_mail_11(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Server(monkeypatch)
    outcome = run(catalogue, "MAIL-11", tmp_path, domain=DOMAIN, zone_file=zone_file(tmp_path))
    assert outcome.status is Status.PASS, outcome.summary
    assert f"d={DOMAIN} s=telework a=rsa-sha256: pass" in outcome.summary
    assert server.submissions == 1 and len(server.box.deleted) == 1


def test_a_signature_for_another_domain_or_a_wrong_key_fails_mail_11(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Server(monkeypatch)
    server.sign_for = "other.example"
    other = tmp_path / "other"
    other.mkdir()
    outcome = run(
        catalogue, "MAIL-11", tmp_path, domain=DOMAIN, zone_file=zone_file(other, "other.example")
    )
    assert outcome.status is Status.FAIL
    assert "DKIM does not pass" in outcome.summary


def test_a_message_that_never_arrives_fails_mail_11(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Server(monkeypatch)
    monkeypatch.setattr(server, "submit", lambda *args: None)
    monkeypatch.setattr(mailflow, "submit", server.submit)
    outcome = run(catalogue, "MAIL-11", tmp_path, domain=DOMAIN, zone_file=zone_file(tmp_path))
    assert outcome.summary == ("a message submitted as audit-probe did not reach its inbox in 60 s")


def test_without_a_probe_account_the_controls_are_errors_not_passes(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    Server(monkeypatch)
    for cid in ("MAIL-10", "MAIL-11"):
        with pytest.raises(ControlError, match="directory_probe_accounts"):
            IMPL[cid].check(fake_context({}), params(catalogue, cid))


def test_the_dkim_verdict_fails_a_message_changed_after_signing(tmp_path: Path) -> None:
    msg = mailflow.test_message(f"a@{DOMAIN}", f"b@{DOMAIN}", "Rapport", "token")
    raw = signed(msg)
    lookup = _zone_lookup(zone_file(tmp_path), DOMAIN)
    assert mailflow.dkim_verdict(raw, DOMAIN, lookup)[0]
    tampered = raw.replace(b"Rapport", b"Facture")
    valid, seen = mailflow.dkim_verdict(tampered, DOMAIN, lookup)
    assert not valid and seen.endswith("fail")
    assert mailflow.dkim_verdict(msg.as_bytes(), DOMAIN, lookup) == (
        False,
        "no DKIM-Signature header",
    )
