"""``toolkit roster``: validate the teleworker roster and check on-site staffing (C3)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import click
from rich.table import Table

from toolkit.cli.common import err, inventory_options, out, print_problems
from toolkit.exitcodes import ExitCode
from toolkit.roster import load_environment_roster, load_reference, load_roster
from toolkit.roster.onsite import week_counts
from toolkit.roster.parse import ROSTER_FILE


@click.group()
def roster() -> None:
    """The teleworker roster: one source of truth for every platform."""


@roster.command()
@inventory_options
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--reference",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Reference data (units, VPN groups); default: the inventory's "
    "group_vars/all/telework.yml.",
)
def validate(inventory: Path, file: Path | None, reference: Path | None) -> None:
    """Check FILE (default: the inventory's roster.csv) and report every problem as
    FILE:LINE: field: what is wrong. Exits 4 on any error; nothing is applied."""
    ref = load_reference(reference or inventory)
    loaded = load_roster(file or inventory / ROSTER_FILE, ref)
    print_problems(list(loaded.warnings))
    active = len(loaded.active())
    out.print(
        f"{loaded.path}: {len(loaded.teleworkers)} teleworkers ({active} active, "
        f"{len(loaded.teleworkers) - active} revoked), {len(loaded.warnings)} warnings: "
        "valid",
        markup=False,
    )


@roster.command()
@inventory_options
@click.option(
    "--week-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="A date in the week to check (default: today).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def check(inventory: Path, week_of: datetime | None, as_json: bool) -> None:
    """On-site head-count per unit and working day against the unit's min_onsite (C3).

    Shows, for each day, the lowest number of agents on site during office hours.
    Exits 3 when a unit falls below its minimum."""
    loaded = load_environment_roster(inventory)
    day = week_of.date() if week_of else date.today()
    counts = week_counts(loaded, day)
    if as_json:
        out.print_json(
            json.dumps(
                [
                    {
                        "unit": c.unit,
                        "date": c.day.isoformat(),
                        "weekday": c.weekday,
                        "staff": c.staff,
                        "min_onsite": c.min_onsite,
                        "onsite": c.onsite,
                        "ok": c.ok,
                        "lowest_at": str(c.lowest_at) if c.lowest_at else None,
                    }
                    for c in counts
                ]
            )
        )
    else:
        days = sorted({c.day for c in counts})
        table = Table(
            title=f"C3 on-site head-count, week of {days[0] if days else day}",
            caption="lowest number on site during office hours / unit minimum",
        )
        table.add_column("unit")
        for d in days:
            table.add_column(f"{d:%a %d/%m}", justify="center")
        for unit in sorted({c.unit for c in counts}):
            cells = []
            for d in days:
                c = next(x for x in counts if x.unit == unit and x.day == d)
                style = "green" if c.ok else "bold red"
                cells.append(f"[{style}]{c.onsite}/{c.min_onsite}[/]")
            table.add_row(unit, *cells)
        out.print(table)
    short = [c for c in counts if not c.ok]
    for c in short:
        (err if as_json else out).print(
            f"C3: {c.unit} on {c.weekday} {c.day}: {c.onsite} on site at {c.lowest_at}, "
            f"minimum {c.min_onsite}",
            style="red",
            markup=False,
        )
    if short:
        raise click.exceptions.Exit(int(ExitCode.CHECK_FAILED))
