"""The business continuity plan's figures (A5): per platform, its owner, what is backed up
with which RPO, the last backup, the last restore drill and the RTO it measured.

Platforms are the inventory's groups of servers (``directory_servers``, ``mail_servers``,
...; not ``servers`` itself). Data of the inventory, documented in docs/backup.md:

- ``continuity_owner``: who answers for restoring the platform (a unit, a role; host or
  group variable, e.g. group_vars/directory_servers/continuity.yml);
- ``continuity_rto_hours``: the restore time the plan promises (optional); the measured
  RTO is judged against it.

The backups come from each server's status.json (toolkit.backup.survey), the drills from
the evidence ``toolkit backup drill`` writes (the newest per host, on the control node or
the host's copy). Nothing is guessed: a figure that does not exist is None and says why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from toolkit.audit.targets import NOT_PLATFORMS
from toolkit.backup.status import MAX_BYTES, DrillEvidence, parse_drill, safe
from toolkit.backup.survey import HostBackup
from toolkit.errors import ToolkitError
from toolkit.report.pages import clause_texts, render, write_atomically

#: Groups holding the repositories: not clients, listed for the plan without an RPO.
REPOSITORY_GROUPS = frozenset({"backup_servers"})
_JSON = re.compile(r"^continuity-(\d{4}-\d{2}-\d{2})\.json$")

PlatformState = Literal["ok", "incomplete", "repositories"]


class HostFigures(BaseModel):
    host: str
    last_backup: datetime | None
    backup_state: str
    last_drill: datetime | None
    drill_result: str
    rto_seconds: float | None
    note: str = ""


class Platform(BaseModel):
    platform: str
    owner: str
    hosts: list[HostFigures]
    sources: list[str]
    rpo_hours: float | None
    last_backup: datetime | None
    last_drill: datetime | None
    rto_seconds: float | None
    rto_target_hours: float | None
    state: PlatformState
    missing: list[str]


class Continuity(BaseModel):
    inventory: str
    generated_at: datetime
    clauses: list[str] = ["A5", "A9"]
    platforms: list[Platform]
    complete: bool


def _host(found: HostBackup | None, drill: DrillEvidence | None, name: str) -> HostFigures:
    status = found.status if found else None
    states = sorted({r.state for r in (found.rows if found else [])})
    note = ""
    if found is None:
        note = "not read"
    elif found.unreachable:
        note = f"unreachable: {found.unreachable}"
    elif found.problems:
        note = f"invalid status: {found.problems[0]}"
    return HostFigures(
        host=name,
        last_backup=status.last_success if status else None,
        backup_state=("ok" if states == ["ok"] else "/".join(states)) or "unknown",
        last_drill=drill.finished if drill else None,
        drill_result=drill.result if drill else "never",
        rto_seconds=drill.rto_seconds if drill and drill.result == "passed" else None,
        note=note,
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None


def build(
    inventory: str,
    hosts: Mapping[str, tuple[frozenset[str], Mapping[str, object]]],
    found: list[HostBackup],
    drills: Mapping[str, DrillEvidence],
    now: datetime,
) -> Continuity:
    """The plan's figures from the inventory (host -> groups, variables), what the servers
    said and the newest drill of each host."""
    by_host = {h.host: h for h in found}
    names = sorted({g for groups, _ in hosts.values() if "servers" in groups for g in groups})
    platforms = []
    for group in (g for g in names if g not in NOT_PLATFORMS):
        members = sorted(h for h, (groups, _) in hosts.items() if group in groups)
        owners = sorted({safe(str(hosts[h][1].get("continuity_owner") or "")) for h in members})
        owners = [o for o in owners if o]
        targets = [_number(hosts[h][1].get("continuity_rto_hours")) for h in members]
        figures = [_host(by_host.get(h), drills.get(h), h) for h in members]
        statuses = [st for h in members if h in by_host and (st := by_host[h].status)]
        sources = sorted({s.name for st in statuses for s in st.sources})
        rpos = [s.rpo_hours for st in statuses for s in st.sources]
        backups = [f.last_backup for f in figures]
        drilled = [f.last_drill for f in figures]
        rtos = [f.rto_seconds for f in figures]
        missing = []
        if not owners:
            missing.append("owner (continuity_owner)")
        state: PlatformState = "ok"
        if group in REPOSITORY_GROUPS:
            state = "repositories"
        else:
            if not rpos:
                missing.append("RPO (no backup source reported)")
            if None in backups:
                missing.append("a successful backup of every host")
            if None in rtos:
                missing.append("an RTO measured by a passed drill of every host")
            if missing:
                state = "incomplete"
        if group in REPOSITORY_GROUPS and missing:
            state = "incomplete"
        platforms.append(
            Platform(
                platform=group,
                owner=", ".join(owners),
                hosts=figures,
                sources=sources,
                rpo_hours=min(rpos) if rpos else None,
                last_backup=None
                if None in backups or not backups
                else min(b for b in backups if b),
                last_drill=None if None in drilled or not drilled else min(d for d in drilled if d),
                rto_seconds=None
                if None in rtos or not rtos
                else max(r for r in rtos if r is not None),
                rto_target_hours=min((t for t in targets if t), default=None),
                state=state,
                missing=missing,
            )
        )
    return Continuity(
        inventory=inventory,
        generated_at=now,
        platforms=platforms,
        complete=all(p.state != "incomplete" for p in platforms),
    )


def newest_drills(folder: Path) -> dict[str, DrillEvidence]:
    """The newest evidence of each host in ``folder`` (``<host>-<stamp>.json``); a file
    that is not a drill evidence is an error naming it."""
    newest: dict[str, DrillEvidence] = {}
    if not folder.is_dir():
        return newest
    for path in sorted(folder.glob("*.json")):
        with path.open("rb") as fh:
            evidence = parse_drill(fh.read(MAX_BYTES + 1), str(path))
        kept = newest.get(evidence.host)
        if kept is None or evidence.finished > kept.finished:
            newest[evidence.host] = evidence
    return newest


def merge_drills(
    local: Mapping[str, DrillEvidence], found: list[HostBackup]
) -> dict[str, DrillEvidence]:
    """The newer of the control node's evidence and the host's copy, per host."""
    merged = dict(local)
    for h in found:
        if h.drill and (h.host not in merged or h.drill.finished > merged[h.host].finished):
            merged[h.host] = h.drill
    return merged


def html(plan: Continuity, audits: Path | None = None) -> str:
    return render(
        "continuity.html.j2", plan=plan, clauses=clause_texts(tuple(plan.clauses), audits)
    )


def json_text(plan: Continuity) -> str:
    return plan.model_dump_json(indent=2) + "\n"


def write(plan: Continuity, folder: Path, audits: Path | None = None) -> dict[str, Path]:
    stem = f"continuity-{plan.generated_at.date().isoformat()}"
    return {
        "html": write_atomically(folder / f"{stem}.html", html(plan, audits), 0o644),
        "json": write_atomically(folder / f"{stem}.json", json_text(plan), 0o644),
    }


def latest(folder: Path) -> tuple[Continuity, date] | None:
    """The newest ``continuity-<date>.json`` of ``folder`` and its date, or None."""
    if not folder.is_dir():
        return None
    dated = [(m[1], p) for p in folder.iterdir() if (m := _JSON.match(p.name))]
    if not dated:
        return None
    day, path = max(dated)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Continuity.model_validate(data), date.fromisoformat(day)
    except (ValueError, OSError) as exc:
        raise ToolkitError(f"{path}: not a continuity report: {safe(str(exc))}") from exc
