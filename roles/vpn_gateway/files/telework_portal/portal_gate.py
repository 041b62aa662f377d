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
import logging
import math
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from portal_errors import GateError
from portal_gate_client import GateClient
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
from portal_gate_server import GateServer, is_admin, peer_uid

__all__ = ["GateClient", "GateError", "GateServer", "is_admin", "main", "peer_uid"]

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30.0
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
        self.nft: Nft = nft if nft is not None else NftRunner(config.nft)
        self.clock = clock
        self.db = open_database(config.database)
        self.lock = threading.Lock()
        self.by_address: dict[str, Peer] = {}
        self.devices: dict[str, Peer] = {}
        self._index(config)

    def _index(self, config: GateConfig) -> None:
        by_address: dict[str, Peer] = {}
        for peer in config.peers:
            by_address.update(dict.fromkeys(peer.addresses(), peer))
        self.config = config
        self.by_address = by_address
        self.devices = {peer.device: peer for peer in config.peers}

    def reload(self, config: GateConfig) -> None:
        """New peers (the roster changed) or a reloaded table: the open sessions of devices
        still in the roster are put back in the sets, the others end ('revoked', C5)."""
        with self.lock:
            self._index(config)
        self.restore()

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

    def devices_of(self, user: str) -> list[dict[str, Any]]:
        """The teleworker's devices that are peers now (none: not, or no longer, allowed
        to telework, C5, E1: the portal refuses them before enrolment or login)."""
        return [
            {"device": p.device, "groups": list(p.groups), "gated": self._gated(p)}
            for p in sorted(self.devices.values(), key=lambda p: p.device)
            if p.user == user.lower()
        ]

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
        answers: dict[str, Callable[[], dict[str, Any]]] = {
            "start": lambda: {"session": self.start(user, _text(request, "address"))},
            "end": lambda: {"ended": self.end(user, _text(request, "address"))},
            "status": lambda: {"sessions": self.status(user)},
            "devices": lambda: {"devices": self.devices_of(user)},
        }
        if op in answers:
            return answers[op]()
        if op == "end-user" and request.get("how") in END_HOWS:
            return {"ended": self.end_user(user, str(request["how"]))}
        raise GateError("bad-request")


def _text(request: dict[str, Any], key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str) or len(value) > 256:
        raise GateError("bad-request")
    return value


def _sweeper(
    gate: Gate, stopping: threading.Event, reloading: threading.Event, config_path: str
) -> None:
    """Sweeps every SWEEP_SECONDS; reloads the configuration when asked (SIGHUP)."""
    while not stopping.is_set():
        asked = reloading.wait(SWEEP_SECONDS)
        if stopping.is_set():
            return
        try:
            if asked:
                reloading.clear()
                gate.reload(GateConfig.load(config_path))
                log.info("gate-reloaded peers=%d", len(gate.config.peers))
            else:
                gate.sweep()
        except (OSError, ValueError, KeyError) as exc:
            log.error("reload-failed error=%s", logvalue(exc))  # the old peers stay
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

    reloading = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        server.stopping.set()
        reloading.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, lambda _signum, _frame: reloading.set())
    sweeper = threading.Thread(
        target=_sweeper, args=(gate, server.stopping, reloading, args.config), daemon=True
    )
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
