"""``toolkit lab``: the local lab of podman system containers."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import click
from rich.status import Status
from rich.table import Table

from toolkit.cli.common import err, inventory_options, out
from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.lab import keys
from toolkit.lab import lab as lab_ops
from toolkit.lab.image import ADMIN_USER, RELEASES, build_image


def _table(lab: lab_ops.Lab, rows: list[lab_ops.HostStatus]) -> Table:
    table = Table(title=f"lab {lab.name}")
    for column in ("host", "platform", "state", "ssh login", "ssh endpoint", "release"):
        table.add_column(column)
    for row in rows:
        ssh = "[green]ok[/]" if row.ssh == "ok" else f"[red]{row.ssh or '-'}[/]"
        state = f"[green]{row.state}[/]" if row.state == "running" else f"[red]{row.state}[/]"
        platform = ", ".join(sorted(row.host.groups - {"servers"}))
        table.add_row(
            row.host.name,
            platform,
            state,
            ssh if row.state == "running" else "-",
            f"127.0.0.1:{row.host.port}",
            row.host.release,
        )
    return table


def _stepper(status: Status) -> Callable[[str], None]:
    """Show a step on the spinner and keep a line of it in the output."""

    def step(message: str) -> None:
        status.update(message)
        err.print(f"  {message}", markup=False)

    return step


@click.group()
def lab() -> None:
    """The local lab: one Debian systemd container per inventory host."""


@lab.command()
@inventory_options
def up(inventory: Path) -> None:
    """Build the image if needed, start every host, wait for SSH (idempotent)."""
    the_lab = lab_ops.load_lab(inventory)
    with err.status("starting the lab") as status:
        rows = lab_ops.up(the_lab, step=status.update)
    out.print(_table(the_lab, rows))
    if not all(r.ok for r in rows):
        raise ToolkitError("some hosts are not reachable over SSH", exit_code=ExitCode.UNREACHABLE)


@lab.command()
@inventory_options
def down(inventory: Path) -> None:
    """Remove every container and the network of the lab."""
    the_lab = lab_ops.load_lab(inventory)
    removed = lab_ops.down(the_lab)
    out.print(f"removed {len(removed)}: {', '.join(removed) or 'nothing was running'}")


@lab.command()
@inventory_options
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def status(inventory: Path, as_json: bool) -> None:
    """Each host's container state and whether the admin can log in over SSH.

    Exits 5 when a host is not running or refuses the login."""
    the_lab = lab_ops.load_lab(inventory)
    rows = lab_ops.status(the_lab)
    if as_json:
        out.print_json(
            json.dumps(
                [
                    {
                        "host": r.host.name,
                        "container": r.host.container,
                        "state": r.state,
                        "ssh": r.ssh,
                        "port": r.host.port,
                        "groups": sorted(r.host.groups),
                        "release": r.host.release,
                    }
                    for r in rows
                ]
            )
        )
    else:
        out.print(_table(the_lab, rows))
    if not all(r.ok for r in rows):
        raise click.exceptions.Exit(int(ExitCode.UNREACHABLE))


@lab.command(context_settings={"ignore_unknown_options": True})
@inventory_options
@click.argument("host")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def ssh(inventory: Path, host: str, command: tuple[str, ...]) -> None:
    """Open a shell on HOST (or run COMMAND there) as the lab admin."""
    the_lab = lab_ops.load_lab(inventory)
    target = the_lab.host(host)
    argv = [
        "ssh",
        "-i",
        str(keys.admin_key(the_lab.state)),
        "-p",
        str(target.port),
        "-o",
        f"UserKnownHostsFile={keys.known_hosts_file(the_lab.state)}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "IdentitiesOnly=yes",
        f"{ADMIN_USER}@127.0.0.1",
        *command,
    ]
    os.execvp("ssh", argv)  # noqa: S606 (hand the terminal over to ssh)


@lab.command()
@click.option(
    "--release",
    type=click.Choice(sorted(RELEASES)),
    default="bookworm",
    show_default=True,
    help="Debian release.",
)
@click.option("--force", is_flag=True, help="Rebuild even when the recipe is unchanged.")
def image(release: str, force: bool) -> None:
    """Build the Debian base image of the lab and the Molecule scenarios."""
    with err.status(f"image for Debian {release}") as status:
        ref = build_image(release, force=force, step=status.update)
    out.print(ref)
