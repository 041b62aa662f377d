"""Run the planned controls: hosts concurrently (a bounded pool), each host's controls one
after the other over one SSH connection, every network call and every control with a
time limit, every command's output capped. A host that cannot be reached (or whose host
key does not match) is reported as such and the others go on. Nothing is written on the
hosts.

Each control gets its own view of the host (its own evidence). A control past its time
limit is an ``error``; its view is closed (what its thread still does is neither run nor
seen) and, when it used SSH, the connection it may still hold is closed and the next
control gets a new one."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import paramiko

from toolkit.adapters.ssh import (
    DEFAULT_MAX_OUTPUT,
    HostKeyError,
    connect,
    sudo_prefix,
    testinfra_host,
)
from toolkit.audit.catalogue import Severity
from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Evidence, Outcome, Status
from toolkit.audit.registry import Implementation
from toolkit.audit.results import (
    ControlResult,
    EvidenceItem,
    HostResult,
    WaiverRef,
    host_verdict,
    is_blocking,
)
from toolkit.audit.targets import HostPlan, PlannedControl
from toolkit.audit.waivers import Waiver, find_waiver

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Time limits (seconds) and concurrency of a run."""

    workers: int = 16
    connect: float = 10.0  # TCP connect, SSH banner, key exchange, login; each probe's I/O
    command: float = 30.0  # one command on a host
    control: float = 90.0  # one control
    host: float = 600.0  # every control of one host
    max_output: int = DEFAULT_MAX_OUTPUT  # bytes read from one stream of one command


class Listener:
    """Progress callbacks (called from the worker threads)."""

    def host_started(self, host: str, controls: int) -> None:
        """A host's audit starts."""

    def control_done(self, host: str, result: ControlResult) -> None:
        """One control of a host has a result."""

    def host_done(self, result: HostResult) -> None:
        """Every control of a host has a result."""


def _run_with_timeout(
    impl: Implementation, ctx: Context, planned: PlannedControl, timeout: float
) -> Outcome | None:
    """The control's outcome, or None when it passed its time limit (``ctx`` is then
    closed: nothing it does afterwards is run or seen)."""
    box: dict[str, Outcome | BaseException] = {}

    def target() -> None:
        try:
            box["outcome"] = impl.check(ctx, planned.params)
        except BaseException as exc:  # reported as the control's error below
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"{ctx.name}-{impl.id}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        ctx.close()
        return None
    error = box.get("error")
    if isinstance(error, ControlError):
        return Outcome(Status.ERROR, str(error))
    if isinstance(error, BaseException):
        log.debug("%s %s", ctx.name, impl.id, exc_info=error)
        return Outcome(Status.ERROR, f"internal error: {type(error).__name__}: {error}")
    outcome = box.get("outcome")
    if not isinstance(outcome, Outcome):
        return Outcome(Status.ERROR, f"internal error: {impl.id} returned {outcome!r}")
    return outcome


def _become_password(path: Path | None) -> str | None:
    """The sudo password kept in ``path`` (first line), or None without a file."""
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError) as exc:
        raise ConnectionError(f"cannot read the sudo password file {path}: {exc}") from exc


def _login(
    plan: HostPlan, ctx: Context, limits: Limits, accept_new: bool
) -> paramiko.SSHClient | None:
    """Log in to the host and give ``ctx`` testinfra's API over it; on failure None, and
    ``ctx.ssh_error`` says why."""
    try:
        password = _become_password(plan.endpoint.become_password_file)
        client = connect(plan.endpoint, timeout=limits.connect, accept_new=accept_new)
    except (HostKeyError, ConnectionError) as exc:
        ctx.ssh_error = f"{plan.endpoint}: {exc}"
        return None
    except (OSError, paramiko.SSHException, EOFError) as exc:
        ctx.ssh_error = f"{plan.endpoint}: {type(exc).__name__}: {exc}".rstrip(": ")
        return None
    ctx.host = testinfra_host(
        client, plan.name, limits.command, password, max_output=limits.max_output
    )
    ctx.sudo = sudo_prefix(password)
    return client


def audit_host(
    plan: HostPlan,
    impls: Mapping[str, Implementation],
    waivers: list[Waiver],
    *,
    limits: Limits,
    fail_on: Severity,
    accept_new_host_keys: bool = False,
    listener: Listener | None = None,
    today: date | None = None,
) -> HostResult:
    listener = listener or Listener()
    today = today or date.today()
    start = time.monotonic()
    listener.host_started(plan.name, len(plan.controls))
    ctx = Context(
        name=plan.name,
        address=plan.address,
        ssh_address=plan.endpoint.host,
        ssh_port=plan.endpoint.port,
        tls_ports=plan.tls_ports,
        http_ports=plan.http_ports,
        probe_timeout=limits.connect,
        server_name=plan.server_name,
        ca_file=plan.ca_file,
        inventory=plan.inventory,
    )
    client: paramiko.SSHClient | None = None
    if any(impls[p.control.id].needs_ssh for p in plan.controls):
        client = _login(plan, ctx, limits, accept_new_host_keys)
    results = []
    try:
        for planned in plan.controls:
            impl = impls[planned.control.id]
            began = time.monotonic()
            view = ctx.for_control()
            finished: Outcome | None = None  # None: the control did not end in time
            if ctx.ssh_error is not None:
                outcome = Outcome(Status.ERROR, f"host not reached: {ctx.ssh_error}")
            elif began - start > limits.host:
                outcome = Outcome(Status.ERROR, f"host time limit of {limits.host:.0f} s reached")
            else:
                finished = _run_with_timeout(impl, view, planned, limits.control)
                outcome = finished or Outcome(Status.ERROR, f"timed out after {limits.control:g} s")
                if finished is None and client is not None and impl.needs_ssh:
                    # it may still wait on the connection: close it under it, and the
                    # next control gets a new one
                    client.close()
                    ctx.host = None
                    client = _login(plan, ctx, limits, accept_new_host_keys)
            results.append(
                _result(
                    planned,
                    outcome=outcome,
                    ctx=view,
                    # a control past its limit: what it collected is discarded with it
                    evidence=view.evidence if finished is not None else [],
                    duration=time.monotonic() - began,
                    waivers=waivers,
                    fail_on=fail_on,
                    today=today,
                )
            )
            listener.control_done(plan.name, results[-1])
    finally:
        if client is not None:
            client.close()
    reachable = ctx.ssh_error is None
    host = HostResult(
        host=plan.name,
        groups=sorted(plan.groups),
        platforms=list(plan.platforms),
        ssh=str(plan.endpoint),
        address=plan.address,
        reachable=reachable,
        error=ctx.ssh_error,
        duration_s=round(time.monotonic() - start, 3),
        verdict=host_verdict(reachable, results),
        results=results,
    )
    listener.host_done(host)
    return host


def _result(
    planned: PlannedControl,
    *,
    outcome: Outcome,
    ctx: Context,
    evidence: list[Evidence],
    duration: float,
    waivers: list[Waiver],
    fail_on: Severity,
    today: date,
) -> ControlResult:
    spec = planned.control.spec
    waiver = find_waiver(waivers, planned.control.id, ctx.name)
    ref = None
    if waiver is not None and outcome.status is not Status.PASS:
        ref = WaiverRef(
            owner=waiver.owner,
            justification=waiver.justification,
            expires=waiver.expires,
            expired=waiver.expired(today),
            hosts=waiver.hosts,
        )
    return ControlResult(
        control=planned.control.id,
        title=spec.title,
        severity=spec.severity,
        guide=list(spec.guide),
        refs=list(spec.refs),
        status=outcome.status,
        summary=outcome.summary,
        details=outcome.details,
        evidence=[EvidenceItem(probe=e.probe, excerpt=e.excerpt) for e in evidence],
        params=dict(planned.params),
        profiles=list(planned.profiles),
        duration_s=round(duration, 3),
        waiver=ref,
        blocking=is_blocking(outcome.status, spec.severity, ref, fail_on),
    )


def run_audit(
    plans: list[HostPlan],
    impls: Mapping[str, Implementation],
    waivers: list[Waiver],
    *,
    limits: Limits,
    fail_on: Severity,
    accept_new_host_keys: bool = False,
    listener: Listener | None = None,
) -> list[HostResult]:
    """Audit every planned host; results in host-name order."""
    if not plans:
        return []
    with ThreadPoolExecutor(
        max_workers=max(1, min(limits.workers, len(plans))), thread_name_prefix="audit"
    ) as pool:
        futures = [
            pool.submit(
                audit_host,
                plan,
                impls,
                waivers,
                limits=limits,
                fail_on=fail_on,
                accept_new_host_keys=accept_new_host_keys,
                listener=listener,
            )
            for plan in plans
        ]
        hosts = [f.result() for f in futures]
    return sorted(hosts, key=lambda h: h.host)
