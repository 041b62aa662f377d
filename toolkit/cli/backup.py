"""``toolkit backup``: every server's last backup against its RPO (A9) and restore drills
that prove a backup restores (A5, A9)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from toolkit.backup.drill import Limits, run_drill
from toolkit.backup.remote import targets
from toolkit.backup.status import DrillEvidence
from toolkit.backup.survey import ssh_reader, survey
from toolkit.cli.common import err, inventory_options, out
from toolkit.errors import SelectionError, ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.text import printable

STATE_STYLE = {"ok": "green", "late": "bold red", "never": "bold red", "failed": "yellow"}


@click.group()
def backup() -> None:
    """Backups (A9): status of every server's last backup, restore drills (A5)."""


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


@backup.command()
@inventory_options
@click.option("--limit", help="Only these hosts or groups (Ansible-style pattern).")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout, for a machine.")
@click.option("--timeout", default=15.0, show_default=True, type=click.FloatRange(1, 600))
def status(inventory: Path, limit: str | None, as_json: bool, timeout: float) -> None:
    """Last backup of every server, per backup source, against its RPO (A9).

    Reads /var/lib/telework-backup/status.json on each server of the inventory but the
    backup servers (they hold the repositories) over SSH.
    Exits 3 when a source is past its RPO, never backed up or its last run failed, 4 when
    a host's file is malformed, 5 when a host cannot be reached."""
    now = datetime.now(UTC)
    # The backup servers hold the repositories; the backup role makes them no clients.
    clients = [t for t in targets(inventory, limit) if "backup_servers" not in t.groups]
    found = survey(clients, now, ssh_reader(timeout))
    if as_json:
        payload = {
            "inventory": inventory.name,
            "generated_at": now.isoformat(),
            "hosts": [h.model_dump(mode="json") for h in found],
        }
        out.print_json(json.dumps(payload), highlight=False)
    else:
        table = Table(title=f"A9 backups of {escape(inventory.name)} at {_when(now)}")
        for name in ("host", "source", "RPO", "last success", "age", "archive", "state", "note"):
            table.add_column(name)
        for h in found:
            if h.unreachable or (h.problems and not h.rows):
                state = "unreachable" if h.unreachable else "invalid"
                table.add_row(escape(h.host), "-", "-", "-", "-", "-", f"[red]{state}[/]", "")
            for r in h.rows:
                table.add_row(
                    escape(r.host),
                    escape(r.source),
                    f"{r.rpo_hours:g} h" if r.rpo_hours else "-",
                    _when(r.last_success),
                    f"{r.age_hours:.1f} h" if r.age_hours is not None else "-",
                    escape(r.archive) or "-",
                    f"[{STATE_STYLE[r.state]}]{r.state}[/]",
                    escape(r.note),
                )
        out.print(table)
    for h in found:
        for problem in h.problems:
            err.print(f"invalid: {problem}", style="red", markup=False)
        if h.unreachable:
            err.print(f"unreachable: {h.unreachable}", style="red", markup=False)
    if any(h.problems for h in found):
        raise click.exceptions.Exit(int(ExitCode.INVALID_INPUT))
    if any(h.unreachable for h in found):
        raise click.exceptions.Exit(int(ExitCode.UNREACHABLE))
    if any(r.state != "ok" for h in found for r in h.rows):
        raise click.exceptions.Exit(int(ExitCode.CHECK_FAILED))


@backup.command()
@inventory_options
@click.argument("hosts")
@click.option("--keep", is_flag=True, help="Keep the scratch containers (to look into them).")
@click.option("--connect-timeout", default=15.0, show_default=True, type=click.FloatRange(1, 300))
@click.option(
    "--copy-timeout",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(10),
    help="Seconds the repository's copy from the backup server may take.",
)
@click.option(
    "--step-timeout",
    default=1800.0,
    show_default=True,
    type=click.FloatRange(10),
    help="Seconds each of extract, verify and load may take.",
)
@click.option(
    "--max-bytes",
    default=50 * 1024**3,
    show_default=True,
    type=click.IntRange(1024),
    help="Largest repository copied into a scratch container.",
)
def drill(  # noqa: PLR0917 (click passes every option)
    inventory: Path,
    hosts: str,
    keep: bool,
    connect_timeout: float,
    copy_timeout: float,
    step_timeout: float,
    max_bytes: int,
) -> None:
    """Restore the latest archive of each of HOSTS into a scratch container and prove it
    (A5, A9).

    HOSTS is a server's name or an Ansible-style pattern (`servers`, `mail,directory`,
    `servers:!gateway`); the backup servers, which hold the repositories, are left out.
    The hosts are drilled one after another. For each: copies its repository from its
    backup server into a scratch podman container, runs borg there with the host's
    passphrase (it never goes to the backup server), verifies every file against the
    archive's MANIFEST.json (sha256), loads each LDIF into a scratch slapd and each
    PostgreSQL dump into a scratch cluster, reads a message of each mail store, and
    measures the restore time (RTO). Writes the evidence under
    reports/backup/drills/<inventory>/ and a copy on the host (/var/lib/telework-backup/
    last-drill.json, read by BCK-04). Exits 3 when a drill fails, 1 when one cannot run
    (the others still run). Needs podman: run it alone on a shared machine."""
    limits = Limits(
        connect=connect_timeout, copy=copy_timeout, max_bytes=max_bytes, step=step_timeout
    )
    names = drill_targets(inventory, hosts)
    results: list[tuple[str, str]] = []
    for host in names:
        try:
            evidence = _drill_one(inventory, host, limits, keep)
        except ToolkitError as exc:
            err.print(f"error: {host}: {printable(exc, multiline=True)}", style="bold red",
                      markup=False)  # fmt: skip
            results.append((host, "error"))
        else:
            results.append((host, evidence.result))
    if len(names) > 1:
        table = Table(title=f"A5/A9 restore drills of {escape(inventory.name)}")
        table.add_column("host")
        table.add_column("result")
        for host, result in results:
            style = "green" if result == "passed" else "red"
            table.add_row(escape(host), f"[{style}]{result}[/]")
        out.print(table)
    if any(result == "error" for _, result in results):
        raise click.exceptions.Exit(int(ExitCode.ERROR))
    if any(result != "passed" for _, result in results):
        raise click.exceptions.Exit(int(ExitCode.CHECK_FAILED))


def drill_targets(inventory: Path, pattern: str) -> list[str]:
    """The backup clients HOSTS names, in inventory order; a pattern that names only backup
    servers or hosts outside `servers` is a usage error naming it."""
    chosen = [t.name for t in targets(inventory, pattern) if "backup_servers" not in t.groups]
    if not chosen:
        raise SelectionError("hosts", pattern, "no backed-up server matches")
    return chosen


def _drill_one(inventory: Path, host: str, limits: Limits, keep: bool) -> DrillEvidence:
    with err.status(f"drill of {escape(host)}") as spinner:

        def progress(step: str) -> None:
            spinner.update(f"drill of {escape(host)}: {escape(step)}")
            err.print(f"[dim]{_when(datetime.now(UTC))}[/] {escape(host)}: {escape(step)}")

        evidence, path = run_drill(inventory, host, limits=limits, progress=progress, keep=keep)
    table = Table(title=f"A5/A9 restore drill of {escape(host)}: {escape(evidence.archive)}")
    for name in ("check", "result", "detail"):
        table.add_column(name)
    table.add_row(
        "files against MANIFEST.json",
        "[green]passed[/]"
        if evidence.files_verified and not evidence.mismatches
        else "[red]failed[/]",
        f"{evidence.files_verified} verified, {len(evidence.mismatches)} differ",
    )
    for c in evidence.checks:
        table.add_row(
            escape(c.name), "[green]passed[/]" if c.passed else "[red]failed[/]", escape(c.detail)
        )
    out.print(table)
    for line in evidence.mismatches[:20]:
        out.print(f"differs: {line}", markup=False)
    rto = f"{evidence.rto_seconds:.1f} s" if evidence.rto_seconds is not None else "not measured"
    out.print(
        f"{host}: {evidence.result}; RTO {rto}; evidence {path}", markup=False, soft_wrap=True
    )
    return evidence
