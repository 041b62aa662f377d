"""The probe password goes only to the server that proves the name it must present.

Real TLS on 127.0.0.1: a CA made here signs a certificate for the service's name or for
another name, and a tiny IMAP-like or SMTP-like server in a thread records every byte it
receives. MAIL-11 must refuse a certificate of the CA issued to another name before any
credential is sent, and log in to the right one.
"""

from __future__ import annotations

import base64
import datetime
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.audit.conftest import params
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Status
from toolkit.audit.registry import implementations
from toolkit.controls import mailflow, tls

IMPL = implementations()
NAME = "mail.lab.test"
OTHER = "other.lab.test"
LOGIN = "audit-probe"
PASSWORD = "probe-secret-7f3a9c"
#: How long the tiny server waits for a client or a line: a bound, not an assertion.
SERVER_TIMEOUT = 10.0


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    right: tuple[Path, Path]  # certificate and key for NAME
    wrong: tuple[Path, Path]  # certificate and key for OTHER, from the same CA


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _certificate(
    subject: str,
    issuer: x509.Name,
    signer: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test audit CA")])
    ca = _certificate("Test audit CA", ca_name, ca_key, ca_key, ca=True)
    (folder / "ca.pem").write_bytes(_pem(ca))
    pairs = {}
    for label, name in (("right", NAME), ("wrong", OTHER)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(name, ca_name, ca_key, key, ca=False)
        (folder / f"{label}.crt").write_bytes(_pem(cert) + _pem(ca))
        (folder / f"{label}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        pairs[label] = (folder / f"{label}.crt", folder / f"{label}.key")
    return Pki(folder / "ca.pem", pairs["right"], pairs["wrong"])


def imap_reply(line: bytes) -> bytes:
    tag, _, rest = line.partition(b" ")
    command = rest.split(b" ", 1)[0].upper()
    if command == b"CAPABILITY":
        return b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n"
    if command == b"LOGOUT":
        return b"* BYE bye\r\n" + tag + b" OK bye\r\n"
    return tag + b" NO [AUTHENTICATIONFAILED] refused\r\n"


HTTP_ANSWER = (
    b"HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=31536000\r\n"
    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
)


def smtp_reply(line: bytes, secure: bool) -> bytes:
    command = line.split(b" ", 1)[0].upper()
    if command in (b"EHLO", b"HELO"):
        return (
            b"250-mail\r\n250 AUTH PLAIN LOGIN\r\n" if secure else b"250-mail\r\n250 STARTTLS\r\n"
        )
    if command == b"STARTTLS":
        return b"220 2.0.0 go ahead\r\n"
    if command == b"AUTH":
        return b"535 5.7.8 authentication failed\r\n"
    if command == b"QUIT":
        return b"221 bye\r\n"
    return b"502 5.5.2 no\r\n"


@dataclass
class TinyServer:
    """One client at a time on 127.0.0.1: ``imaps`` speaks TLS at once, ``smtp`` after
    STARTTLS. Every byte received is kept in ``received``."""

    kind: str  # imaps, smtp or https
    context: ssl.SSLContext
    received: bytearray = field(default_factory=bytearray)
    handshakes: int = 0

    def serve(self, listener: socket.socket) -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        conn.settimeout(SERVER_TIMEOUT)
        try:
            self._talk(conn)
        except OSError:  # ssl.SSLError too: the client refused the certificate
            pass
        finally:
            conn.close()

    def _talk(self, conn: socket.socket) -> None:
        stream: socket.socket = conn
        if self.kind in ("imaps", "https"):
            stream = self.context.wrap_socket(conn, server_side=True)
            self.handshakes += 1
        if self.kind == "imaps":
            stream.sendall(b"* OK IMAP4rev1 ready\r\n")
        elif self.kind == "smtp":
            stream.sendall(b"220 mail ESMTP\r\n")
        secure = self.kind == "imaps"
        buffer = b""
        while len(self.received) < 65536:
            if b"\r\n" not in buffer:
                chunk = stream.recv(4096)
                if not chunk:
                    return
                self.received += chunk
                buffer += chunk
                continue
            line, buffer = buffer.split(b"\r\n", 1)
            if self.kind == "https":
                if not line:  # end of the request's headers
                    stream.sendall(HTTP_ANSWER)
                    return
                continue
            if self.kind == "imaps":
                stream.sendall(imap_reply(line))
                continue
            stream.sendall(smtp_reply(line, secure))
            if line.upper().startswith(b"STARTTLS"):
                stream = self.context.wrap_socket(stream, server_side=True)
                self.handshakes += 1
                secure = True
            elif line.upper().startswith(b"QUIT"):
                return


@contextmanager
def tiny_server(kind: str, pair: tuple[Path, Path]) -> Iterator[tuple[TinyServer, int]]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*pair)
    server = TinyServer(kind, context)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(SERVER_TIMEOUT)
        thread = threading.Thread(target=server.serve, args=(listener,), daemon=True)
        thread.start()
        try:
            yield server, listener.getsockname()[1]
        finally:
            thread.join(SERVER_TIMEOUT)


def credentials_seen(received: bytes) -> list[bytes]:
    """Which traces of the probe's credentials the server received."""
    plain = base64.b64encode(f"\0{LOGIN}\0{PASSWORD}".encode())
    traces = [PASSWORD.encode(), plain, base64.b64encode(PASSWORD.encode()), b"AUTH", b"LOGIN"]
    return [t for t in traces if t in received.upper() or t in received]


def audit_context(pki: Pki, tls_ports: tuple[int, ...] = ()) -> Context:
    return Context(
        name="mail",
        address="127.0.0.1",
        ssh_address="127.0.0.1",
        ssh_port=22,
        tls_ports=tls_ports,
        http_ports=(),
        probe_timeout=SERVER_TIMEOUT,
        server_name=NAME,
        ca_file=str(pki.ca_file),
    )


def mail_11(catalogue: Catalogue, tmp_path: Path, pki: Pki, **over: Any) -> Callable[[], object]:
    secret = tmp_path / "audit-probe.password"
    secret.write_text(PASSWORD + "\n")
    p = params(
        catalogue,
        "MAIL-11",
        login=LOGIN,
        address=f"{LOGIN}@lab.test",
        password_path=str(secret),
        domain="lab.test",
        **over,
    )
    return lambda: IMPL["MAIL-11"].check(audit_context(pki), p)


def test_mail_11_refuses_an_imaps_certificate_of_the_ca_issued_to_another_name(
    catalogue: Catalogue, tmp_path: Path, pki: Pki
) -> None:
    with tiny_server("imaps", pki.wrong) as (server, port):
        check = mail_11(catalogue, tmp_path, pki, imaps_port=port)
        with pytest.raises(ControlError, match=f"does not match the name {NAME}"):
            check()
    assert credentials_seen(bytes(server.received)) == []


def test_mail_11_logs_in_over_imaps_when_the_certificate_names_the_service(
    catalogue: Catalogue, tmp_path: Path, pki: Pki
) -> None:
    with tiny_server("imaps", pki.right) as (server, port):
        check = mail_11(catalogue, tmp_path, pki, imaps_port=port)
        with pytest.raises(ControlError, match="the probe account audit-probe cannot log in"):
            check()
    assert PASSWORD.encode() in server.received


@contextmanager
def no_mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """MAIL-11 with an IMAP side that is never reached, so its submission runs."""

    class Box:
        def delete(self, tokens: list[str]) -> int:
            return 0

    @contextmanager
    def mailbox(*args: object, **kwargs: object) -> Iterator[Box]:
        yield Box()

    monkeypatch.setattr(mailflow, "mailbox", mailbox)
    yield


def test_mail_11_refuses_a_starttls_certificate_of_the_ca_issued_to_another_name(
    catalogue: Catalogue, tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    with no_mailbox(monkeypatch), tiny_server("smtp", pki.wrong) as (server, port):
        check = mail_11(catalogue, tmp_path, pki, submission_port=port)
        with pytest.raises(ControlError, match=f"does not match the name {NAME}"):
            check()
    assert b"STARTTLS" in server.received
    assert credentials_seen(bytes(server.received)) == []


def test_mail_11_submits_after_starttls_when_the_certificate_names_the_service(
    catalogue: Catalogue, tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    with no_mailbox(monkeypatch), tiny_server("smtp", pki.right) as (server, port):
        check = mail_11(catalogue, tmp_path, pki, submission_port=port)
        with pytest.raises(ControlError, match="the probe account audit-probe cannot log in"):
            check()
    assert server.handshakes == 1
    assert b"AUTH" in server.received


def test_web_04_reads_no_header_from_a_certificate_issued_to_another_name(
    catalogue: Catalogue, pki: Pki
) -> None:
    with tiny_server("https", pki.wrong) as (server, port):
        ctx = audit_context(pki, tls_ports=(port,))
        with pytest.raises(ControlError, match=f"does not match the name {NAME}"):
            IMPL["WEB-04"].check(ctx, params(catalogue, "WEB-04"))
    assert server.received.count(b"GET") == 0


def test_web_04_judges_the_headers_of_the_server_that_proved_its_name(
    catalogue: Catalogue, pki: Pki
) -> None:
    with tiny_server("https", pki.right) as (server, port):
        ctx = audit_context(pki, tls_ports=(port,))
        outcome = IMPL["WEB-04"].check(ctx, params(catalogue, "WEB-04"))
    assert outcome.status is Status.PASS, outcome.summary
    assert f"Host: {NAME}".encode() in server.received


def test_a_certificate_of_a_ca_the_target_does_not_name_is_refused_as_untrusted(
    pki: Pki,
) -> None:
    with tiny_server("https", pki.right) as (server, port):
        context = tls.verifying_context("")  # the system's CAs, not the lab's
        with pytest.raises(tls.CertificateRefusedError, match=f"not trusted for {NAME}"):
            tls.connect("127.0.0.1", port, NAME, context, SERVER_TIMEOUT)
    assert server.received.count(b"GET") == 0
