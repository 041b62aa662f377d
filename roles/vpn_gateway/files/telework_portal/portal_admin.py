"""telework-portal-admin (root): the teleworker portal's sessions seen and ended by the
administration (A17, C5), and a lost device's second factor reset (A4).

    telework-portal-admin sessions [--open] [--json]
    telework-portal-admin end --user ID [--reason revoked|reset] [--json]
    telework-portal-admin reset-totp --user ID [--json]

``end`` ends every open session of a teleworker at once (``toolkit roster revoke`` uses it);
``reset-totp`` deletes the teleworker's TOTP secret and recovery codes in the web app's store
(their next login enrols again), ends their sessions and writes one journal line
``totp-reset user=ID by=root``. The gate answers admin requests from root only.

Self-contained (Debian's Python 3 only).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import re
import sys
import syslog
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TextIO

from portal_errors import GateError
from portal_gate_client import GateClient

SOCKET = "/run/telework-portal-gate/gate.sock"
PORTAL_CONFIG = "/etc/telework-portal/portal.json"
USER_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
COLUMNS = ("id", "user", "device", "groups", "started", "ends", "ended", "how")


class Gate(Protocol):
    def sessions(self, open_only: bool) -> list[dict[str, Any]]: ...

    def end_user(self, user: str, how: str) -> int: ...


class TotpStore(Protocol):
    def reset(self, user: str) -> object: ...


def open_store(path: str) -> TotpStore:
    """The web app's store (portal_store.py, beside this program), imported only when a
    reset needs it."""
    module = importlib.import_module("portal_store")
    store: TotpStore = module.Store(path)
    return store


def keep_owner(database: str) -> None:
    """The store's journal files (-wal, -shm) a reset made as root are given to the
    database's owner, or the portal could no longer write its own store."""
    try:
        owner = os.stat(database)
    except FileNotFoundError:
        return
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.chown(database + suffix, owner.st_uid, owner.st_gid)


def journal(line: str) -> None:
    """One line in the system journal (syslog, facility authpriv)."""
    syslog.openlog("telework-portal-admin", 0, syslog.LOG_AUTHPRIV)
    syslog.syslog(syslog.LOG_NOTICE, line)


def safe(value: object) -> str:
    """``value`` for the terminal: controls, separators and non-ASCII escaped."""
    if isinstance(value, list):
        text = ",".join(str(v) for v in value)
    else:
        text = "-" if value is None else str(value)
    return text.encode("ascii", "backslashreplace").decode().translate(_CONTROLS) or "-"


_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F]}


def store_path(args: argparse.Namespace) -> str:
    """--store, or the ``database`` of the web app's configuration (portal.json)."""
    if args.store:
        return str(args.store)
    config = json.loads(Path(args.portal_config).read_text(encoding="utf-8"))
    path = config.get("database") if isinstance(config, dict) else None
    if not isinstance(path, str) or not path:
        raise ValueError(f"{args.portal_config} names no store")
    return path


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="telework-portal-admin",
        description="The teleworker portal's sessions and second factors.",
    )
    top.add_argument("--socket", default=SOCKET, help="the gate's socket")
    commands = top.add_subparsers(dest="command", required=True)
    sessions = commands.add_parser("sessions", help="sessions of the retention period")
    sessions.add_argument("--open", action="store_true", help="open sessions only")
    end = commands.add_parser("end", help="end every open session of a teleworker")
    end.add_argument("--user", required=True)
    end.add_argument("--reason", choices=("revoked", "reset"), default="revoked")
    reset = commands.add_parser("reset-totp", help="lost device: forget the second factor")
    reset.add_argument("--user", required=True)
    reset.add_argument("--store", help="the web app's store (default: from its config)")
    reset.add_argument("--portal-config", default=PORTAL_CONFIG)
    for command in (sessions, end, reset):
        command.add_argument("--json", action="store_true", help="print JSON")
    return top


def _table(sessions: list[dict[str, Any]], out: TextIO) -> None:
    rows = [[safe(s.get(c)) for c in COLUMNS] for s in sessions]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    for row in [list(COLUMNS), *rows]:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        out.write("\n")


def main(
    argv: list[str] | None = None,
    *,
    gate: Gate | None = None,
    store: Callable[[str], TotpStore] = open_store,
    write_journal: Callable[[str], None] = journal,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    args = parser().parse_args(argv)
    client: Gate = gate if gate is not None else GateClient(args.socket)
    user = str(getattr(args, "user", "") or "").lower()
    if hasattr(args, "user") and not USER_RE.match(user):
        err.write(f"error: {safe(args.user)} is not a user id\n")
        return 2
    result: dict[str, Any] = {}
    try:
        if args.command == "sessions":
            sessions = client.sessions(args.open)
            if args.json:
                out.write(json.dumps(sessions, ensure_ascii=True) + "\n")
            else:
                _table(sessions, out)
            return 0
        if args.command == "reset-totp":
            database = store_path(args)
            store(database).reset(user)
            keep_owner(database)
            write_journal(f"totp-reset user={user} by=root")
            result = {"user": user, "reset": True}
            result["ended"] = client.end_user(user, "reset")
        else:
            result = {"user": user, "ended": client.end_user(user, args.reason)}
    except GateError as exc:
        err.write(f"error: the gate refused or is unreachable: {safe(exc.code)}\n")
        if result:
            err.write(f"the second factor of {user} was reset; end the sessions again\n")
        return 1
    except (OSError, ValueError, ImportError) as exc:
        err.write(f"error: {safe(exc)}\n")
        return 1
    if args.json:
        out.write(json.dumps(result, ensure_ascii=True) + "\n")
    else:
        done = "second factor reset, " if "reset" in result else ""
        out.write(f"{user}: {done}{result['ended']} open session(s) ended\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
