"""The client of the teleworker portal's gate (E23, A17): one JSON request line over the
gate's unix socket, one reply line. The web application and the admin CLI use it.

Self-contained (Debian's Python 3 only).
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

from portal_errors import GateError

#: Longest request line (without its newline) the gate reads.
MAX_REQUEST = 4096
#: Longest reply line a client reads (a list of every session of the retention period).
MAX_REPLY = 16 * 1024 * 1024


class LineTooLongError(Exception):
    """A peer sent more than the cap before its newline."""


def read_line(conn: socket.socket, cap: int, timeout: float) -> bytes:
    """One line (without its newline) from ``conn``, at most ``cap`` bytes, within
    ``timeout`` seconds in all; raises TimeoutError, LineTooLongError. A peer that closes
    without a newline has sent what it had."""
    deadline = time.monotonic() + timeout
    buf = bytearray()
    while b"\n" not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no complete line in time")
        conn.settimeout(remaining)
        chunk = conn.recv(min(65536, cap + 1 - len(buf)))
        if not chunk:
            break
        buf += chunk
        if len(buf.split(b"\n", 1)[0]) > cap:
            raise LineTooLongError
    return bytes(buf.split(b"\n", 1)[0])


class GateClient:
    """Requests to the gate at ``path``; a refusal raises GateError(code), as does an
    unreachable gate (``unavailable``) or a reply that is not one (``bad-reply``)."""

    def __init__(self, path: str, timeout: float = 5.0) -> None:
        self.path = path
        self.timeout = timeout

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        line = json.dumps(request, separators=(",", ":")).encode() + b"\n"
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(self.timeout)
                conn.connect(self.path)
                conn.sendall(line)
                raw = read_line(conn, MAX_REPLY, self.timeout)
        except (OSError, LineTooLongError) as exc:  # TimeoutError is an OSError
            raise GateError("unavailable") from exc
        try:
            reply = json.loads(raw)
        except ValueError as exc:
            raise GateError("bad-reply") from exc
        if not isinstance(reply, dict):
            raise GateError("bad-reply")
        if reply.get("ok") is not True:
            raise GateError(str(reply.get("error") or "bad-reply"))
        return reply

    def whois(self, address: str) -> dict[str, Any] | None:
        peer = self.call({"op": "whois", "address": address}).get("peer")
        return peer if isinstance(peer, dict) else None

    def devices(self, user: str) -> list[dict[str, Any]]:
        """The teleworker's devices that are peers now; empty: not (or no longer) allowed."""
        devices = self.call({"op": "devices", "user": user}).get("devices")
        if not isinstance(devices, list) or not all(isinstance(d, dict) for d in devices):
            raise GateError("bad-reply")
        return devices

    def start(self, user: str, address: str) -> dict[str, Any]:
        session = self.call({"op": "start", "user": user, "address": address}).get("session")
        if not isinstance(session, dict):
            raise GateError("bad-reply")
        return session

    def end(self, user: str, address: str) -> int:
        return _count(self.call({"op": "end", "user": user, "address": address}))

    def status(self, user: str) -> list[dict[str, Any]]:
        return _sessions(self.call({"op": "status", "user": user}))

    def end_user(self, user: str, how: str) -> int:
        return _count(self.call({"op": "end-user", "user": user, "how": how}))

    def sessions(self, open_only: bool) -> list[dict[str, Any]]:
        return _sessions(self.call({"op": "sessions", "open": open_only}))


def _count(reply: dict[str, Any]) -> int:
    ended = reply.get("ended")
    if isinstance(ended, bool) or not isinstance(ended, int):
        raise GateError("bad-reply")
    return ended


def _sessions(reply: dict[str, Any]) -> list[dict[str, Any]]:
    sessions = reply.get("sessions")
    if not isinstance(sessions, list) or not all(isinstance(s, dict) for s in sessions):
        raise GateError("bad-reply")
    return sessions
