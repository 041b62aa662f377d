"""``toolkit provision``: run the site playbook with progress and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from toolkit.cli.common import err, inventory_options, out
from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.provision import RunResult, run_playbook
from toolkit.text import printable


def plain(value: object) -> Text:
    """Text from Ansible (play, task, host names, messages) as rich shows it: printable
    and never read as markup, so ``[/x]`` in a message is shown, not parsed."""
    return Text(printable(value))


def summary_table(result: RunResult) -> Table:
    table = Table(title=f"provisioning summary ({result.duration:.0f} s)")
    for column in ("host", "status", "ok", "changed", "failed", "unreachable", "skipped"):
        table.add_column(column, justify="left" if column in ("host", "status") else "right")
    for name, s in sorted(result.hosts.items()):
        colour = {"ok": "green", "failed": "red", "unreachable": "red"}[s.status]
        table.add_row(
            plain(name),
            Text(s.status, style=colour),
            str(s.ok),
            str(s.changed),
            str(s.failed),
            str(s.unreachable),
            str(s.skipped),
        )
    return table


def run_with_progress(
    inventory: Path,
    playbook: str,
    *,
    limit: str | None = None,
    check: bool = False,
    diff: bool = False,
    what: str = "provisioning",
) -> RunResult:
    """Run a playbook with a progress bar and a per-host summary; raise ToolkitError
    (exit 5 when a host was unreachable, 1 when a task failed)."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} hosts"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        bar = progress.add_task("starting ansible-playbook", total=None)
        play_hosts: list[str] = []

        def on_event(event: dict[str, Any]) -> None:
            nonlocal play_hosts
            if event["event"] == "play":
                play_hosts = event["hosts"]
                progress.console.print(Text.assemble(("PLAY", "bold"), " ", plain(event["name"])))
            elif event["event"] == "task":
                progress.update(
                    bar,
                    description=plain(event["name"]).markup,
                    completed=0,
                    total=len(play_hosts) or None,
                )
            elif event["event"] == "result":
                progress.advance(bar)
                if event["status"] in ("failed", "unreachable"):
                    progress.console.print(
                        Text.assemble(
                            (event["status"], "red"),
                            " ",
                            plain(f"{event['host']}: {event['task']}: {event['msg']}"),
                        )
                    )

        result = run_playbook(
            inventory, playbook, limit=limit, check=check, diff=diff, on_event=on_event
        )
    out.print(summary_table(result))
    out.print(f"ansible-playbook log: {result.log_file}", markup=False)
    if result.unreachable:
        raise ToolkitError(
            f"unreachable: {', '.join(result.unreachable)}", exit_code=ExitCode.UNREACHABLE
        )
    if result.returncode != 0:
        failed = ", ".join(result.failed) or f"ansible-playbook exited {result.returncode}"
        raise ToolkitError(f"{what} failed: {failed} (see the log above)")
    return result


@click.command()
@inventory_options
@click.option(
    "--playbook",
    default="playbooks/site.yml",
    show_default=True,
    help="Playbook to run, relative to the checkout (outside one: a playbook file, or "
    "playbooks/NAME.yml for the installed collection's telework.toolkit.NAME).",
)
@click.option("--limit", help="Only these hosts or groups (Ansible pattern).")
@click.option("--check", is_flag=True, help="Dry run: report what would change.")
@click.option("--diff", is_flag=True, help="Show the changes made to files.")
def provision(inventory: Path, playbook: str, limit: str | None, check: bool, diff: bool) -> None:
    """Provision the platform (ansible-playbook playbooks/site.yml) with progress.

    Exits 1 when a task failed, 5 when a host could not be reached."""
    run_with_progress(inventory, playbook, limit=limit, check=check, diff=diff)
