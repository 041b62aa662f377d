"""MAIL-01..09 on canned records and canned server answers (no network): each control
passes on the records and services the mail_server role sets up and fails on the
weakness it names."""

from __future__ import annotations

import base64
import hashlib
import smtplib
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.audit.conftest import fake_context, params
from tests.certs import self_signed
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, Outcome, Status
from toolkit.audit.registry import implementations
from toolkit.controls import mail
from toolkit.controls import tls as tlslib

IMPL = implementations()
DOMAIN = "lab.telework.test"


def dkim_record(bits: int, extra: str = "") -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    p = (
        "p="
        + base64.b64encode(
            key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        ).decode()
    )
    chunks = " ".join(f'"{p[i : i + 200]}"' for i in range(0, len(p), 200))
    return f'telework._domainkey IN TXT ( "v=DKIM1; k=rsa;{extra} " {chunks} )'


GOOD = {
    "mx": "@ IN MX 10 mail.lab.telework.test.",
    "spf": '@ IN TXT "v=spf1 mx -all"',
    "dmarc": '_dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@lab.telework.test"',
    "sts": '_mta-sts IN TXT "v=STSv1; id=20261123"',
    "rpt": '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tls@lab.telework.test"',
}
POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mail.lab.telework.test\r\nmax_age: 604800\r\n"


def zone(tmp_path: Path, **changes: str) -> str:
    lines = {**GOOD, "dkim": dkim_record(2048)} | changes
    path = tmp_path / f"{DOMAIN}.zone"
    path.write_text(f"$ORIGIN {DOMAIN}.\n$TTL 3600\n" + "\n".join(lines.values()) + "\n")
    return str(path)


def run(catalogue: Catalogue, cid: str, zone_file: str = "", **over: Any) -> Outcome:
    ctx = fake_context({}, server_name="mail.lab.telework.test")
    p = params(
        catalogue, cid, **({"domain": DOMAIN, "zone_file": zone_file} if zone_file else {}), **over
    )
    return IMPL[cid].check(ctx, p)


def test_the_records_the_role_writes_pass_mail_01_to_03_and_05(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    path = zone(tmp_path)
    for cid in ("MAIL-01", "MAIL-02", "MAIL-03", "MAIL-05"):
        assert run(catalogue, cid, path).status is Status.PASS, cid


def test_two_spf_records_or_a_neutral_ending_fail_mail_01(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    two = zone(tmp_path, spf2='@ IN TXT "v=spf1 a -all"')
    assert (
        run(catalogue, "MAIL-01", two).summary
        == f"2 SPF records for {DOMAIN} (exactly one is needed)"
    )
    neutral = zone(tmp_path, spf='@ IN TXT "v=spf1 mx ?all"')
    assert "ends with ?all" in run(catalogue, "MAIL-01", neutral).summary


def test_spf_look_ups_are_counted_through_includes(catalogue: Catalogue, tmp_path: Path) -> None:
    includes = " ".join(f"include:s{i}.{DOMAIN}" for i in range(6))
    nested = {f"s{i}": f's{i} IN TXT "v=spf1 a mx -all"' for i in range(6)}
    path = zone(tmp_path, spf=f'@ IN TXT "v=spf1 {includes} -all"', **nested)
    outcome = run(catalogue, "MAIL-01", path)
    assert outcome.status is Status.FAIL
    assert "18 DNS look-ups (at most 10)" in outcome.summary


def test_a_1024_bit_or_sha1_dkim_key_fails_mail_02(catalogue: Catalogue, tmp_path: Path) -> None:
    short = run(catalogue, "MAIL-02", zone(tmp_path, dkim=dkim_record(1024)))
    assert short.summary == "RSA key of 1024 bits (at least 2048)"
    sha1 = run(catalogue, "MAIL-02", zone(tmp_path, dkim=dkim_record(2048, " h=sha1;")))
    assert sha1.status is Status.FAIL and "rsa-sha1 is obsolete" in sha1.summary


def test_a_monitoring_only_dmarc_policy_without_reports_fails_mail_03(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    path = zone(tmp_path, dmarc='_dmarc IN TXT "v=DMARC1; p=none"')
    assert run(catalogue, "MAIL-03", path).summary == (
        "p=none (quarantine or reject is needed); no rua (aggregate reports) address"
    )


def test_a_missing_tls_rpt_record_fails_mail_05(catalogue: Catalogue, tmp_path: Path) -> None:
    path = zone(tmp_path, rpt="")
    assert run(catalogue, "MAIL-05", path).status is Status.FAIL


def test_without_a_domain_the_record_controls_are_errors_not_passes(catalogue: Catalogue) -> None:
    with pytest.raises(ControlError, match="set the parameter domain"):
        run(catalogue, "MAIL-01")


def test_an_enforced_policy_covering_the_mx_passes_mail_04(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "_https_get", lambda ctx, host, path: (200, POLICY))
    assert run(catalogue, "MAIL-04", zone(tmp_path)).status is Status.PASS


def test_a_testing_policy_for_another_mx_fails_mail_04(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    testing = POLICY.replace("enforce", "testing").replace("mail.lab", "old.lab")
    monkeypatch.setattr(mail, "_https_get", lambda ctx, host, path: (200, testing))
    summary = run(catalogue, "MAIL-04", zone(tmp_path)).summary
    assert "mode testing (enforce is needed)" in summary
    assert "does not cover ['mail.lab.telework.test']" in summary


def tls(
    version: str = "TLSv1.3", names: tuple[str, ...] = ("mail.lab.telework.test",)
) -> mail.SmtpTls:
    return mail.SmtpTls(version, b"", list(names))


def test_starttls_with_tls_1_3_and_the_mx_name_passes_mail_07(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "_starttls", lambda ctx, port, context, name: tls())
    monkeypatch.setattr(mail, "_old_tls_accepted", lambda ctx, port: False)
    assert run(catalogue, "MAIL-07").status is Status.PASS


def test_tls_1_1_and_a_wrong_name_fail_mail_07(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        mail, "_starttls", lambda ctx, port, context, name: tls(names=("localhost",))
    )
    monkeypatch.setattr(mail, "_old_tls_accepted", lambda ctx, port: True)
    assert run(catalogue, "MAIL-07").summary == (
        "a TLS 1.1 handshake succeeds; certificate not valid for mail.lab.telework.test (localhost)"
    )


def test_a_certificate_refused_for_the_mx_name_fails_mail_07(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    names: list[str] = []

    def refused(ctx: object, port: int, context: object, name: str) -> mail.SmtpTls:
        names.append(name)
        raise tlslib.CertificateRefusedError(
            f"STARTTLS: the certificate does not match the name {name}; nothing was sent"
        )

    monkeypatch.setattr(mail, "_starttls", refused)
    monkeypatch.setattr(mail, "_old_tls_accepted", lambda ctx, port: False)
    outcome = run(catalogue, "MAIL-07", mx_name="mx.lab.telework.test")
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "STARTTLS: the certificate does not match the name mx.lab.telework.test; nothing was sent"
    )
    assert names == ["mx.lab.telework.test"]


def test_without_tlsa_records_mail_06_only_warns(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "_starttls", lambda ctx, port, context, name: tls())
    assert run(catalogue, "MAIL-06", zone(tmp_path)).status is Status.WARN


class FakeSocket:
    def version(self) -> str:
        return "TLSv1.3"


class FakeTls:
    """tls.IMAPS / tls.SMTPS: a session over TLS 1.3."""

    tls = FakeSocket()


class FakeSmtp:
    """smtplib.SMTP answering RCPT with a given code; AUTH offered in clear or not."""

    rcpt_code = 554
    extensions: tuple[str, ...] = ("starttls",)
    mail_code = 530

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.sock = FakeSocket()

    def __enter__(self) -> FakeSmtp:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def ehlo(self, name: str) -> None:
        return None

    def has_extn(self, name: str) -> bool:
        return name in self.extensions

    def secured(self) -> FakeSocket:
        self.extensions = ()
        return self.sock

    def mail(self, sender: str) -> tuple[int, bytes]:
        return 250, b"ok"

    def rcpt(self, recipient: str) -> tuple[int, bytes]:
        return self.rcpt_code, b"5.7.1 Relay access denied"

    def rset(self) -> None:
        return None

    def docmd(self, cmd: str, args: str) -> tuple[int, bytes]:
        return self.mail_code, b""


def test_refused_relaying_passes_and_accepted_relaying_fails_mail_08(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smtplib, "SMTP", FakeSmtp)
    monkeypatch.setattr(tlslib, "starttls", lambda smtp, name, context: smtp.secured())
    assert run(catalogue, "MAIL-08").status is Status.PASS
    monkeypatch.setattr(FakeSmtp, "rcpt_code", 250)
    assert (
        run(catalogue, "MAIL-08").summary
        == "relaying to relay-probe@example.invalid answered 250: an open relay"
    )


def test_auth_offered_before_tls_on_587_fails_mail_09(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Imap(FakeTls):
        def __init__(self, *a: object, **k: object) -> None: ...
        def __enter__(self) -> Imap:
            return self

        def __exit__(self, *exc: object) -> None: ...

    class Smtps(FakeTls, FakeSmtp): ...

    monkeypatch.setattr(tlslib, "IMAPS", Imap)
    monkeypatch.setattr(smtplib, "SMTP", FakeSmtp)
    monkeypatch.setattr(tlslib, "SMTPS", Smtps)
    assert run(catalogue, "MAIL-09").status is Status.PASS
    monkeypatch.setattr(FakeSmtp, "extensions", ("starttls", "auth"))
    monkeypatch.setattr(FakeSmtp, "mail_code", 250)
    assert run(catalogue, "MAIL-09").summary == (
        "587 offers AUTH before STARTTLS; 587 accepts MAIL FROM before STARTTLS (250)"
    )


def test_an_imaps_certificate_refused_for_the_server_name_fails_mail_09(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(address: str, port: int, *, server_name: str, **kwargs: object) -> None:
        raise tlslib.CertificateRefusedError(
            f"TLS {address}:{port}: the certificate does not match the name {server_name}; "
            "nothing was sent"
        )

    monkeypatch.setattr(tlslib, "IMAPS", refused)
    monkeypatch.setattr(smtplib, "SMTP", FakeSmtp)
    monkeypatch.setattr(tlslib, "SMTPS", refused)
    outcome = run(catalogue, "MAIL-09")
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "IMAPS 993: TLS 192.0.2.10:993: the certificate does not match the name "
        "mail.lab.telework.test; nothing was sent; 465: TLS 192.0.2.10:465: the certificate "
        "does not match the name mail.lab.telework.test; nothing was sent"
    )


def mx_certificate() -> bytes:
    """A DER certificate for the MX (what STARTTLS presented)."""
    _, cert = self_signed("mail.lab.telework.test", days=90)
    return cert.public_bytes(Encoding.DER)


def tlsa_record(der: bytes) -> str:
    """A DANE-EE record (3 1 1: SHA-256 of the SubjectPublicKeyInfo) of ``der``."""
    spki = (
        x509.load_der_x509_certificate(der)
        .public_key()
        .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    return f"_25._tcp.mail IN TLSA 3 1 1 {hashlib.sha256(spki).hexdigest()}"


def test_a_tlsa_record_matching_the_mx_certificate_passes_mail_06(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    der = mx_certificate()
    presented = mail.SmtpTls("TLSv1.3", der, ["mail.lab.telework.test"])
    monkeypatch.setattr(mail, "_starttls", lambda ctx, port, context, name: presented)
    outcome = run(catalogue, "MAIL-06", zone(tmp_path, tlsa=tlsa_record(der)))
    assert outcome.status is Status.PASS, outcome.summary


def test_a_tlsa_record_of_another_key_fails_mail_06(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    presented = mail.SmtpTls("TLSv1.3", mx_certificate(), ["mail.lab.telework.test"])
    monkeypatch.setattr(mail, "_starttls", lambda ctx, port, context, name: presented)
    outcome = run(catalogue, "MAIL-06", zone(tmp_path, tlsa=tlsa_record(mx_certificate())))
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "no TLSA record of mail.lab.telework.test matches the certificate it presents"
    )
