"""Run the planned controls: hosts concurrently (a bounded pool of ``workers``), and a
host's controls concurrently too (at most ``host_concurrency`` at once) over its one SSH
connection, each command on a channel of its own; every network call and every control
with a time limit, every command's output capped. A host that cannot be reached (or whose
host key does not match) is reported as such and the others go on. Nothing is written on
the hosts. Results come out in the plan's order, whatever order they finished in.

Each control gets its own view of the host (its own evidence and SSH channels). A
control past its time limit is an ``error``; its view is closed: its channels are closed
(the controls running beside it keep theirs and the connection), and what its thread
still does is neither run nor seen. The connection is replaced only when it is broken
(at most MAX_RELOGINS times a host), for the controls that start afterwards."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import paramiko

from toolkit.adapters.ssh import (
    DEFAULT_MAX_OUTPUT,
    OFFER_MEMO,
    HostKeyError,
    become_password,
    connect,
    connection_offer,
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
from toolkit.netdev import collect
from toolkit.netdev.model import DeviceError

log = logging.getLogger(__name__)


#: Most controls of one host run at once (``--host-concurrency``): OpenSSH's MaxSessions
#: default. Role baseline keeps sshd's MaxSessions at least this (baseline_ssh_max_sessions).
MAX_HOST_CONCURRENCY = 10


@dataclass(frozen=True)
class Limits:
    """Time limits (seconds) and concurrency of a run."""

    workers: int = 16
    connect: float = 10.0  # TCP connect, SSH banner, key exchange, login; each probe's I/O
    command: float = 30.0  # one command on a host
    control: float = 90.0  # one control
    host: float = 600.0  # every control of one host
    max_output: int = DEFAULT_MAX_OUTPUT  # bytes read from one stream of one command
    #: Controls of one host run at once, each command on its own channel of the host's
    #: one connection (OpenSSH allows 10 sessions a connection: MaxSessions).
    host_concurrency: int = 6


#: A host whose connection breaks is logged in to again at most this many times.
MAX_RELOGINS = 2


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


def _login(
    plan: HostPlan, ctx: Context, limits: Limits, accept_new: bool
) -> paramiko.SSHClient | None:
    """Log in to the host and give ``ctx`` testinfra's API over it; on failure None, and
    ``ctx.ssh_error`` says why."""
    try:
        password = become_password(plan.endpoint.become_password_file)
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
    offer = connection_offer(client)
    if offer is not None:  # LNX-03/04 read it instead of probing on a connection of their own
        ctx.memo(OFFER_MEMO, lambda: offer)
    return client


class _Session:
    """A host's one SSH connection, shared by its controls; replaced when it breaks."""

    def __init__(self, plan: HostPlan, ctx: Context, limits: Limits, accept_new: bool) -> None:
        self.plan, self.ctx, self.limits, self.accept_new = plan, ctx, limits, accept_new
        self.client: paramiko.SSHClient | None = None
        self.relogins = 0
        self._lock = threading.Lock()

    def open(self) -> None:
        self.client = _login(self.plan, self.ctx, self.limits, self.accept_new)

    def view(self) -> Context:
        """A control's own view of the host, on the current connection."""
        with self._lock:
            return self.ctx.for_control()

    def heal(self) -> None:
        """Log in again if the connection is broken, for the controls still to start."""
        with self._lock:
            if self.client is None or self.ctx.ssh_error is not None:
                return
            transport = self.client.get_transport()
            if transport is not None and transport.is_active():
                return
            if self.relogins >= MAX_RELOGINS:
                return
            self.relogins += 1
            log.info("%s: SSH connection lost, logging in again", self.plan.name)
            self.client.close()
            self.ctx.host = None
            self.client = _login(self.plan, self.ctx, self.limits, self.accept_new)

    def close(self) -> None:
        with self._lock:
            if self.client is not None:
                self.client.close()


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
        today=today,
    )
    session = _Session(plan, ctx, limits, accept_new_host_keys)
    if plan.device is not None:  # a network device: its configuration, read once
        try:
            ctx.device = collect.load(
                plan.device,
                timeout=limits.connect,
                command_timeout=limits.command,
                max_output=limits.max_output,
                accept_new=accept_new_host_keys,
            )
        except DeviceError as exc:
            ctx.ssh_error = f"{plan.device}: {exc}"
    elif any(impls[p.control.id].needs_ssh for p in plan.controls):
        session.open()

    def run_one(planned: PlannedControl) -> ControlResult:
        impl = impls[planned.control.id]
        began = time.monotonic()
        view = session.view()
        finished: Outcome | None = None  # None: the control did not end in time
        if ctx.ssh_error is not None:
            outcome = Outcome(Status.ERROR, f"host not reached: {ctx.ssh_error}")
        elif began - start > limits.host:
            outcome = Outcome(Status.ERROR, f"host time limit of {limits.host:.0f} s reached")
        else:
            # past its limit, its view (and so its channels) is closed under it
            finished = _run_with_timeout(impl, view, planned, limits.control)
            outcome = finished or Outcome(Status.ERROR, f"timed out after {limits.control:g} s")
            if impl.needs_ssh:
                session.heal()
        result = control_result(
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
        listener.control_done(plan.name, result)
        return result

    try:
        with ThreadPoolExecutor(
            max_workers=max(1, min(limits.host_concurrency, len(plan.controls))),
            thread_name_prefix=f"audit-{plan.name}",
        ) as pool:
            # submitted in the plan's order, collected in it: the order of the report
            results = list(pool.map(run_one, plan.controls))
    finally:
        session.close()
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


def control_result(
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
