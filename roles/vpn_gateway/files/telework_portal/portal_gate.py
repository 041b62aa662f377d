"""The teleworker portal's gate (E23, A17, A4, E12, A3): the only part of the portal that
changes nftables. A teleworker of a gated VPN group who has signed in to the portal (second
factor, A4) starts work: the gate adds their device's addresses to the group's open sets for
the rest of their schedule's span (``max_seconds`` at most); ending work, expiry (E12),
revocation (C5) or a TOTP reset remove them. Sessions are kept in sqlite (A17: the
administration checks start and end of work electronically) for ``retention_days`` (A3);
every start and end is one key=value line on stdout (journald).

Protocol: a unix socket, one JSON request line (4096 bytes at most, read within 5 s), one
JSON reply line; admin ops only for a peer whose SO_PEERCRED uid is 0.

    python3 portal_gate.py --config /etc/telework-portal/gate.json

Self-contained (Debian's Python 3 only).
"""

from __future__ import annotations

import argparse
import contextlib
import grp
import json
import logging
import math
import os
import signal
import socket
import sqlite3
import struct
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from portal_errors import GateError
from portal_gate_client import MAX_REQUEST, GateClient, LineTooLongError, read_line
from portal_gate_config import (
    USER_RE,
    GateConfig,
    Nft,
    NftRunner,
    Peer,
    close_batch,
    logvalue,
    normal_address,
    open_batch,
)

__all__ = ["GateClient", "GateError", "main"]

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30.0
READ_TIMEOUT = 5.0
MAX_CONNECTIONS = 32
ADMIN_OPS = frozenset({"end-user", "sessions"})
END_HOWS = frozenset({"revoked", "reset"})

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY, user TEXT NOT NULL, device TEXT NOT NULL,
    address_v4 TEXT NOT NULL, address_v6 TEXT NOT NULL, groups TEXT NOT NULL,
    started REAL NOT NULL, ends REAL NOT NULL, ended REAL, how TEXT);
CREATE INDEX IF NOT EXISTS sessions_open ON sessions (ended, device);
CREATE INDEX IF NOT EXISTS sessions_started ON sessions (started);
"""
COLUMNS = "id, user, device, address_v4, address_v6, groups, started, ends, ended, how"


def open_database(path: str) -> sqlite3.Connection:
    """The sessions database, in WAL mode, autocommit (one statement, one transaction)."""
    conn = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SCHEMA)
    return conn


class Gate:
    """The gate's operations; thread-safe (one lock around the database and nft)."""

    def __init__(
        self,
        config: GateConfig,
        nft: Nft | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.nft: Nft = nft if nft is not None else NftRunner(config.nft)
        self.clock = clock
        self.db = open_database(config.database)
        self.lock = threading.Lock()
        self.by_address: dict[str, Peer] = {}
        for peer in config.peers:
            self.by_address.update(dict.fromkeys(peer.addresses(), peer))
        self.devices = {peer.device: peer for peer in config.peers}

    def close(self) -> None:
        self.db.close()

    # --- helpers ---------------------------------------------------------------------

    def _iso(self, ts: float | None) -> str | None:
        if ts is None:
            return None
        return datetime.fromtimestamp(ts, self.config.timezone).isoformat(timespec="seconds")

    def _session(self, row: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": row["id"],
            "user": row["user"],
            "device": row["device"],
            "groups": [g for g in row["groups"].split(",") if g],
            "started": self._iso(row["started"]),
            "ends": self._iso(row["ends"]),
            "ended": self._iso(row["ended"]),
            "how": row["how"],
        }

    def _gated(self, peer: Peer) -> list[str]:
        return [g for g in peer.groups if g in self.config.gated_groups]

    def _peer(self, user: str, address: str) -> Peer:
        peer = self.by_address.get(normal_address(address))
        if peer is None:
            raise GateError("unknown-address")
        if peer.user != user.lower():
            raise GateError("not-your-device")
        return peer

    def _open_rows(self, where: str, *args: object) -> list[sqlite3.Row]:
        sql = f"SELECT {COLUMNS} FROM sessions WHERE ended IS NULL AND {where} ORDER BY id"  # noqa: S608
        return list(self.db.execute(sql, args))

    def _end(self, row: sqlite3.Row, how: str, at: float, firewall: bool = True) -> None:
        """Ends one open session: its elements removed (one batch), then the row."""
        groups = [g for g in row["groups"].split(",") if g]
        addresses = [a for a in (row["address_v4"], row["address_v6"]) if a]
        if firewall and groups and addresses:
            self.nft(close_batch(self.config.table, addresses, groups))
        self.db.execute(
            "UPDATE sessions SET ended = ?, how = ? WHERE id = ? AND ended IS NULL",
            (at, how, row["id"]),
        )
        log.info(
            "session-end id=%d user=%s device=%s how=%s at=%s",
            row["id"],
            logvalue(row["user"]),
            logvalue(row["device"]),
            logvalue(how),
            self._iso(at),
        )

    # --- operations ------------------------------------------------------------------

    def whois(self, address: str) -> dict[str, Any] | None:
        peer = self.by_address.get(normal_address(address))
        if peer is None:
            return None
        return {
            "user": peer.user,
            "device": peer.device,
            "groups": list(peer.groups),
            "gated": self._gated(peer),
        }

    def start(self, user: str, address: str) -> dict[str, Any]:
        """Opens the device's gated groups until the end of the schedule's span (E23)."""
        peer = self._peer(user, address)
        groups = self._gated(peer)
        if not groups:
            raise GateError("not-gated")
        with self.lock:
            now = self.clock()
            at = datetime.fromtimestamp(now, self.config.timezone)
            end = peer.schedule.session_end(
                at, self.config.workdays, self.config.timezone, self.config.max_seconds
            )
            if end is None:
                raise GateError("outside-schedule")
            ends = end.timestamp()
            for row in self._open_rows("device = ?", peer.device):
                self._end(row, "replaced", now)
            self.nft(open_batch(self.config.table, peer.addresses(), groups, math.ceil(ends - now)))
            cursor = self.db.execute(
                "INSERT INTO sessions (user, device, address_v4, address_v6, groups, started,"
                " ends) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (peer.user, peer.device, peer.address_v4, peer.address_v6, ",".join(groups),
                 now, ends),
            )  # fmt: skip
            row = self._open_rows("id = ?", cursor.lastrowid)[0]
        log.info(
            "session-start id=%d user=%s device=%s address=%s groups=%s ends=%s",
            row["id"],
            logvalue(peer.user),
            logvalue(peer.device),
            logvalue(normal_address(address)),
            logvalue(",".join(groups)),
            self._iso(ends),
        )
        return self._session(row)

    def end(self, user: str, address: str) -> int:
        """Ends the open session of the teleworker's device at ``address`` (end of work)."""
        peer = self._peer(user, address)
        with self.lock:
            rows = self._open_rows("device = ?", peer.device)
            for row in rows:
                self._end(row, "end-work", self.clock())
        return len(rows)

    def end_user(self, user: str, how: str) -> int:
        """Ends every open session of a teleworker (revocation C5, TOTP reset)."""
        with self.lock:
            rows = self._open_rows("user = ?", user.lower())
            for row in rows:
                self._end(row, how, self.clock())
        return len(rows)

    def status(self, user: str) -> list[dict[str, Any]]:
        with self.lock:
            return [self._session(r) for r in self._open_rows("user = ?", user.lower())]

    def sessions(self, open_only: bool) -> list[dict[str, Any]]:
        with self.lock:
            if open_only:
                return [self._session(r) for r in self._open_rows("1")]
            rows = self.db.execute(f"SELECT {COLUMNS} FROM sessions ORDER BY id")  # noqa: S608
            return [self._session(r) for r in rows]

    def sweep(self) -> None:
        """E12: sessions past their end marked 'expired' (their elements time out by
        themselves); A3: rows older than the retention period deleted."""
        with self.lock:
            now = self.clock()
            for row in self._open_rows("ends <= ?", now):
                self._end(row, "expired", row["ends"], firewall=False)
            cutoff = now - self.config.retention_days * 86400
            self.db.execute("DELETE FROM sessions WHERE started < ?", (cutoff,))

    def restore(self) -> None:
        """At start-up (the table may have been reloaded): open sessions re-added with their
        remaining time; those of a device no longer in the roster ended ('revoked')."""
        self.sweep()
        with self.lock:
            now = self.clock()
            for row in self._open_rows("1"):
                peer = self.devices.get(row["device"])
                if peer is None or peer.user != row["user"]:
                    self._end(row, "revoked", now, firewall=False)
                    continue
                groups = [g for g in row["groups"].split(",") if g]
                addresses = [a for a in (row["address_v4"], row["address_v6"]) if a]
                seconds = max(1, math.ceil(row["ends"] - now))
                try:
                    self.nft(open_batch(self.config.table, addresses, groups, seconds))
                except GateError:
                    log.error("session-restore-failed id=%d", row["id"])

    # --- protocol --------------------------------------------------------------------

    def handle(self, request: Any, admin: bool) -> dict[str, Any]:
        """The reply to one request; ``admin``: the peer is root."""
        try:
            return {"ok": True, **self._dispatch(request, admin)}
        except GateError as exc:
            return {"ok": False, "error": exc.code}
        except (ValueError, TypeError, KeyError):
            return {"ok": False, "error": "bad-request"}

    def _dispatch(self, request: Any, admin: bool) -> dict[str, Any]:
        if not isinstance(request, dict) or not isinstance(request.get("op"), str):
            raise GateError("bad-request")
        op = request["op"]
        if op in ADMIN_OPS and not admin:
            raise GateError("forbidden")
        if op == "whois":
            return {"peer": self.whois(_text(request, "address"))}
        if op == "sessions":
            if not isinstance(request.get("open", False), bool):
                raise GateError("bad-request")
            return {"sessions": self.sessions(bool(request.get("open", False)))}
        user = _text(request, "user")
        if not USER_RE.match(user):
            raise GateError("bad-request")
        if op == "start":
            return {"session": self.start(user, _text(request, "address"))}
        if op == "end":
            return {"ended": self.end(user, _text(request, "address"))}
        if op == "status":
            return {"sessions": self.status(user)}
        if op == "end-user" and request.get("how") in END_HOWS:
            return {"ended": self.end_user(user, str(request["how"]))}
        raise GateError("bad-request")


def _text(request: dict[str, Any], key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str) or len(value) > 256:
        raise GateError("bad-request")
    return value


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
        gate: Gate,
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


def _sweeper(gate: Gate, stopping: threading.Event) -> None:
    while not stopping.wait(SWEEP_SECONDS):
        try:
            gate.sweep()
        except sqlite3.Error:
            log.exception("sweep-failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The teleworker portal's gate (nftables).")
    parser.add_argument("--config", default="/etc/telework-portal/gate.json")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    try:
        config = GateConfig.load(args.config)
    except (OSError, ValueError, KeyError) as exc:
        log.error("config-invalid path=%s error=%s", logvalue(args.config), logvalue(exc))
        return 2
    Path(config.database).parent.mkdir(parents=True, exist_ok=True)
    gate = Gate(config)
    gate.restore()
    server = GateServer(gate, config.socket, group=config.socket_group)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        server.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sweeper = threading.Thread(target=_sweeper, args=(gate, server.stopping), daemon=True)
    sweeper.start()
    log.info("gate-ready socket=%s peers=%d", logvalue(config.socket), len(config.peers))
    try:
        server.serve()
    finally:
        server.stop()
        gate.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
