"""``toolkit report continuity``: the business continuity plan's figures (A5, A9)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from toolkit.adapters.ansible import load_inventory
from toolkit.backup import continuity as plan_mod
from toolkit.backup.drill import drills_dir
from toolkit.backup.remote import targets
from toolkit.backup.survey import ssh_reader, survey
from toolkit.cli.common import err, inventory_options, out
from toolkit.exitcodes import ExitCode
from toolkit.paths import work_dir
from toolkit.text import printable


@click.command("continuity")
@inventory_options
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the reports (default: reports/continuity/<inventory>/).",
)
@click.option("--timeout", default=15.0, show_default=True, type=click.FloatRange(1, 600))
def continuity(inventory: Path, output: Path | None, timeout: float) -> None:
    """The business continuity plan's figures (A5): per platform (the inventory's groups
    of servers) its owner (continuity_owner), what is backed up and its RPO, the last
    backup, the last restore drill and its measured RTO (against continuity_rto_hours).

    Reads each server's backup status over SSH and the drills' evidence under
    reports/backup/drills/<inventory>/. Writes continuity-<date>.html and .json (BCK-05
    reads the JSON). Exits 3 when a platform lacks an owner, an RPO, a backup or a
    measured RTO."""
    now = datetime.now(UTC)
    hosts = load_inventory(inventory, with_roster=False)
    found = survey(targets(inventory), now, ssh_reader(timeout))
    drills = plan_mod.merge_drills(plan_mod.newest_drills(drills_dir() / inventory.name), found)
    plan = plan_mod.build(
        inventory.name, {h.name: (h.groups, h.vars) for h in hosts.values()}, found, drills, now
    )
    written = plan_mod.write(plan, output or work_dir() / "reports" / "continuity" / inventory.name)
    for p in plan.platforms:
        shown = "; ".join(p.missing) if p.missing else "complete"
        out.print(f"{p.platform}: {p.state} ({printable(shown)})", markup=False)
    for h in found:
        if h.unreachable:
            err.print(f"unreachable: {h.unreachable}", style="red", markup=False)
    for kind, path in written.items():
        out.print(f"written {kind}: {printable(path)}", markup=False)
    if not plan.complete:
        raise click.exceptions.Exit(int(ExitCode.CHECK_FAILED))
