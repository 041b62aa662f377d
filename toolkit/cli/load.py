"""``toolkit load``: how many teleworkers does a platform carry (A20)? Locust load tests
with a stepped ramp and SLO thresholds; the ceiling found is saved for ``toolkit capacity
plan``."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from toolkit.adapters.ansible import load_inventory
from toolkit.adapters.process import run
from toolkit.capacity.inputs import load_declared, load_profile, save_ceiling
from toolkit.cli.common import inventory_options, out
from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.load.config import (
    LOOPBACK,
    MAX_SECONDS,
    LoadConfig,
    Probe,
    Slo,
    allowed_target,
    stepped,
)
from toolkit.load.results import LoadResult
from toolkit.roster.reference import REFERENCE_FILE, load_reference
from toolkit.text import printable

#: Extra time a run process gets beyond its ramp (worker start, cleanup).
RUN_MARGIN_SECONDS = 180


@click.group()
def load() -> None:
    """Load tests with simulated teleworkers (Locust): mail now; VPN (WireGuard handshakes,
    iperf3 throughput), groupware (web login, CalDAV) and the meeting service come later
    and are not available yet."""


def _inventory_hosts(inventory: Path) -> dict[str, dict[str, Any]]:
    return {name: dict(h.vars) for name, h in load_inventory(inventory, with_roster=False).items()}


def _addresses(hosts: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Inventory host name -> the address its services are reached at."""
    found = {}
    for name, hvars in hosts.items():
        address = hvars.get("audit_address") or hvars.get("ansible_host")
        if address:
            found[name] = str(address)
    return found


def _probe_from_inventory(hosts: dict[str, dict[str, Any]], inventory: Path) -> Probe:
    """The audit's probe mailbox (audit_params MAIL-11 of a mail server): the directory
    role's probe account."""
    for hvars in hosts.values():
        params = (hvars.get("audit_params") or {}).get("MAIL-11") or {}
        if params.get("login") and params.get("address") and params.get("password_path"):
            path = Path(str(params["password_path"]))
            return Probe(
                login=str(params["login"]),
                address=str(params["address"]),
                password_file=str(path if path.is_absolute() else Path.cwd() / path),
            )
    raise ToolkitError(
        f"{inventory}: no probe account (audit_params MAIL-11 login, address, password_path "
        "of a mail server); give --login, --address and --password-file",
        exit_code=ExitCode.USAGE,
    )


def _pacing(inventory: Path) -> dict[str, float]:
    """Per-user hourly rates of the teleworker profile, from the capacity profile."""
    figures = load_profile(load_declared(inventory).capacity_profile, {})
    f = {name: fig.value for name, fig in figures.items()}
    hours = 8.0
    if (inventory / REFERENCE_FILE).is_file():
        span = load_reference(inventory).office_span
        hours = (span.end - span.start) / 60
    mails = f["mails_handled_per_day"] / hours
    return {
        "sent_per_hour": mails * f["mails_sent_share"],
        "read_per_hour": mails * (1 - f["mails_sent_share"]),
        "logins_per_hour": f["imap_logins_per_hour"],
        "idle_per_hour": 60 / f["imap_idle_minutes"] if f["imap_idle_minutes"] else 0.0,
    }


def steps_table(result: LoadResult) -> Table:
    table = Table(title=f"{result.platform} load against {result.target} ({result.profile})")
    for name in ("users", "requests", "per second", "p95 ms", "errors", "SLO"):
        table.add_column(name, justify="left" if name == "SLO" else "right")
    for step in result.steps:
        ok = step.meets(result.slo)
        table.add_row(
            str(step.users),
            str(step.count),
            f"{sum(r.rps for r in step.requests):.1f}",
            f"{step.p95_ms:.0f}",
            f"{100 * step.error_rate:.1f} %",
            Text("met" if ok else "broken", style="green" if ok else "bold red"),
        )
    return table


def _config(inventory: Path, opts: dict[str, Any]) -> LoadConfig:
    """The run's settings from the options, the inventory (target allowed, probe account)
    and the capacity profile (pacing); usage errors name what is wrong."""
    target = opts["target"] or "127.0.0.1"
    needs_inventory = target not in LOOPBACK or not opts["login"]
    hosts = _inventory_hosts(inventory) if needs_inventory else {}
    address = allowed_target(target, _addresses(hosts))
    if opts["login"] and opts["address"] and opts["password_file"]:
        probe = Probe(
            login=opts["login"],
            address=opts["address"],
            password_file=str(Path(opts["password_file"]).resolve()),
        )
    else:
        probe = _probe_from_inventory(hosts, inventory)
    try:
        steps = (
            tuple(int(s) for s in opts["steps"].split(","))
            if opts["steps"]
            else stepped(opts["max_users"], opts["step_count"])
        )
    except ValueError as exc:
        raise ToolkitError(
            f"--steps {opts['steps']!r}: not a list of numbers", exit_code=ExitCode.USAGE
        ) from exc
    slo = Slo(p95_ms=opts["slo_p95_ms"], error_rate=opts["slo_error_rate"])
    pace = _pacing(inventory)
    # An inventory host: the name and CA its TLS services present, as the audit checks them.
    host = hosts.get(target, {})
    server_name = opts["server_name"] or str(host.get("audit_server_name") or target)
    ca = str(host.get("audit_ca_file") or "")
    ca_file = str(Path(opts["ca_file"]).resolve()) if opts["ca_file"] else ca
    if ca_file and not Path(ca_file).is_absolute():
        ca_file = str(inventory / ca_file)
    try:
        return LoadConfig(
            profile=opts["profile"], target=address, server_name=server_name, ca_file=ca_file,
            smtp_port=opts["smtp_port"], imap_port=opts["imap_port"],
            smtp_plain=opts["smtp_plain"], probe=probe, steps=steps,
            step_seconds=opts["step_seconds"], spawn_rate=opts["spawn_rate"],
            max_rate=opts["max_rate"], slo=slo, sent_per_hour=pace["sent_per_hour"],
            read_per_hour=pace["read_per_hour"], logins_per_hour=pace["logins_per_hour"],
            idle_per_hour=pace["idle_per_hour"],
        )  # fmt: skip
    except ValueError as exc:
        raise ToolkitError(f"invalid load settings: {exc}", exit_code=ExitCode.USAGE) from exc


@load.command()
@inventory_options
@click.option(
    "--target", help="Mail server: 127.0.0.1, ::1, or a host (or address) of the inventory."
)
@click.option(
    "--server-name",
    help="Name its certificate must carry (default: the host's audit_server_name, or --target).",
)
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="CA of its certificate (default: the host's audit_ca_file, else the system's).",
)
@click.option("--smtp-port", type=int, default=587, show_default=True)
@click.option("--imap-port", type=int, default=993, show_default=True)
@click.option("--login", help="Probe account (default: the inventory's audit probe, MAIL-11).")
@click.option("--address", help="The probe account's mail address.")
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False),
    help="File holding the probe's password.",
)
@click.option(
    "--profile",
    type=click.Choice(["teleworker", "flood"]),
    default="teleworker",
    show_default=True,
    help="teleworker: paced by the activity profile (IMAP IDLE, fetch, SMTP); flood: SMTP "
    "submissions back to back (the server's ceiling).",
)
@click.option(
    "--smtp-plain",
    is_flag=True,
    help="flood only: plain SMTP, no STARTTLS nor AUTH (smtp-source's way).",
)
@click.option(
    "--steps",
    help="Users at each step, e.g. 50,100,200 (default: --max-users in --step-count steps).",
)
@click.option("--max-users", type=int, default=100, show_default=True)
@click.option("--step-count", type=int, default=5, show_default=True)
@click.option("--step-seconds", type=float, default=30.0, show_default=True)
@click.option(
    "--spawn-rate", type=float, default=50.0, show_default=True, help="Users started a second."
)
@click.option(
    "--max-rate",
    type=float,
    default=500.0,
    show_default=True,
    help="Operations a second, all workers together.",
)
@click.option("--slo-p95-ms", type=float, default=1000.0, show_default=True)
@click.option("--slo-error-rate", type=float, default=0.01, show_default=True)
@click.option(
    "--require", type=int, help="Exit 3 when fewer users are carried (default: the top step)."
)
@click.option(
    "--workers",
    type=int,
    default=0,
    show_default=True,
    help="Local Locust worker processes (0: one process).",
)
@click.option(
    "--remote-workers",
    type=int,
    default=0,
    show_default=True,
    help="Workers on other machines to wait for (`toolkit load worker --master-host`).",
)
@click.option(
    "--master-bind",
    default="127.0.0.1",
    show_default=True,
    help="Address the master listens on for workers.",
)
@click.option("--master-port", type=int, default=5557, show_default=True)
@click.option(
    "--save/--no-save",
    default=True,
    show_default=True,
    help="Save the ceiling to <inventory>/capacity/ceilings.json.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the result as JSON here.",
)
def mail(inventory: Path, **opts: Any) -> None:
    """Simulated teleworkers against the mail server: submission on 587 (STARTTLS, AUTH),
    IMAP over TLS (login, IDLE, fetch), on a stepped ramp. The highest step whose p95
    latency and error rate meet the SLO is the ceiling ("carries N teleworkers"); messages
    of the run are deleted from the probe mailbox afterwards.

    Bounded: users, operations a second and duration are capped, and only 127.0.0.1, ::1
    or hosts of the inventory may be targeted. Exits 3 when fewer users than --require
    (default: the top step) are carried."""
    config = _config(inventory, opts)
    result = run_load(config, opts)
    out.print(steps_table(result))
    carried = result.carried
    noun = "teleworkers" if config.profile == "teleworker" else "concurrent submitters"
    slo = f"p95 <= {config.slo.p95_ms:g} ms, errors <= {100 * config.slo.error_rate:g} %"
    out.print(f"{config.platform}: carries {carried} {noun} (SLO {slo})", markup=False)
    if result.cleanup_deleted is not None:
        out.print(f"cleanup: {result.cleanup_deleted} test messages deleted", markup=False)
    else:
        out.print(f"cleanup failed: {printable(result.cleanup_error)}", style="red", markup=False)
    ceiling = result.ceiling()
    if opts["save"] and ceiling is not None:
        out.print(f"ceiling saved: {printable(save_ceiling(inventory, ceiling))}", markup=False)
    if opts["output"]:
        opts["output"].write_text(result.model_dump_json(indent=2), encoding="utf-8")
    if carried < (opts["require"] or max(config.steps)):
        raise click.exceptions.Exit(int(ExitCode.CHECK_FAILED))


def run_load(config: LoadConfig, opts: dict[str, Any]) -> LoadResult:
    """Run the ramp in a process of its own (Locust patches its process for gevent)."""
    with tempfile.TemporaryDirectory(prefix="toolkit-load-") as tmp:
        config_file, result_file = Path(tmp) / "config.json", Path(tmp) / "result.json"
        config_file.write_text(config.model_dump_json(), encoding="utf-8")
        os.chmod(config_file, 0o600)
        run(
            [sys.executable, "-m", "toolkit.load.run", str(config_file), str(result_file),
             "--workers", str(opts["workers"]), "--remote-workers", str(opts["remote_workers"]),
             "--master-bind", opts["master_bind"], "--master-port", str(opts["master_port"])],
            timeout=config.duration + RUN_MARGIN_SECONDS,
        )  # fmt: skip
        return LoadResult.model_validate_json(result_file.read_bytes())


@load.command()
@click.option(
    "--master-host", required=True, help="Where `toolkit load ... --remote-workers` runs."
)
@click.option("--master-port", type=int, default=5557, show_default=True)
def worker(master_host: str, master_port: int) -> None:
    """A Locust worker for a run started elsewhere: takes its settings from the master,
    the probe's password from the same file path on this machine."""
    run(
        [sys.executable, "-m", "toolkit.load.worker", "--master-host", master_host,
         "--master-port", str(master_port)],
        timeout=MAX_SECONDS + RUN_MARGIN_SECONDS,
    )  # fmt: skip
