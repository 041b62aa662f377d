"""``toolkit roster``: validate the teleworker roster and check on-site staffing (C3)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from toolkit.cli.common import err, inventory_options, out, print_problems
from toolkit.cli.provision import run_with_progress
from toolkit.exitcodes import ExitCode
from toolkit.paths import work_dir
from toolkit.report import charter as charters
from toolkit.report import charter_sign
from toolkit.report.pages import write_bytes_private
from toolkit.roster import load_environment_roster, load_reference, load_roster
from toolkit.roster.charterdate import record_signatures
from toolkit.roster.onsite import week_counts
from toolkit.roster.parse import ROSTER_FILE
from toolkit.roster.revoke import revoke as revoke_teleworker
from toolkit.text import printable


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
        f"{printable(loaded.path)}: {len(loaded.teleworkers)} teleworkers ({active} active, "
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
            table.add_row(escape(printable(unit)), *cells)
        out.print(table)
    short = [c for c in counts if not c.ok]
    for c in short:
        (err if as_json else out).print(
            f"C3: {printable(c.unit)} on {c.weekday} {c.day}: {c.onsite} on site at {c.lowest_at}, "
            f"minimum {c.min_onsite}",
            style="red",
            markup=False,
        )
    if short:
        raise click.exceptions.Exit(int(ExitCode.CHECK_FAILED))


SYNC_PLAYBOOK = "playbooks/roster_sync.yml"


@roster.command()
@inventory_options
@click.option("--check", is_flag=True, help="Dry run: report what would change.")
@click.option("--diff", is_flag=True, help="Show each entry that changes.")
def sync(inventory: Path, check: bool, diff: bool) -> None:
    """Apply the roster to every platform that reads it (the directory: new, changed
    and revoked accounts; C5, E27, A13).

    The roster is validated first: nothing is applied when it has an error (exit 4).
    New users' initial passwords are written one file each (mode 0600) under the
    inventory's .credentials/directory/."""
    loaded = load_environment_roster(inventory)
    print_problems(list(loaded.warnings), err)
    run_with_progress(inventory, SYNC_PLAYBOOK, check=check, diff=diff, what="roster sync")


@roster.command()
@inventory_options
@click.argument("ident", metavar="ID")
@click.option("--reason", required=True, help="Why telework ends (kept in the roster journal).")
@click.option(
    "--no-sync", is_flag=True, help="Only edit the roster; apply it later with `roster sync`."
)
def revoke(inventory: Path, ident: str, reason: str, no_sync: bool) -> None:
    """End teleworker ID's telework (C5): mark the row revoked in roster.csv, journal
    the reason in roster-journal.csv, list the equipment to return (E27), then disable
    the account on every platform at once (`roster sync`)."""
    done = revoke_teleworker(inventory / ROSTER_FILE, load_reference(inventory), ident, reason)
    if done.already_revoked:
        out.print(
            f"{done.id} ({printable(done.name)}) was already revoked in the roster", markup=False
        )
    else:
        out.print(
            f"{done.id} ({printable(done.name)}) revoked in {printable(inventory / ROSTER_FILE)}; "
            f"reason journaled in {printable(done.journal)}",
            markup=False,
        )
    if done.equipment:
        out.print(
            "E27 equipment to return: " + ", ".join(str(d) for d in done.equipment),
            style="yellow",
            markup=False,
        )
    if no_sync:
        out.print("not applied yet: run `toolkit roster sync`", markup=False)
        return
    run_with_progress(inventory, SYNC_PLAYBOOK, what="roster sync")


@roster.command()
@inventory_options
@click.argument("idents", metavar="[ID]...", nargs=-1)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for <ID>.pdf (default: reports/charters/<inventory>/).",
)
@click.option(
    "--template",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder with charter.html.j2 and charter.yml (default: the inventory's charter/).",
)
@click.option("--signer-key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--signer-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--ca-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-record", is_flag=True, help="Do not write the date into roster.csv.")
def charter(  # noqa: PLR0917 (click passes every option)
    inventory: Path,
    idents: tuple[str, ...],
    output: Path | None,
    template: Path | None,
    signer_key: Path | None,
    signer_cert: Path | None,
    ca_cert: Path | None,
    no_record: bool,
) -> None:
    """Make and sign the telework charter of each teleworker ID (default: every active,
    approved one) (M17, A19, A15): a PDF in French and Arabic from the inventory's
    charter/ template, signed by the administration as PAdES (A7), and the date recorded
    in roster.csv (charter_signed_on).

    The signing certificate is --signer-key/--signer-cert (chain --ca-cert); without them,
    one issued by the lab's internal CA (<inventory>/.pki)."""
    loaded = load_environment_roster(inventory)
    chosen = charters.select(loaded, idents)
    tpl = charters.load_template(template or inventory / charters.CHARTER_DIR)
    given = (signer_key, signer_cert, ca_cert)
    if any(given) and not all(given):
        raise click.UsageError("give --signer-key, --signer-cert and --ca-cert together")
    if signer_key and signer_cert and ca_cert:
        signer = charter_sign.SignerFiles(signer_key, signer_cert, ca_cert)
    else:
        signer = charter_sign.lab_signer(inventory, tpl.settings.administration.fr)
    folder = output or work_dir() / "reports" / "charters" / inventory.name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    today = date.today()
    for worker in chosen:
        pdf = charters.render_pdf(charters.render_html(tpl, worker, loaded, today), tpl.folder)
        signed = charter_sign.sign(
            pdf,
            signer,
            reason=f"Charte du télétravail de {worker.id} (M17, A19)",
            location=tpl.settings.place.fr,
        )
        path = write_bytes_private(folder / f"{worker.id}.pdf", signed)
        out.print(f"{worker.id}: {printable(path)} signed", markup=False)
    if chosen and not no_record:
        record_signatures(loaded.path, loaded.reference, {t.id: today for t in chosen})
        out.print(
            f"charter_signed_on {today} recorded for {len(chosen)} teleworkers in "
            f"{printable(loaded.path)}",
            markup=False,
        )
