"""Read every server's backup status and drill copy over SSH, hosts in parallel, each
with its time limit; a host's failure is its own row, never the others'."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from pydantic import BaseModel

from toolkit.backup.remote import Session, Target, UnreachableError, with_session
from toolkit.backup.status import (
    DRILL_FILE,
    MAX_BYTES,
    STATUS_FILE,
    BackupStatus,
    DrillEvidence,
    SourceRow,
    judge,
    parse_drill,
    parse_status,
    safe,
)
from toolkit.errors import InvalidInputError, Problem, ToolkitError


class HostBackup(BaseModel):
    """What one server says of its backups; ``problems`` when a file is malformed,
    ``unreachable`` when it could not be read."""

    host: str
    groups: list[str]
    status: BackupStatus | None = None
    drill: DrillEvidence | None = None
    rows: list[SourceRow] = []
    problems: list[str] = []
    unreachable: str = ""


def _read(session: Session) -> tuple[bytes | None, bytes | None]:
    return session.read(STATUS_FILE, MAX_BYTES), session.read(DRILL_FILE, MAX_BYTES)


Reader = Callable[[Target], tuple[bytes | None, bytes | None]]


def ssh_reader(timeout: float) -> Reader:
    return lambda target: with_session(target, timeout, _read)


def judge_host(
    target: Target, status_raw: bytes | None, drill_raw: bytes | None, now: datetime
) -> HostBackup:
    """One host's row from the bytes read there (kept apart from SSH for the tests)."""
    found = HostBackup(host=target.name, groups=sorted(target.groups))
    problems: list[Problem] = []
    if status_raw is not None:
        try:
            found.status = parse_status(status_raw, target.name)
        except InvalidInputError as exc:
            problems += exc.problems
    if drill_raw is not None:
        try:
            found.drill = parse_drill(drill_raw, f"{target.name}:{DRILL_FILE}")
        except InvalidInputError as exc:
            problems += exc.problems
    found.problems = [str(p) for p in problems]
    if status_raw is None or found.status is not None:
        found.rows = judge(found.status, target.name, now)
    return found


def survey(
    targets: Iterable[Target], now: datetime, reader: Reader, workers: int = 8
) -> list[HostBackup]:
    """Every target's status, in the targets' order."""

    def one(target: Target) -> HostBackup:
        try:
            status_raw, drill_raw = reader(target)
        except UnreachableError as exc:
            return HostBackup(
                host=target.name, groups=sorted(target.groups), unreachable=safe(str(exc))
            )
        except ToolkitError as exc:
            return HostBackup(
                host=target.name, groups=sorted(target.groups), problems=[safe(str(exc))]
            )
        return judge_host(target, status_raw, drill_raw, now)

    chosen = list(targets)
    if not chosen:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(chosen))) as pool:
        return list(pool.map(one, chosen))
