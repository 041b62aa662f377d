"""A mail server on 127.0.0.1 for the load tests and bench/load.py: aiosmtpd for submission
(STARTTLS then AUTH, a throwaway certificate) and, optionally, a plain port without TLS nor
AUTH (what Postfix's smtp-source speaks), plus a small IMAPS server (LOGIN, SELECT, SEARCH
HEADER, FETCH, STORE, EXPUNGE, IDLE) reading the same mailbox. Both run in one thread with
their own asyncio loop; every message submitted lands in one shared mailbox."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import logging
import re
import ssl
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOGIN, PASSWORD = "load-probe", "s3cret-for-tests"
# aiosmtpd logs a deprecation of its own on every AUTH.
logging.getLogger("mail.log").setLevel(logging.ERROR)


def throwaway_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1 (its own CA), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "server.crt", folder / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@dataclass
class Mailbox:
    messages: list[bytes] = field(default_factory=list)
    deleted_total: int = 0
    submitted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler:
    def __init__(self, box: Mailbox, keep: bool) -> None:
        self.box, self.keep = box, keep

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self.box.lock:
            self.box.submitted += 1
            if self.keep:
                content = envelope.original_content or b""
                self.box.messages.append(bytes(content))
        return "250 OK"


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == LOGIN.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok)


_COMMAND = re.compile(rb"^(\S+) (\S+)(?: (.*))?$")


class _Imap:
    """One IMAP session (an instance a connection) over implicit TLS, just what the load
    classes and the cleanup use."""

    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK IMAP4rev1 test server ready\r\n")
        self.authed = False
        try:
            while line := await asyncio.wait_for(reader.readline(), 120):
                match = _COMMAND.match(line.rstrip(b"\r\n"))
                if not match:
                    writer.write(b"* BAD syntax\r\n")
                    continue
                tag, verb, arg = match[1], match[2].upper(), (match[3] or b"")
                if verb == b"IDLE" and self.authed:
                    writer.write(b"+ idling\r\n")
                    await writer.drain()
                    await asyncio.wait_for(reader.readline(), 1800)  # DONE
                    writer.write(tag + b" OK done\r\n")
                elif verb == b"LOGOUT":
                    writer.write(b"* BYE\r\n" + tag + b" OK done\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(self._answer(tag, verb, arg))
                await writer.drain()
        except (TimeoutError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    def _answer(self, tag: bytes, verb: bytes, arg: bytes) -> bytes:
        ok = tag + b" OK done\r\n"
        if verb == b"CAPABILITY":
            return b"* CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN\r\n" + ok
        if verb == b"LOGIN":
            self.authed = arg.replace(b'"', b"").split() == [LOGIN.encode(), PASSWORD.encode()]
            return ok if self.authed else tag + b" NO [AUTHENTICATIONFAILED] no\r\n"
        if not self.authed and verb != b"NOOP":
            return tag + b" NO login first\r\n"
        answers: dict[bytes, Callable[[], bytes]] = {
            b"SELECT": lambda: b"* %d EXISTS\r\n* 0 RECENT\r\n" % len(self.box.messages),
            b"SEARCH": lambda: b"* SEARCH " + self._search(arg) + b"\r\n",
            b"FETCH": lambda: self._fetch(arg),
            b"STORE": lambda: self._mark(arg),
            b"EXPUNGE": self._expunge,
            b"NOOP": lambda: b"",
            b"CLOSE": lambda: b"",
        }
        if verb not in answers:
            return tag + b" BAD unknown command\r\n"
        return answers[verb]() + ok

    def _search(self, arg: bytes) -> bytes:
        words = arg.replace(b'"', b"").split()
        if len(words) >= 3 and words[0].upper() == b"HEADER":
            needle = words[1].lower() + b": " + words[2]
            with self.box.lock:
                hits = [i + 1 for i, m in enumerate(self.box.messages) if needle in m.lower()]
        else:
            hits = list(range(1, len(self.box.messages) + 1))
        return b" ".join(str(i).encode() for i in hits)

    def _numbers(self, spec: bytes) -> list[int]:
        out: list[int] = []
        for part in spec.split(b","):
            lo, _, hi = part.partition(b":")
            out.extend(range(int(lo), int(hi or lo) + 1))
        return out

    def _fetch(self, arg: bytes) -> bytes:
        spec = arg.split()[0]
        chunks = []
        with self.box.lock:
            for i in self._numbers(spec):
                if 1 <= i <= len(self.box.messages):
                    body = self.box.messages[i - 1]
                    chunks.append(b"* %d FETCH (BODY[] {%d}\r\n%s)\r\n" % (i, len(body), body))
        return b"".join(chunks)

    def _mark(self, arg: bytes) -> bytes:
        with self.box.lock:
            for i in self._numbers(arg.split()[0]):
                if 1 <= i <= len(self.box.messages):
                    self.box.messages[i - 1] = b"\x00DELETED" + self.box.messages[i - 1]
        return b""

    def _expunge(self) -> bytes:
        with self.box.lock:
            gone = [i + 1 for i, m in enumerate(self.box.messages) if m.startswith(b"\x00DELETED")]
            self.box.messages = [m for m in self.box.messages if not m.startswith(b"\x00DELETED")]
            self.box.deleted_total += len(gone)
        return b"".join(b"* %d EXPUNGE\r\n" % i for i in reversed(gone))


@dataclass
class MailServer:
    """Ports of the running servers and the mailbox they share."""

    submission_port: int
    plain_port: int
    imaps_port: int
    cert_file: Path
    box: Mailbox
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def start(folder: Path, *, keep_messages: bool = True) -> MailServer:
    """Start submission (STARTTLS + AUTH), plain SMTP and IMAPS on 127.0.0.1, free ports."""
    cert_file, key_file = throwaway_certificate(folder)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    box = Mailbox()
    loop = asyncio.new_event_loop()
    ready: list[int] = []
    started = threading.Event()

    def smtp_factory(secure: bool) -> Any:
        def make() -> SMTP:
            if secure:
                return SMTP(
                    _Handler(box, keep_messages), tls_context=tls, require_starttls=True,
                    auth_required=True, auth_require_tls=True, authenticator=_authenticator,
                )  # fmt: skip
            return SMTP(_Handler(box, keep_messages), auth_required=False)

        return make

    async def boot() -> None:
        for factory in (smtp_factory(True), smtp_factory(False)):
            server = await loop.create_server(factory, "127.0.0.1", 0, backlog=1024)
            ready.append(server.sockets[0].getsockname()[1])
        imap = await asyncio.start_server(
            lambda r, w: _Imap(box).serve(r, w),
            "127.0.0.1",
            0,
            ssl=tls,
            backlog=4096,
            limit=1 << 20,
        )
        ready.append(imap.sockets[0].getsockname()[1])
        started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(boot())
        loop.run_forever()

    thread = threading.Thread(target=run, name="test-mail-server", daemon=True)
    thread.start()
    if not started.wait(15):
        raise RuntimeError("the test mail server did not start")
    return MailServer(ready[0], ready[1], ready[2], cert_file, box, loop, thread)


def main() -> None:
    """Run the servers in a process of their own (bench/load.py): prints one JSON line
    (ports, certificate, probe login and password), serves until stdin closes, then prints
    the mailbox counts."""
    keep = "--discard" not in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        server = start(Path(tmp), keep_messages=keep)
        ready = {
            "submission": server.submission_port,
            "plain": server.plain_port,
            "imaps": server.imaps_port,
            "cert": server.cert_file.read_text(encoding="utf-8"),
            "login": LOGIN,
            "password": PASSWORD,
        }
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        sys.stdin.read()
        sys.stdout.write(f"submitted={server.box.submitted} left={len(server.box.messages)}\n")
        server.stop()


if __name__ == "__main__":
    main()
