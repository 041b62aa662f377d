"""The gate's unix socket server: a thread per connection (32 at most), one JSON request
line of 4096 bytes at most read within 5 s, one JSON reply line; admin operations only for
a peer whose SO_PEERCRED uid is 0 (root: telework-portal-admin).

Self-contained (Debian's Python 3 only).
"""

from __future__ import annotations

import contextlib
import grp
import json
import logging
import os
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any, Protocol

from portal_gate_client import MAX_REQUEST, LineTooLongError, read_line

log = logging.getLogger(__name__)

READ_TIMEOUT = 5.0
MAX_CONNECTIONS = 32


class Handler(Protocol):
    def handle(self, request: Any, admin: bool) -> dict[str, Any]: ...


def peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of a unix socket (SO_PEERCRED)."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def is_admin(uid: int) -> bool:
    """Admin ops (end-user, sessions) are root's only."""
    return uid == 0


class GateServer:
    """The unix socket server: a thread per connection, ``max_connections`` at once."""

    def __init__(
        self,
        gate: Handler,
        path: str,
        *,
        timeout: float = READ_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        uid_of: Callable[[socket.socket], int] = peer_uid,
        group: str = "",
    ) -> None:
        self.gate = gate
        self.path = path
        self.timeout = timeout
        self.uid_of = uid_of
        self.slots = threading.BoundedSemaphore(max_connections)
        self.stopping = threading.Event()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o117)
        try:
            self.listener.bind(path)
        finally:
            os.umask(old)
        os.chmod(path, 0o660)
        if group:
            os.chown(path, -1, grp.getgrnam(group).gr_gid)
        self.listener.listen(64)
        self.listener.settimeout(0.5)

    def serve(self) -> None:
        """Accepts connections until stop()."""
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self.stopping.is_set():
                    return
                raise
            if not self.slots.acquire(blocking=False):
                with conn:
                    conn.settimeout(1.0)
                    with contextlib.suppress(OSError):
                        conn.sendall(b'{"ok":false,"error":"busy"}\n')
                continue
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def _connection(self, conn: socket.socket) -> None:
        try:
            with conn:
                try:
                    line = read_line(conn, MAX_REQUEST, self.timeout)
                except TimeoutError:
                    return  # a peer that says nothing in time is dropped
                except LineTooLongError:
                    reply: dict[str, Any] = {"ok": False, "error": "bad-request"}
                else:
                    try:
                        request = json.loads(line)
                    except ValueError:
                        reply = {"ok": False, "error": "bad-request"}
                    else:
                        reply = self.gate.handle(request, is_admin(self.uid_of(conn)))
                conn.settimeout(self.timeout)
                conn.sendall(json.dumps(reply, separators=(",", ":")).encode() + b"\n")
        except OSError as exc:
            log.warning("connection-failed error=%s", type(exc).__name__)
        except Exception:
            log.exception("connection-crashed")
        finally:
            self.slots.release()
