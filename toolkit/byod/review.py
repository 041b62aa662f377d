"""``toolkit byod review REPORT``: the security unit's check of a personal computer (M10).

In order, the first failure refusing the report with nothing recorded: the envelope
(size, strict JSON), the token (issued for this inventory), the seal (HMAC-SHA256 with
the token's digest), the facts (strict model), the facts belong to the token's
teleworker and device, the token is neither used nor expired, the report was made after
the token and not in the future, the teleworker is still eligible. Then BYOD-01..08 are
judged with the audit's catalogue, profiles, results and gate (the same data and code as
``toolkit audit``), the token is taken (once: a second review of it, even at the same
time, is refused), and the device is approved until ``now + days`` when the verdict is
go; a no-go withdraws the device's approval."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from toolkit import __version__
from toolkit.audit.catalogue import Catalogue, Severity
from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Status
from toolkit.audit.registry import Implementation
from toolkit.audit.results import (
    AuditReport,
    ControlResult,
    HostResult,
    Verdict,
    build_report,
    host_verdict,
)
from toolkit.audit.runner import control_result
from toolkit.audit.targets import HostPlan, PlannedControl
from toolkit.byod import windows
from toolkit.byod.device import GROUP, device_plan, personal_device
from toolkit.byod.envelope import Envelope, parse_facts, read_envelope, verify
from toolkit.byod.facts import Facts, ReportContext
from toolkit.byod.store import (
    REVIEWS_DIR,
    Approval,
    TokenRecord,
    TokenState,
    load_token,
    save_approval,
    take_token,
    withdraw_approval,
)
from toolkit.errors import InvalidInputError, Problem, ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.roster.model import Roster

log = logging.getLogger(__name__)

#: How far a collector's clock may be ahead of the controller's.
CLOCK_SKEW = timedelta(minutes=10)


@dataclass(frozen=True)
class Review:
    facts: Facts
    token: TokenRecord
    report: AuditReport
    #: Where the review's HTML, JSON and JUnit reports belong.
    folder: Path
    approval: Approval | None
    withdrawn: bool


def _refuse(path: Path, field: str, message: str) -> InvalidInputError:
    return InvalidInputError([Problem(str(path), 1, field, message)])


def _checked_facts(env: Envelope, record: TokenRecord, now: datetime) -> Facts:
    verify(env, bytes.fromhex(record.key_sha256))
    facts = windows.complete(parse_facts(env))
    for field, mine in (
        ("token_id", record.token_id),
        ("teleworker", record.teleworker),
        ("device", record.device),
    ):
        if getattr(facts, field) != mine:
            raise _refuse(env.path, f"body.{field}", f"is not the token's ({mine})")
    if record.state is TokenState.USED:
        raise ToolkitError(
            f"token {record.token_id} was already used on {record.used_at}: a report is "
            f"reviewed once (toolkit byod enrol {record.teleworker} {record.device})",
            exit_code=ExitCode.CHECK_FAILED,
        )
    if record.expired(now):
        raise ToolkitError(
            f"token {record.token_id} expired on {record.expires_at:%Y-%m-%d %H:%M} UTC "
            f"(toolkit byod enrol {record.teleworker} {record.device} for a new one)",
            exit_code=ExitCode.CHECK_FAILED,
        )
    if not record.issued_at - CLOCK_SKEW <= facts.collected_at <= now + CLOCK_SKEW:
        raise _refuse(
            env.path,
            "body.collected_at",
            f"{facts.collected_at} is not between the token's issue ({record.issued_at}) and now",
        )
    return facts


def judge_control(impl: Implementation, ctx: Context, planned: PlannedControl) -> Outcome:
    """A control's outcome, as the audit's runner makes it: a ControlError or any other
    exception is the control's ``error``, never a pass."""
    try:
        outcome = impl.check(ctx, planned.params)
    except ControlError as exc:
        return Outcome(Status.ERROR, str(exc))
    except Exception as exc:
        log.debug("%s %s", ctx.name, impl.id, exc_info=exc)
        return Outcome(Status.ERROR, f"internal error: {type(exc).__name__}: {exc}")
    return outcome


def judge(
    facts: Facts,
    planned: HostPlan,
    impls: dict[str, Implementation],
    catalogue: Catalogue,
    *,
    source: str,
    fail_on: Severity,
    now: datetime,
) -> AuditReport:
    """The audit report of one personal computer: every planned control over the facts,
    with the audit's results, gate and exit code."""
    base = ReportContext.of(facts, now.date())
    clock = time.monotonic()
    results: list[ControlResult] = []
    for item in planned.controls:
        view = base.for_control()
        began = time.monotonic()
        outcome = judge_control(impls[item.control.id], view, item)
        results.append(
            control_result(
                item,
                outcome=outcome,
                ctx=view,
                evidence=view.evidence,
                duration=time.monotonic() - began,
                waivers=[],
                fail_on=fail_on,
                today=now.date(),
            )
        )
    host = HostResult(
        host=facts.device,
        groups=[GROUP],
        platforms=list(planned.platforms),
        ssh=f"report {source}",
        address="-",
        reachable=True,
        duration_s=round(time.monotonic() - clock, 3),
        verdict=host_verdict(True, results),
        results=results,
    )
    return build_report(
        [host],
        tool=f"telework-toolkit {__version__} (byod review)",
        inventory=source,
        started_at=now.replace(microsecond=0),
        duration_s=host.duration_s,
        fail_on=fail_on,
        waivers_file=None,
        requirements=catalogue.requirements,
    )


def review(
    inventory: Path,
    report_path: Path,
    roster: Roster,
    catalogue: Catalogue,
    impls: dict[str, Implementation],
    *,
    by: str,
    now: datetime,
    days: int,
    fail_on: Severity = Severity.HIGH,
) -> Review:
    """Check ``report_path``, judge it, take its token and record the outcome."""
    env = read_envelope(report_path)
    record = load_token(inventory, env.token_id)
    facts = _checked_facts(env, record, now)
    personal_device(roster, record.teleworker, record.device)
    planned = device_plan(catalogue, inventory, record.device, roster.reference.mail_domains)
    report = judge(
        facts, planned, impls, catalogue, source=str(report_path), fail_on=fail_on, now=now
    )
    verdict = report.verdict
    token = take_token(inventory, record, now=now, digest=env.digest, verdict=str(verdict))
    folder = inventory / REVIEWS_DIR / record.token_id
    approval, withdrawn = None, False
    if verdict is Verdict.GO:
        approval = Approval(
            teleworker=record.teleworker,
            device=record.device,
            approved_by=by,
            approved_at=now,
            expires_at=now + timedelta(days=days),
            report_sha256=env.digest,
            token_id=record.token_id,
            review=str(folder),
        )
        save_approval(inventory, approval)
    else:
        withdrawn = withdraw_approval(inventory, record.teleworker, record.device)
    log.info("%s %s: %s (token %s)", record.teleworker, record.device, verdict, record.token_id)
    return Review(facts, token, report, folder, approval, withdrawn)
