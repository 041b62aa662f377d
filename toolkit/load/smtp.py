"""A lean SMTP submission client for load tests: one connection a message, EHLO,
STARTTLS (certificate checked for the server name), AUTH PLAIN, MAIL, RCPT, DATA, QUIT.
smtplib does the same with more bookkeeping a message; at a few hundred messages a second
that bookkeeping is the generator's ceiling, not the server's. Every reply is capped
(line length and count) and every wait bounded by the socket timeout."""

from __future__ import annotations

import base64
import socket
import ssl
from typing import BinaryIO

from toolkit.controls import tls

MAX_LINE = 1024
MAX_LINES = 64
HELO = b"load.telework-toolkit.invalid"


class SmtpError(OSError):
    """The server refused a step, or answered out of protocol."""


def _reply(reader: BinaryIO, expect: int) -> bytes:
    lines = []
    for _ in range(MAX_LINES):
        line = reader.readline(MAX_LINE)
        if not line.endswith(b"\n"):
            raise SmtpError(f"SMTP reply cut or too long: {line[:80]!r}")
        lines.append(line)
        if line[3:4] != b"-":
            break
    else:
        raise SmtpError("SMTP reply of too many lines")
    code = lines[-1][:3]
    if code != str(expect).encode():
        raise SmtpError(f"SMTP {code.decode(errors='replace')}: {lines[-1][4:80]!r}")
    return b"".join(lines)


def _dot_stuffed(data: bytes) -> bytes:
    body = data.replace(b"\r\n.", b"\r\n..")
    if body.startswith(b"."):
        body = b"." + body
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


def submit(
    *,
    address: str,
    port: int,
    timeout: float,
    sender: str,
    data: bytes,
    starttls: tuple[str, ssl.SSLContext] | None,
    auth: tuple[str, str] | None,
) -> int:
    """Deliver ``data`` (CRLF line ends) from ``sender`` to ``sender``; bytes sent."""
    sock: socket.socket = socket.create_connection((address, port), timeout=timeout)
    try:
        reader = sock.makefile("rb")
        _reply(reader, 220)
        sock.sendall(b"EHLO " + HELO + b"\r\n")
        _reply(reader, 250)
        if starttls is not None:
            sock.sendall(b"STARTTLS\r\n")
            _reply(reader, 220)
            sock = tls.wrap(sock, starttls[1], starttls[0], "STARTTLS")
            reader = sock.makefile("rb")
            sock.sendall(b"EHLO " + HELO + b"\r\n")
            _reply(reader, 250)
        if auth is not None:
            token = base64.b64encode(b"\0" + auth[0].encode() + b"\0" + auth[1].encode())
            sock.sendall(b"AUTH PLAIN " + token + b"\r\n")
            _reply(reader, 235)
        envelope = f"<{sender}>".encode()
        sock.sendall(b"MAIL FROM:" + envelope + b"\r\n")
        _reply(reader, 250)
        sock.sendall(b"RCPT TO:" + envelope + b"\r\n")
        _reply(reader, 250)
        sock.sendall(b"DATA\r\n")
        _reply(reader, 354)
        sock.sendall(_dot_stuffed(data))
        _reply(reader, 250)
        sock.sendall(b"QUIT\r\n")
        _reply(reader, 221)
        return len(data)
    finally:
        sock.close()
