"""Entry point of the ``toolkit`` command."""

from __future__ import annotations

import importlib
import logging
from typing import Any

import click
from rich.logging import RichHandler

from toolkit import __version__
from toolkit.cli.common import err, print_problems
from toolkit.errors import InvalidInputError, ToolkitError
from toolkit.text import printable

#: Every command group, in the order `toolkit --help` lists them, and the module that
#: defines it. A module is imported only when its command runs (or when the help lists
#: them all): the audit, the reports and the load generator import heavy libraries
#: (paramiko, matplotlib, WeasyPrint, Locust's process) that `toolkit roster revoke`
#: should not pay for at every start.
COMMANDS: dict[str, str] = {
    "lab": "toolkit.cli.lab",
    "init": "toolkit.cli.init",
    "roster": "toolkit.cli.roster",
    "provision": "toolkit.cli.provision",
    "audit": "toolkit.cli.audit",
    "vpn": "toolkit.cli.vpn",
    "byod": "toolkit.cli.byod",
    "report": "toolkit.cli.report",
    "capacity": "toolkit.cli.capacity",
    "load": "toolkit.cli.load",
    "backup": "toolkit.cli.backup",
}


class ToolkitGroup(click.Group):
    """Loads each command's module on demand (COMMANDS) and turns every ToolkitError
    into one message on stderr and its exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *(name for name in super().list_commands(ctx) if name not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return super().get_command(ctx, cmd_name)
        command = getattr(importlib.import_module(module), cmd_name.replace("-", "_"))
        if not isinstance(command, click.Command):
            raise TypeError(f"{module}.{cmd_name} is not a click command")
        return command

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


def main() -> None:
    cli(prog_name="toolkit")
