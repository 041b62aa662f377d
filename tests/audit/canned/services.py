"""MAIL-01..11 judged both ways on canned records and canned server answers (no DNS, no
SMTP, no IMAP): the zone the mail_server role writes and a server that refuses relaying,
quarantines malware and signs what it sends pass; the weakness each control names fails.

The records, fake SMTP sessions and fake mailbox are those of test_mail_controls.py and
test_mailflow_controls.py; the network probes are replaced for the time of one case."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.audit.canned import Case
from tests.audit.conftest import fake_context, params
from tests.audit.test_mail_controls import (
    DOMAIN,
    POLICY,
    FakeSmtp,
    FakeTls,
    dkim_record,
    mx_certificate,
    tls,
    tlsa_record,
    zone,
)
from tests.audit.test_mailflow_controls import Server, zone_file
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import Outcome, Status
from toolkit.audit.registry import implementations
from toolkit.controls import mail, mailflow
from toolkit.controls import tls as tlslib

MX = f"mail.{DOMAIN}"
PASS, FAIL = Status.PASS, Status.FAIL

#: A case's canned world: the zone (written under the case's folder) and the probes it
#: replaces, then the control's parameters beyond the catalogue's defaults.
Setup = Callable[[Path, pytest.MonkeyPatch], dict[str, Any]]


def judged(control: str, setup: Setup) -> Callable[[Catalogue, Path], Outcome]:
    """Run the real ``control`` on the world ``setup`` builds, probes replaced meanwhile."""

    def judge(catalogue: Catalogue, tmp_path: Path) -> Outcome:
        with pytest.MonkeyPatch.context() as mp:
            over = setup(tmp_path, mp)
            ctx = fake_context({}, server_name=MX)
            return implementations()[control].check(ctx, params(catalogue, control, **over))

    return judge


def records(**changes: str) -> Setup:
    """The role's zone with ``changes`` (a record replaced, added, or emptied)."""

    def setup(tmp_path: Path, mp: pytest.MonkeyPatch) -> dict[str, Any]:
        return {"domain": DOMAIN, "zone_file": zone(tmp_path, **changes)}

    return setup


def policy_served(body: str) -> Setup:
    """The role's zone, and ``body`` served at https://mta-sts.<domain>/."""

    def setup(tmp_path: Path, mp: pytest.MonkeyPatch) -> dict[str, Any]:
        mp.setattr(mail, "_https_get", lambda ctx, host, path: (200, body))
        return records()(tmp_path, mp)

    return setup


def dane(*, same_key: bool) -> Setup:
    """The MX presents a certificate; the TLSA record pins its key, or another one."""

    def setup(tmp_path: Path, mp: pytest.MonkeyPatch) -> dict[str, Any]:
        der = mx_certificate()
        presented = mail.SmtpTls("TLSv1.3", der, [MX])
        mp.setattr(mail, "_starttls", lambda ctx, port, context, name: presented)
        pinned = der if same_key else mx_certificate()
        return records(tlsa=tlsa_record(pinned))(tmp_path, mp)

    return setup


def starttls(session: mail.SmtpTls, *, old_tls: bool) -> Setup:
    """STARTTLS on the MX gives ``session``; a TLS 1.1 handshake succeeds or not."""

    def setup(tmp_path: Path, mp: pytest.MonkeyPatch) -> dict[str, Any]:
        mp.setattr(mail, "_starttls", lambda ctx, port, context, name: session)
        mp.setattr(mail, "_old_tls_accepted", lambda ctx, port: old_tls)
        return {}

    return setup


def relay(rcpt_code: int) -> Setup:
    """Port 25 answers RCPT TO an outside address with ``rcpt_code``."""

    def setup(tmp_path: Path, mp: pytest.MonkeyPatch) -> dict[str, Any]:
        mp.setattr(smtplib, "SMTP", FakeSmtp)
        mp.setattr(FakeSmtp, "rcpt_code", rcpt_code)
        mp.setattr(tlslib, "starttls", lambda smtp, name, context: smtp.secured())
        return {}

    return setup


class _Imaps(FakeTls):
    """IMAPS over TLS 1.3 that the control opens and closes."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        return None

    def __enter__(self) -> _Imaps:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class _Smtps(FakeTls, FakeSmtp):
    """Submission over implicit TLS (465)."""


def submission(*extensions: str, mail_code: int) -> Setup:
    """Port 587 offers ``extensions`` before STARTTLS and answers MAIL FROM ``mail_code``."""

    def setup(tmp_path: Path, mp: pytest.MonkeyPatch) -> dict[str, Any]:
        mp.setattr(tlslib, "IMAPS", _Imaps)
        mp.setattr(tlslib, "SMTPS", _Smtps)
        mp.setattr(smtplib, "SMTP", FakeSmtp)
        mp.setattr(FakeSmtp, "extensions", extensions)
        mp.setattr(FakeSmtp, "mail_code", mail_code)
        return {}

    return setup


def _probe_account(tmp_path: Path) -> dict[str, Any]:
    secret = tmp_path / "audit-probe.password"
    secret.write_text("x" * 40 + "\n")
    return {
        "login": "audit-probe",
        "address": f"audit-probe@{DOMAIN}",
        "password_path": str(secret),
    }


def attachments(**rules: tuple[int, str | None]) -> Setup:
    """The mail server answers each sample (by file name) with a code and a folder."""

    def setup(tmp_path: Path, mp: pytest.MonkeyPatch) -> dict[str, Any]:
        Server(mp, **rules)
        return _probe_account(tmp_path)

    return setup


def signing(domain: str) -> Setup:
    """What the probe submits reaches its inbox signed for ``domain``, whose zone (the one
    read) publishes the key; the audited domain stays lab.telework.test."""

    def setup(tmp_path: Path, mp: pytest.MonkeyPatch) -> dict[str, Any]:
        server = Server(mp)
        server.sign_for = domain
        folder = tmp_path / "zone"
        folder.mkdir()
        return {
            **_probe_account(tmp_path),
            "domain": DOMAIN,
            "zone_file": zone_file(folder, domain),
        }

    return setup


def lost_submission(tmp_path: Path, mp: pytest.MonkeyPatch) -> dict[str, Any]:
    """The server accepts the submission and never delivers it."""
    server = Server(mp)

    def swallow(ctx: Any, port: int, probe: mailflow.Probe, msg: EmailMessage) -> None:
        server.submissions += 1

    mp.setattr(mailflow, "submit", swallow)
    return {**_probe_account(tmp_path), "domain": DOMAIN, "zone_file": zone_file(tmp_path)}


TESTING_POLICY = POLICY.replace("enforce", "testing")

CASES: list[Case] = [
    Case("MAIL-01", PASS, "one SPF record ends with -all", judged("MAIL-01", records()),
         "one SPF record, 1 look-ups, ends -all"),
    Case("MAIL-01", FAIL, "the SPF record ends with a neutral ?all",
         judged("MAIL-01", records(spf='@ IN TXT "v=spf1 mx ?all"')), "ends with ?all"),
    Case("MAIL-01", FAIL, "two SPF records are published",
         judged("MAIL-01", records(spf2='@ IN TXT "v=spf1 a -all"')),
         f"2 SPF records for {DOMAIN} (exactly one is needed)"),
    Case("MAIL-02", PASS, "the DKIM key has 2048 bits", judged("MAIL-02", records()),
         "RSA 2048-bit DKIM key at telework._domainkey"),
    Case("MAIL-02", FAIL, "the DKIM key has 1024 bits",
         judged("MAIL-02", records(dkim=dkim_record(1024))),
         "RSA key of 1024 bits (at least 2048)"),
    Case("MAIL-02", FAIL, "the DKIM key allows only rsa-sha1",
         judged("MAIL-02", records(dkim=dkim_record(2048, " h=sha1;"))), "rsa-sha1 is obsolete"),
    Case("MAIL-03", PASS, "DMARC quarantines and asks for reports", judged("MAIL-03", records()),
         f"p=quarantine, reports to mailto:dmarc@{DOMAIN}"),
    Case("MAIL-03", FAIL, "DMARC only monitors and asks for no report",
         judged("MAIL-03", records(dmarc='_dmarc IN TXT "v=DMARC1; p=none"')),
         "p=none (quarantine or reject is needed)"),
    Case("MAIL-04", PASS, "the MTA-STS policy enforces TLS to the MX",
         judged("MAIL-04", policy_served(POLICY)), "mode enforce, MX covered"),
    Case("MAIL-04", FAIL, "the MTA-STS policy is only in testing mode",
         judged("MAIL-04", policy_served(TESTING_POLICY)), "mode testing (enforce is needed)"),
    Case("MAIL-05", PASS, "a TLS-RPT record names a report address", judged("MAIL-05", records()),
         f"TLS reports to mailto:tls@{DOMAIN}"),
    Case("MAIL-05", FAIL, "no TLS-RPT record is published", judged("MAIL-05", records(rpt="")),
         f"0 TLS-RPT records at _smtp._tls.{DOMAIN} (one is needed)"),
    Case("MAIL-06", PASS, "the TLSA record pins the key the MX presents",
         judged("MAIL-06", dane(same_key=True)), "TLSA records match the certificate"),
    Case("MAIL-06", FAIL, "the TLSA record pins another key",
         judged("MAIL-06", dane(same_key=False)),
         f"no TLSA record of {MX} matches the certificate it presents"),
    Case("MAIL-07", PASS, "STARTTLS gives TLS 1.3 and a certificate for the MX",
         judged("MAIL-07", starttls(tls(), old_tls=False)),
         f"TLSv1.3, trusted certificate for {MX}"),
    Case("MAIL-07", FAIL, "a TLS 1.1 handshake still succeeds on the MX",
         judged("MAIL-07", starttls(tls(), old_tls=True)), "a TLS 1.1 handshake succeeds"),
    Case("MAIL-07", FAIL, "the MX presents a certificate for localhost",
         judged("MAIL-07", starttls(tls(names=("localhost",)), old_tls=False)),
         f"certificate not valid for {MX} (localhost)"),
    Case("MAIL-08", PASS, "relaying to an outside domain is refused",
         judged("MAIL-08", relay(554)), "relaying refused (554)"),
    Case("MAIL-08", FAIL, "relaying to an outside domain is accepted",
         judged("MAIL-08", relay(250)),
         "relaying to relay-probe@example.invalid answered 250: an open relay"),
    Case("MAIL-09", PASS, "submission offers AUTH only after STARTTLS",
         judged("MAIL-09", submission("starttls", mail_code=530)),
         "IMAPS and submission over TLS only"),
    Case("MAIL-09", FAIL, "submission offers AUTH and takes mail before STARTTLS",
         judged("MAIL-09", submission("starttls", "auth", mail_code=250)),
         "587 offers AUTH before STARTTLS"),
    Case("MAIL-10", PASS, "EICAR and the macro documents are refused or quarantined",
         judged("MAIL-10", attachments(facture_txt=(554, None), rapport_docx=(250, None),
                                       rapport_docm=(554, None))),
         "rapport.docx: accepted, then kept out of the mailbox"),
    Case("MAIL-10", FAIL, "a macro document renamed .docx lands in the junk folder",
         judged("MAIL-10", attachments(facture_txt=(554, None), rapport_docx=(250, "Junk"),
                                       rapport_docm=(554, None))),
         "Word document with a VBA macro named .docx reached the mailbox (Junk)"),
    Case("MAIL-11", PASS, "the message sent comes back signed for the domain",
         judged("MAIL-11", signing(DOMAIN)), f"d={DOMAIN} s=telework a=rsa-sha256: pass"),
    Case("MAIL-11", FAIL, "the message comes back signed for another domain",
         judged("MAIL-11", signing("other.example")), "DKIM does not pass"),
    Case("MAIL-11", FAIL, "the message sent never reaches the inbox",
         judged("MAIL-11", lost_submission),
         "a message submitted as audit-probe did not reach its inbox in 60 s"),
]  # fmt: skip
