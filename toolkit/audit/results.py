"""Results of an audit and the go/no-go gate. The models are the JSON report; its JSON
Schema (``toolkit/report/audit-report.schema.json``) is generated from them.

Gate: a result *blocks* when its status is ``fail`` or ``error`` (a control that could
not be evaluated proves nothing), its severity is at or above ``--fail-on``, and no
unexpired waiver covers it. A platform is ``go`` when none of its hosts has a blocking
result and every host was reached. Exit code: 5 when a host could not be reached, else 3
when something blocks, else 0.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from toolkit.audit.catalogue import Severity
from toolkit.audit.registry import Status
from toolkit.exitcodes import ExitCode


class Verdict(StrEnum):
    GO = "go"
    NO_GO = "no-go"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvidenceItem(_Model):
    probe: str = Field(description="The command run on the host or the network probe made.")
    excerpt: str = Field(description="What it saw (the relevant lines).")


class WaiverRef(_Model):
    owner: str
    justification: str
    expires: date
    expired: bool
    hosts: str


class ControlResult(_Model):
    control: str = Field(description="Control ID of the control catalogue (CONTROLS.md).")
    title: str
    severity: Severity
    guide: list[str] = Field(description="Clause IDs of the requirements catalogue.")
    refs: list[str] = Field(description="Outside references (CIS, ANSSI, NIST, RFC).")
    status: Status
    summary: str
    details: list[str] = Field(default_factory=list)
    evidence: list[EvidenceItem] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    profiles: list[str] = Field(default_factory=list)
    duration_s: float
    waiver: WaiverRef | None = None
    blocking: bool = Field(description="Counts against the go/no-go gate.")


class HostResult(_Model):
    host: str
    groups: list[str]
    platforms: list[str]
    ssh: str = Field(description="user@address:port the audit logged in to.")
    address: str = Field(description="Where the host's services were probed.")
    reachable: bool
    error: str | None = Field(default=None, description="Why the host could not be reached.")
    duration_s: float
    verdict: Verdict
    results: list[ControlResult]


class PlatformResult(_Model):
    platform: str
    hosts: list[str]
    verdict: Verdict
    blocking: int
    unreachable: list[str]


class Change(_Model):
    host: str
    control: str
    before: Status | None
    after: Status | None
    was_blocking: bool
    is_blocking: bool
    direction: Literal["better", "worse", "changed", "new", "gone"]


class Baseline(_Model):
    file: str
    started_at: datetime
    changes: list[Change]


class AuditReport(_Model):
    """The result of one ``toolkit audit`` run."""

    model_config = ConfigDict(extra="forbid", title="telework-toolkit audit report")

    schema_version: Literal[1] = 1
    tool: str
    inventory: str
    started_at: datetime
    duration_s: float
    fail_on: Severity
    waivers_file: str | None
    verdict: Verdict
    exit_code: int
    counts: dict[Status, int]
    platforms: list[PlatformResult]
    hosts: list[HostResult]
    requirements: dict[str, str] = Field(description="Text of every clause cited.")
    baseline: Baseline | None = None


def is_blocking(
    status: Status, severity: Severity, waiver: WaiverRef | None, fail_on: Severity
) -> bool:
    if status not in (Status.FAIL, Status.ERROR) or not severity.at_least(fail_on):
        return False
    return waiver is None or waiver.expired


def host_verdict(reachable: bool, results: list[ControlResult]) -> Verdict:
    return Verdict.GO if reachable and not any(r.blocking for r in results) else Verdict.NO_GO


def platforms(hosts: list[HostResult]) -> list[PlatformResult]:
    by_platform: dict[str, list[HostResult]] = {}
    for h in hosts:
        for p in h.platforms:
            by_platform.setdefault(p, []).append(h)
    found = []
    for name, members in sorted(by_platform.items()):
        blocking = sum(1 for h in members for r in h.results if r.blocking)
        unreachable = [h.host for h in members if not h.reachable]
        found.append(
            PlatformResult(
                platform=name,
                hosts=[h.host for h in members],
                verdict=Verdict.GO if not blocking and not unreachable else Verdict.NO_GO,
                blocking=blocking,
                unreachable=unreachable,
            )
        )
    return found


def exit_code(hosts: list[HostResult]) -> ExitCode:
    if any(not h.reachable for h in hosts):
        return ExitCode.UNREACHABLE
    if any(r.blocking for h in hosts for r in h.results):
        return ExitCode.CHECK_FAILED
    return ExitCode.OK


def build_report(
    hosts: list[HostResult],
    *,
    tool: str,
    inventory: str,
    started_at: datetime,
    duration_s: float,
    fail_on: Severity,
    waivers_file: str | None,
    requirements: dict[str, str],
) -> AuditReport:
    counts = dict.fromkeys(Status, 0)
    for h in hosts:
        for r in h.results:
            counts[r.status] += 1
    cited = sorted({c for h in hosts for r in h.results for c in r.guide}, key=_clause_order)
    code = exit_code(hosts)
    return AuditReport(
        tool=tool,
        inventory=inventory,
        started_at=started_at,
        duration_s=duration_s,
        fail_on=fail_on,
        waivers_file=waivers_file,
        verdict=Verdict.GO if code == ExitCode.OK else Verdict.NO_GO,
        exit_code=int(code),
        counts=counts,
        platforms=platforms(hosts),
        hosts=hosts,
        requirements={c: requirements.get(c, "?") for c in cited},
    )


def _clause_order(clause: str) -> tuple[int, int]:
    return ("CAEM".index(clause[0]) if clause[0] in "CAEM" else 9, int(clause[1:] or 0))
