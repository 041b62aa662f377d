"""Entry point of the ``toolkit`` command."""

from __future__ import annotations

import logging
from typing import Any

import click
from rich.logging import RichHandler

from toolkit import __version__
from toolkit.cli.audit import audit
from toolkit.cli.byod import byod
from toolkit.cli.capacity import capacity
from toolkit.cli.common import err, print_problems
from toolkit.cli.init import init
from toolkit.cli.lab import lab
from toolkit.cli.load import load
from toolkit.cli.provision import provision
from toolkit.cli.report import report
from toolkit.cli.roster import roster
from toolkit.cli.vpn import vpn
from toolkit.errors import InvalidInputError, ToolkitError
from toolkit.text import printable


class ToolkitGroup(click.Group):
    """Turns every ToolkitError into one message on stderr and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InvalidInputError as exc:
            print_problems(exc.problems, err)
            err.print("invalid input: nothing was applied", style="bold red")
            ctx.exit(int(exc.exit_code))
        except ToolkitError as exc:
            err.print(f"error: {printable(exc, multiline=True)}", style="bold red", markup=False)
            ctx.exit(int(exc.exit_code))


@click.group(cls=ToolkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="toolkit")
@click.option("-v", "--verbose", count=True, help="More detail on stderr (-vv for debug).")
def cli(verbose: int) -> None:
    """Open telework safely: the local lab, the teleworker roster, provisioning, the
    pre-opening audit.

    Exit codes: 0 ok, 1 error, 2 usage, 3 a check failed, 4 invalid input (nothing
    applied), 5 a host could not be reached.
    """
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(
        level=level,
        format="%(message)s",
        datefmt="[%X]",
        handlers=[RichHandler(console=err, show_path=False)],
        force=True,
    )


cli.add_command(lab)
cli.add_command(init)
cli.add_command(roster)
cli.add_command(provision)
cli.add_command(audit)
cli.add_command(vpn)
cli.add_command(byod)
cli.add_command(report)
cli.add_command(capacity)
cli.add_command(load)


def main() -> None:
    cli(prog_name="toolkit")
