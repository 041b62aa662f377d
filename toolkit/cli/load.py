"""``toolkit load``: how many teleworkers does a platform carry (A20)? Locust load tests
with a stepped ramp and SLO thresholds; the ceiling found is saved for ``toolkit capacity
plan``."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from toolkit.adapters.process import run
from toolkit.capacity.inputs import save_ceiling
from toolkit.cli.common import inventory_options, out
from toolkit.cli.load_tunnel import tunnel
from toolkit.exitcodes import ExitCode
from toolkit.load.config import MAX_SECONDS, LoadConfig
from toolkit.load.results import LoadResult
from toolkit.load.settings import build_config, build_vpn_config, vpn_gateway
from toolkit.load.vpn_peers import make_peers, set_peers
from toolkit.text import printable

#: Extra time a run process gets beyond its ramp (worker start, cleanup).
RUN_MARGIN_SECONDS = 180
#: What each platform's cleanup did, as the summary says it.
CLEANED = {"mail": "test messages deleted", "groupware": "test events deleted"}


@click.group()
def load() -> None:
    """Load tests with simulated teleworkers (Locust): mail, groupware (web login, CalDAV),
    the meeting service's signalling and the VPN's WireGuard handshakes; and the
    throughput through a tunnel (iperf3)."""


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


def ramp_options(
    what: str, *, probe: bool = True
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options every platform's command takes: target, probe (``probe``: the
    platforms that log in as the directory's probe account), ramp, SLO, workers."""
    where = (
        "127.0.0.1, ::1, or a host (or address) of the inventory (default: the first host "
        "of its group, mail_servers, collaboration_servers or videoconference_servers; "
        "127.0.0.1 when there is none)"
        if probe
        else "a host (or address) of the inventory's vpn_gateways (default: the first)"
    )
    target = click.option("--target", help=f"{what}: {where}.")
    account = [
        click.option(
            "--server-name",
            help="Name its certificate must carry (default: the host's audit_server_name, "
            "or --target).",
        ),
        click.option(
            "--ca-file",
            type=click.Path(exists=True, dir_okay=False),
            default=None,
            help="CA of its certificate (default: the host's audit_ca_file, else the system's).",
        ),
        click.option("--login", help="Probe account (default: the inventory's audit probe)."),
        click.option(
            "--password-file",
            type=click.Path(exists=True, dir_okay=False),
            help="File holding the probe's password.",
        ),
    ]
    options = [
        inventory_options,
        target,
        *(account if probe else []),
        click.option(
            "--steps",
            help="Users at each step, e.g. 50,100,200 (default: --max-users in --step-count "
            "steps).",
        ),
        click.option("--max-users", type=int, default=100, show_default=True),
        click.option("--step-count", type=int, default=5, show_default=True),
        click.option("--step-seconds", type=float, default=30.0, show_default=True),
        click.option(
            "--spawn-rate",
            type=float,
            default=50.0,
            show_default=True,
            help="Users started a second.",
        ),
        click.option(
            "--max-rate",
            type=float,
            default=500.0,
            show_default=True,
            help="Operations a second, all workers together.",
        ),
        click.option("--slo-p95-ms", type=float, default=1000.0, show_default=True),
        click.option("--slo-error-rate", type=float, default=0.01, show_default=True),
        click.option(
            "--require",
            type=int,
            help="Exit 3 when fewer users are carried (default: the top step).",
        ),
        click.option(
            "--workers",
            type=int,
            default=0,
            show_default=True,
            help="Local Locust worker processes (0: one process).",
        ),
        click.option(
            "--remote-workers",
            type=int,
            default=0,
            show_default=True,
            help="Workers on other machines to wait for (`toolkit load worker --master-host`).",
        ),
        click.option(
            "--master-bind",
            default="127.0.0.1",
            show_default=True,
            help="Address the master listens on for workers.",
        ),
        click.option("--master-port", type=int, default=5557, show_default=True),
        click.option(
            "--save/--no-save",
            default=True,
            show_default=True,
            help="Save the ceiling to <inventory>/capacity/ceilings.json.",
        ),
        click.option(
            "-o",
            "--output",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Also write the result as JSON here.",
        ),
    ]

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


def profile_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--profile teleworker|flood`` of the platforms that have a flood profile."""
    return click.option(
        "--profile",
        type=click.Choice(["teleworker", "flood"]),
        default="teleworker",
        show_default=True,
        help=what,
    )


HTTPS_PORT = click.option("--https-port", type=int, default=443, show_default=True)


@load.command()
@ramp_options("Mail server")
@click.option("--smtp-port", type=int, default=587, show_default=True)
@click.option("--imap-port", type=int, default=993, show_default=True)
@click.option("--address", help="The probe account's mail address.")
@profile_option(
    "teleworker: paced by the activity profile (IMAP IDLE, fetch, SMTP); flood: SMTP "
    "submissions back to back (the server's ceiling)."
)
@click.option(
    "--smtp-plain",
    is_flag=True,
    help="flood only: plain SMTP, no STARTTLS nor AUTH (smtp-source's way).",
)
def mail(inventory: Path, **opts: Any) -> None:
    """Simulated teleworkers against the mail server: submission on 587 (STARTTLS, AUTH),
    IMAP over TLS (login, IDLE, fetch), on a stepped ramp. The highest step whose p95
    latency and error rate meet the SLO is the ceiling ("carries N teleworkers"); messages
    of the run are deleted from the probe mailbox afterwards.

    Bounded: users, operations a second and duration are capped, and only 127.0.0.1, ::1
    or hosts of the inventory may be targeted. Exits 3 when fewer users than --require
    (default: the top step) are carried."""
    report(inventory, build_config("mail", inventory, opts), opts)


@load.command()
@ramp_options("Groupware (SOGo) host")
@HTTPS_PORT
@click.option(
    "--events-per-hour", type=float, default=1.0, show_default=True,
    help="Events a user creates (and reads back) an hour.",
)  # fmt: skip
def groupware(inventory: Path, **opts: Any) -> None:
    """Simulated teleworkers on the groupware (SOGo): a web login (/SOGo/connect), calendar
    pages, events created in the probe's personal calendar over CalDAV and read back
    (REPORT), paced by the activity profile, on a stepped ramp. The ceiling feeds the
    `web` platform of `toolkit capacity plan`; the run's events are deleted afterwards.

    Bounded like `toolkit load mail`; exits 3 when fewer users than --require are carried."""
    report(inventory, build_config("groupware", inventory, opts), opts)


@load.command()
@ramp_options("Videoconference host")
@HTTPS_PORT
@click.option(
    "--meeting-size",
    type=int,
    default=None,
    help="Participants a room (default: the capacity profile's meeting_size).",
)
@click.option(
    "--keepalive-seconds",
    type=float,
    default=25.0,
    show_default=True,
    help="Seconds between a participant's Janus keepalives (janus.js: 25).",
)
@click.option(
    "--joins-per-hour",
    type=float,
    default=2.0,
    show_default=True,
    help="Meetings a participant leaves and joins again an hour.",
)
def meeting(inventory: Path, **opts: Any) -> None:
    """Simulated meeting participants, signalling only: login to the meeting application,
    its Janus token, a Janus session, VideoRoom attached and joined as a publisher (no
    media), keepalives, leave. The ceiling (participants in meetings at once) feeds the
    `video` platform of `toolkit capacity plan`.

    Bounded like `toolkit load mail`; exits 3 when fewer users than --require are carried."""
    report(inventory, build_config("meeting", inventory, opts), opts)


#: What the users of a platform's run are, by profile.
NOUN = {
    ("mail", "teleworker"): "teleworkers",
    ("mail", "flood"): "concurrent submitters",
    ("groupware", "teleworker"): "teleworkers",
    ("meeting", "teleworker"): "participants",
    ("vpn", "teleworker"): "teleworkers' devices",
    ("vpn", "flood"): "peers handshaking back to back",
}


def report(
    inventory: Path,
    config: LoadConfig,
    opts: dict[str, Any],
    *,
    result: LoadResult | None = None,
    cleaned: str = "",
) -> None:
    """Run (unless ``result`` is given), print the steps and the ceiling, save it, exit 3
    below --require; ``cleaned`` says what the caller cleaned after the run."""
    result = result or run_load(config, opts)
    out.print(steps_table(result))
    carried = result.carried
    what = NOUN[(config.platform, config.profile)]
    slo = f"p95 <= {config.slo.p95_ms:g} ms, errors <= {100 * config.slo.error_rate:g} %"
    out.print(f"{config.platform}: carries {carried} {what} (SLO {slo})", markup=False)
    if cleaned:
        out.print(f"cleanup: {cleaned}", markup=False)
    elif config.platform == "meeting":
        out.print("cleanup: every participant left its room as it stopped", markup=False)
    elif result.cleanup_deleted is not None:
        done = CLEANED[config.platform]
        out.print(f"cleanup: {result.cleanup_deleted} {done}", markup=False)
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
            [
                sys.executable,
                "-m",
                "toolkit.load.run",
                str(config_file),
                str(result_file),
                "--workers",
                str(opts["workers"]),
                "--remote-workers",
                str(opts["remote_workers"]),
                "--master-bind",
                opts["master_bind"],
                "--master-port",
                str(opts["master_port"]),
            ],
            timeout=config.duration + RUN_MARGIN_SECONDS,
        )
        return LoadResult.model_validate_json(result_file.read_bytes())


@load.command()
@ramp_options("VPN gateway", probe=False)
@click.option(
    "--vpn-port", type=int, default=None,
    help="The gateway's WireGuard port (default: its export, .vpn/gateways/HOST.json).",
)  # fmt: skip
@click.option(
    "--gateway-key",
    help="The gateway's public key, as `wg` shows it (default: its export).",
)
@profile_option(
    "teleworker: a handshake every rekey time of the capacity profile (120 s); flood: "
    "handshakes back to back (the gateway's ceiling in handshakes a second)."
)
def vpn(inventory: Path, **opts: Any) -> None:
    """Simulated teleworkers' devices on the VPN gateway: each a WireGuard peer of its own
    that makes the handshake a device makes (initiation, the gateway's response checked
    with the peer's keys, keepalive), on a stepped ramp. The run's peers are registered on
    the gateway's running interface before the ramp and removed after it (no address, no
    route: they reach nothing). The ceiling feeds the `vpn` platform of `toolkit capacity
    plan`.

    Bounded like `toolkit load mail`; exits 3 when fewer users than --require are carried."""
    if opts["remote_workers"]:
        raise click.UsageError(
            "--remote-workers: the run's peer keys stay on this machine; use --workers"
        )
    gateway, address = vpn_gateway(inventory, opts["target"])
    with tempfile.TemporaryDirectory(prefix="toolkit-load-vpn-") as tmp:
        keys = Path(tmp) / "peers.key"
        config = build_vpn_config(inventory, gateway, address, keys, opts)
        peers = make_peers(keys, max(config.steps) + 2 * config.processes)
        out.print(f"registering {peers.count} load peers on {gateway}", markup=False)
        set_peers(inventory, gateway, peers, present=True)
        try:
            result = run_load(config, opts)
        finally:
            set_peers(inventory, gateway, peers, present=False)
    cleaned = f"{peers.count} load peers removed from {gateway}"
    report(inventory, config, opts, result=result, cleaned=cleaned)


@load.command()
@click.option(
    "--master-host", required=True, help="Where `toolkit load ... --remote-workers` runs."
)
@click.option("--master-port", type=int, default=5557, show_default=True)
def worker(master_host: str, master_port: int) -> None:
    """A Locust worker for a run started elsewhere: takes its settings from the master,
    the probe's password from the same file path on this machine."""
    run(
        [
            sys.executable,
            "-m",
            "toolkit.load.worker",
            "--master-host",
            master_host,
            "--master-port",
            str(master_port),
        ],
        timeout=MAX_SECONDS + RUN_MARGIN_SECONDS,
    )


load.add_command(tunnel)
