"""Results of an audit and the go/no-go gate. The models are the JSON report; its JSON
Schema (``toolkit/report/audit-report.schema.json``) is generated from them.

Every string in these models comes out printable (:func:`toolkit.text.printable`): a host's
answer, an inventory name, a waiver's text or a baseline file can carry terminal escapes,
bidi overrides or characters XML refuses, and this is the one place they are made visible
(``\\x1b``) before any report, terminal included, shows them. Evidence and multi-line
texts keep their newlines and tabs. Assignments are validated too.

Gate: a result *blocks* when its status is ``fail`` or ``error`` (a control that could
not be evaluated proves nothing), its severity is at or above ``--fail-on``, and no
unexpired waiver covers it. A platform is ``go`` when none of its hosts has a blocking
result and every host was reached. Exit code: 5 when a host could not be reached, else 3
when something blocks, else 0.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from toolkit.audit.catalogue import Severity
from toolkit.audit.model import Status
from toolkit.exitcodes import ExitCode
from toolkit.text import printable


def _lines(value: str) -> str:
    return printable(value, multiline=True)


def _printable_values(value: Any) -> Any:
    """Every string in a parameter value (keys too) made printable."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {_printable_values(k): _printable_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable_values(v) for v in value]
    return value


#: One line of text from outside, shown safely.
Shown = Annotated[str, AfterValidator(printable)]
#: Text from outside that may hold several lines (evidence, commands).
ShownLines = Annotated[str, AfterValidator(_lines)]


class Verdict(StrEnum):
    GO = "go"
    NO_GO = "no-go"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EvidenceItem(_Model):
    probe: ShownLines = Field(description="The command run on the host or the network probe made.")
    excerpt: ShownLines = Field(description="What it saw (the relevant lines).")


class WaiverRef(_Model):
    owner: Shown
    justification: Shown
    expires: date
    expired: bool
    hosts: Shown


class ControlResult(_Model):
    control: Shown = Field(description="Control ID of the catalogue (docs/controls.md).")
    title: Shown
    severity: Severity
    guide: list[Shown] = Field(description="Clause IDs of the requirements catalogue.")
    refs: list[Shown] = Field(description="Outside references (CIS, ANSSI, NIST, RFC).")
    status: Status
    summary: Shown
    details: list[Shown] = Field(default_factory=list)
    evidence: list[EvidenceItem] = Field(default_factory=list)
    params: Annotated[dict[str, Any], AfterValidator(_printable_values)] = Field(
        default_factory=dict
    )
    profiles: list[Shown] = Field(default_factory=list)
    duration_s: float
    waiver: WaiverRef | None = None
    blocking: bool = Field(description="Counts against the go/no-go gate.")


class HostResult(_Model):
    host: Shown
    groups: list[Shown]
    platforms: list[Shown]
    ssh: Shown = Field(description="user@address:port the audit logged in to.")
    address: Shown = Field(description="Where the host's services were probed.")
    reachable: bool
    error: Shown | None = Field(default=None, description="Why the host could not be reached.")
    duration_s: float
    verdict: Verdict
    results: list[ControlResult]


class PlatformResult(_Model):
    platform: Shown
    hosts: list[Shown]
    verdict: Verdict
    blocking: int
    unreachable: list[Shown]


class Change(_Model):
    host: Shown
    control: Shown
    before: Status | None
    after: Status | None
    was_blocking: bool
    is_blocking: bool
    direction: Literal["better", "worse", "changed", "new", "gone"]


class Baseline(_Model):
    file: Shown
    started_at: datetime
    changes: list[Change]


class AuditReport(_Model):
    """The result of one ``toolkit audit`` run."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, title="telework-toolkit audit report"
    )

    schema_version: Literal[1] = 1
    tool: Shown
    inventory: Shown
    started_at: datetime
    duration_s: float
    fail_on: Severity
    waivers_file: Shown | None
    verdict: Verdict
    exit_code: int
    counts: dict[Status, int]
    platforms: list[PlatformResult]
    hosts: list[HostResult]
    requirements: dict[Shown, Shown] = Field(description="Text of every clause cited.")
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
    """The exit code of an audit that ran: the one place it is decided (the report carries
    it, the CLI exits with it). 5 when a host could not be reached, else 3 when a result
    blocks, else 0."""
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
