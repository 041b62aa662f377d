"""One audit from start to end: read the catalogue and the inventory, plan, run, build the
report and compare it with a baseline. Writing the report files is toolkit.report.files'
job (the engine never imports the report package); the exit code is the report's
(``AuditReport.exit_code``, decided by :func:`toolkit.audit.results.exit_code` alone)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from toolkit import __version__
from toolkit.adapters.ansible import load_inventory
from toolkit.audit.baseline import compare, load_report
from toolkit.audit.catalogue import Catalogue, Severity, load_catalogue
from toolkit.audit.registry import Implementation, implementations
from toolkit.audit.results import AuditReport, build_report
from toolkit.audit.runner import Limits, Listener, run_audit
from toolkit.audit.targets import HostPlan, plan, select_hosts
from toolkit.audit.waivers import Waiver, load_waivers
from toolkit.paths import project_root


@dataclass(frozen=True)
class Options:
    inventory: Path
    limit: str | None = None
    profiles: tuple[str, ...] = ()
    controls: tuple[str, ...] = ()
    fail_on: Severity = Severity.HIGH
    waivers: Path | None = None  # default: audits/waivers/<inventory folder name>.yml
    baseline: Path | None = None
    limits: Limits = field(default_factory=Limits)
    accept_new_host_keys: bool = False
    audits: Path | None = None  # default: the checkout's audits/
    config_dir: Path | None = None  # network devices' saved configurations (offline)


@dataclass(frozen=True)
class Prepared:
    options: Options
    catalogue: Catalogue
    implementations: dict[str, Implementation]
    plans: list[HostPlan]  # hosts with at least one control
    unprofiled: list[str]  # hosts no profile applies to
    waivers: list[Waiver]
    waivers_file: Path | None
    baseline: AuditReport | None


def default_waivers(audits: Path, inventory: Path) -> Path | None:
    candidate = audits / "waivers" / f"{inventory.name}.yml"
    return candidate if candidate.is_file() else None


def load(audits: Path | None = None) -> Catalogue:
    """The control catalogue of ``audits`` (default: the checkout's audits/), every control
    checked against its implementation."""
    return load_catalogue(audits or project_root() / "audits", frozenset(implementations()))


def prepare(options: Options) -> Prepared:
    """Everything checked before a host is touched: data files, inventory, waivers."""
    audits = options.audits or project_root() / "audits"
    impls = implementations()
    catalogue = load_catalogue(audits, frozenset(impls))
    waivers_file = options.waivers or default_waivers(audits, options.inventory)
    waivers = load_waivers(waivers_file, set(catalogue.controls)) if waivers_file else []
    hosts = load_inventory(options.inventory, with_roster=False)
    plans = plan(
        catalogue,
        select_hosts(hosts, options.limit),
        options.inventory,
        profiles=options.profiles,
        controls=options.controls,
        everyone=hosts,
        config_dir=options.config_dir,
    )
    # a bad baseline is refused before any host is touched
    baseline = load_report(options.baseline) if options.baseline else None
    return Prepared(
        options,
        catalogue,
        impls,
        [p for p in plans if p.controls],
        [p.name for p in plans if not p.controls],
        waivers,
        waivers_file,
        baseline,
    )


def execute(prepared: Prepared, listener: Listener | None = None) -> AuditReport:
    opts = prepared.options
    started = datetime.now(UTC).replace(microsecond=0)
    clock = time.monotonic()
    hosts = run_audit(
        prepared.plans,
        prepared.implementations,
        prepared.waivers,
        limits=opts.limits,
        fail_on=opts.fail_on,
        accept_new_host_keys=opts.accept_new_host_keys,
        listener=listener,
    )
    report = build_report(
        hosts,
        tool=f"telework-toolkit {__version__}",
        inventory=str(opts.inventory),
        started_at=started,
        duration_s=round(time.monotonic() - clock, 3),
        fail_on=opts.fail_on,
        waivers_file=str(prepared.waivers_file) if prepared.waivers_file else None,
        requirements=prepared.catalogue.requirements,
    )
    if prepared.baseline is not None:
        report.baseline = compare(prepared.baseline, report, str(opts.baseline))
    return report


def default_output(inventory: Path, started: datetime) -> Path:
    return project_root() / "reports" / "audit" / f"{inventory.name}-{started:%Y%m%d-%H%M%S}"
