"""``toolkit audit``: the pre-opening audit (M8) of every platform of an inventory, and
``toolkit audit controls``: the control catalogue it runs."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.adapters.ssh import DEFAULT_MAX_OUTPUT
from toolkit.audit import engine
from toolkit.audit.catalogue import Severity
from toolkit.audit.runner import MAX_HOST_CONCURRENCY, Limits
from toolkit.cli.common import err, inventory_flags, out, resolve_inventory
from toolkit.errors import SelectionError, ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.report import controls as catalogue_doc
from toolkit.report.files import write_reports
from toolkit.report.terminal import LiveProgress, print_report

#: The option that gave each part of a selection the engine may refuse.
SELECTION_FLAGS = {"limit": "--limit", "profiles": "--profile", "controls": "--control"}
AUDITS_HELP = "Folder of controls, profiles and requirements (default: the checkout's audits/)."


@click.group(invoke_without_command=True)
@inventory_flags
@click.option("--limit", help="Only these hosts or groups (Ansible-style pattern).")
@click.option("--profile", "profiles", multiple=True, help="Only this profile (repeatable).")
@click.option("--control", "controls", multiple=True, help="Only this control ID (repeatable).")
@click.option(
    "--fail-on",
    type=click.Choice([s.value for s in Severity]),
    default=Severity.HIGH.value,
    show_default=True,
    help="Lowest severity of an unwaived failure that makes the gate say no-go.",
)
@click.option(
    "--waivers",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Waivers file (default: audits/waivers/<inventory name>.yml if it exists).",
)
@click.option(
    "--baseline",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON report of a previous run: show what got better or worse.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for report.html, report.json and junit.xml "
    "(default: reports/audit/<inventory>-<time>/).",
)
@click.option(
    "--workers",
    default=16,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Hosts audited at once.",
)
@click.option(
    "--host-concurrency",
    default=Limits.host_concurrency,
    show_default=True,
    type=click.IntRange(1, MAX_HOST_CONCURRENCY),
    help="Controls of one host run at once over its one SSH connection, a channel each "
    "(OpenSSH allows 10 a connection).",
)
@click.option("--connect-timeout", default=10.0, show_default=True, type=click.FloatRange(0.5))
@click.option("--command-timeout", default=30.0, show_default=True, type=click.FloatRange(1))
@click.option("--control-timeout", default=90.0, show_default=True, type=click.FloatRange(1))
@click.option("--host-timeout", default=600.0, show_default=True, type=click.FloatRange(1))
@click.option(
    "--max-output",
    default=DEFAULT_MAX_OUTPUT,
    show_default=True,
    type=click.IntRange(4096),
    help="Bytes read from each output stream of a command on a host; a longer answer is "
    "cut there and its control is an error.",
)
@click.option(
    "--accept-new-host-keys",
    is_flag=True,
    help="Add unknown SSH host keys to known_hosts (a changed key is always refused).",
)
@click.option(
    "--audits",
    "audits_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help=AUDITS_HELP,
)
@click.option(
    "--config-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Audit network devices offline from their saved configurations: NAME.cfg "
    "(and NAME.version) in this folder (docs/network-devices.md).",
)
@click.option("--no-progress", is_flag=True, help="No live progress display.")
@click.pass_context
def audit(  # noqa: PLR0917 (click passes every option)
    ctx: click.Context,
    env: str,
    inventory_path: Path | None,
    limit: str | None,
    profiles: tuple[str, ...],
    controls: tuple[str, ...],
    fail_on: str,
    waivers: Path | None,
    baseline: Path | None,
    output: Path | None,
    workers: int,
    host_concurrency: int,
    connect_timeout: float,
    command_timeout: float,
    control_timeout: float,
    host_timeout: float,
    max_output: int,
    accept_new_host_keys: bool,
    audits_dir: Path | None,
    config_dir: Path | None,
    no_progress: bool,
) -> None:
    """Audit every platform before it opens to telework (M8), agentless over SSH and
    network probes, and write HTML, JSON and JUnit reports.

    Exits 0 when no unwaived failure or error at or above --fail-on, 3 when there is
    one, 5 when a host could not be reached (the others are still reported), 4 when a
    controls, profiles, waivers or baseline file is invalid.

    `toolkit audit controls` prints the control catalogue instead."""
    if ctx.invoked_subcommand is not None:
        return
    inventory = resolve_inventory(env, inventory_path)
    options = engine.Options(
        inventory=inventory,
        limit=limit,
        profiles=profiles,
        controls=tuple(c.upper() for c in controls),
        fail_on=Severity(fail_on),
        waivers=waivers,
        baseline=baseline,
        limits=Limits(
            workers,
            connect_timeout,
            command_timeout,
            control_timeout,
            host_timeout,
            max_output,
            host_concurrency,
        ),
        accept_new_host_keys=accept_new_host_keys,
        audits=audits_dir,
        config_dir=config_dir,
    )
    try:
        prepared = engine.prepare(options)
    except SelectionError as exc:
        flag = SELECTION_FLAGS.get(exc.what, exc.what)
        raise ToolkitError(f"{flag} {exc.value}: {exc.reason}", exit_code=exc.exit_code) from exc
    if prepared.unprofiled:
        err.print(
            f"not audited (no profile for their groups): {', '.join(prepared.unprofiled)}",
            style="yellow",
            markup=False,
        )
    if not prepared.plans:
        raise ToolkitError("no host to audit", exit_code=ExitCode.USAGE)
    total = sum(len(p.controls) for p in prepared.plans)
    if no_progress:
        report = engine.execute(prepared)
    else:
        with LiveProgress(err, total, len(prepared.plans)) as live:
            report = engine.execute(prepared, live)
    files = write_reports(report, output or engine.default_output(inventory, report.started_at))
    print_report(report, out)
    for kind, path in files.items():
        out.print(f"{kind} report: {path}", markup=False)
    if report.exit_code:  # decided once, by toolkit.audit.results.exit_code
        raise click.exceptions.Exit(report.exit_code)


@audit.command("controls")
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in catalogue_doc.Format]),
    default=catalogue_doc.Format.TABLE.value,
    show_default=True,
    help="A terminal table, Markdown (docs/controls.md) or JSON.",
)
@click.option(
    "--audits",
    "audits_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help=AUDITS_HELP,
)
def controls_command(fmt: str, audits_dir: Path | None) -> None:
    """Every control of the catalogue: ID, title, severity, guide clauses with their text,
    references, groups, profiles, parameters and their defaults.

    Exits 4 when a controls, profiles or requirements file is invalid."""
    catalogue = engine.load(audits_dir)
    match catalogue_doc.Format(fmt):
        case catalogue_doc.Format.MARKDOWN:
            click.echo(catalogue_doc.as_markdown(catalogue), nl=False)
        case catalogue_doc.Format.JSON:
            click.echo(catalogue_doc.as_json(catalogue), nl=False)
        case catalogue_doc.Format.TABLE:
            out.print(catalogue_doc.as_table(catalogue))
