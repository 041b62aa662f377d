"""``toolkit capacity``: can the platform carry its teleworkers (A20, M3)?"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import click

from toolkit.capacity.concurrency import week_concurrency
from toolkit.capacity.inputs import (
    DECLARED_FILE,
    load_ceilings,
    load_declared,
    load_profile,
    parse_overrides,
)
from toolkit.capacity.plan import make_plan
from toolkit.capacity.report import checks_table, write_reports
from toolkit.cli.common import inventory_options, out, print_problems
from toolkit.exitcodes import ExitCode
from toolkit.paths import project_root
from toolkit.roster import load_reference, load_roster
from toolkit.roster.parse import ROSTER_FILE
from toolkit.text import printable


@click.group()
def capacity() -> None:
    """Capacity planning: teleworkers' demand against the platform's capacity."""


@capacity.command()
@inventory_options
@click.option(
    "--roster",
    "roster_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Roster to plan for (default: the inventory's roster.csv).",
)
@click.option(
    "--reference",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Reference data (units, office hours); default: the inventory's "
    "group_vars/all/telework.yml.",
)
@click.option(
    "--week-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="A date in the week to plan (default: today); dated schedules (C4) apply.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a figure of the activity profile (repeatable), e.g. video_hours_per_day=3.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for capacity.html and capacity.json (default: reports/capacity/<inventory>/).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON plan instead of a table.")
def plan(  # noqa: PLR0917 (click passes every option)
    inventory: Path,
    roster_file: Path | None,
    reference: Path | None,
    week_of: datetime | None,
    overrides: tuple[str, ...],
    output: Path | None,
    as_json: bool,
) -> None:
    """Peak concurrent teleworkers per day and hour (C1, C2) from the roster, demand per
    platform from the activity profile (VPN, mail, web, video SFU, TURN), against the
    capacity declared in group_vars/all/capacity.yml and the ceilings `toolkit load`
    measured; names the bottleneck. Exits 3 when demand exceeds a capacity."""
    ref = load_reference(reference or inventory)
    roster = load_roster(roster_file or inventory / ROSTER_FILE, ref)
    print_problems(list(roster.warnings))
    declared = load_declared(inventory)
    figures = load_profile(
        declared.capacity_profile, parse_overrides(overrides), str(inventory / DECLARED_FILE)
    )
    day = week_of.date() if week_of else date.today()
    result = make_plan(
        inventory=str(inventory),
        roster=str(roster.path),
        week_of=day,
        concurrency=week_concurrency(roster, day),
        figures=figures,
        declared=declared,
        ceilings=load_ceilings(inventory),
    )
    files = write_reports(
        result, output or project_root() / "reports" / "capacity" / inventory.name
    )
    if as_json:
        out.print_json(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        out.print(checks_table(result))
        b = result.bottleneck
        verdict = f"verdict: {result.verdict}"
        if b is not None:
            verdict += (
                f"; bottleneck {b.platform}: {b.resource} ({100 * (b.utilisation or 0):.0f} %)"
            )
        out.print(verdict, markup=False)
        for kind, path in files.items():
            out.print(f"{kind}: {printable(path)}", markup=False)
    if result.verdict == "over capacity":
        raise click.exceptions.Exit(int(ExitCode.CHECK_FAILED))
