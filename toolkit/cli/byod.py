"""``toolkit byod``: personal computers checked before they join the VPN (M9, M10)."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.text import Text

from toolkit.audit import engine
from toolkit.audit.catalogue import Severity
from toolkit.audit.registry import implementations
from toolkit.audit.results import AuditReport, Verdict
from toolkit.byod.enrol import enrol as enrol_device
from toolkit.byod.review import review as review_report
from toolkit.cli.audit import AUDITS_HELP
from toolkit.cli.common import inventory_options, out
from toolkit.report.files import write_reports
from toolkit.report.terminal import STYLE
from toolkit.roster import load_environment_roster
from toolkit.text import printable, unsafe_characters

AUDITS_OPTION = click.option(
    "--audits",
    "audits_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help=AUDITS_HELP,
)


def _person(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``--by`` goes into the records and onto the terminal: one plain line of text."""
    if not value.strip() or unsafe_characters(value):
        raise click.BadParameter("a name on one line, without control characters")
    return value.strip()


BY_OPTION = click.option(
    "--by",
    default=getpass.getuser,
    show_default="your login name",
    callback=_person,
    help="Who in the security unit issues or approves (kept in the record).",
)


def _print_results(report: AuditReport) -> None:
    """One line a control (its details indented), then the verdict; every string comes
    out of the results model printable, and is printed as rich Text, never markup."""
    for r in report.hosts[0].results:
        blocks = " (blocks)" if r.blocking else ""
        line = f"{r.control} [{r.severity}] {r.status}{blocks}: {r.title}: {r.summary}"
        out.print(Text(line, style=STYLE[r.status]))
        for detail in r.details:
            out.print(Text(f"    {detail}"))
    go = report.verdict is Verdict.GO
    out.print(Text(f"verdict: {report.verdict.upper()}", style="bold green" if go else "bold red"))


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@click.group()
def byod() -> None:
    """Personal computers (BYOD): enrol, collect, review; the approval the VPN bundle of a
    personal computer needs (M9, M10). See docs/byod.md."""


@byod.command()
@inventory_options
@click.argument("teleworker_id", metavar="ID")
@click.argument("device")
@click.option(
    "--days", default=7, show_default=True, type=click.IntRange(1, 60), help="Token validity."
)
@BY_OPTION
@AUDITS_OPTION
def enrol(  # noqa: PLR0917 (click passes every option)
    inventory: Path, teleworker_id: str, device: str, days: int, by: str, audits_dir: Path | None
) -> None:
    """Issue a one-time token for personal computer DEVICE of teleworker ID and write the
    collector to hand over (a zip, 0600, under <inventory>/.vpn/byod/handouts/). The token
    is shown once: give it apart from the zip. Exits 4 for an unknown or ineligible
    teleworker or a device that is not a personal computer of the roster."""
    roster = load_environment_roster(inventory)
    made = enrol_device(
        inventory,
        roster,
        engine.load(audits_dir),
        teleworker_id,
        device,
        by=by,
        now=_now(),
        days=days,
    )
    record = made.record
    out.print(f"{printable(record.teleworker)} {printable(record.device)}", markup=False)
    out.print(f"token:    {made.token}", markup=False)
    out.print(f"expires:  {record.expires_at:%Y-%m-%d %H:%M} UTC", markup=False)
    out.print(f"collector: {made.handout}", markup=False)
    out.print(
        "next: hand over the zip; on the computer run `python3 byod_collect.py` (Linux, "
        "macOS) or `powershell -ExecutionPolicy Bypass -File byod_collect.ps1` (Windows), "
        "type the token, then: toolkit byod review REPORT",
        markup=False,
    )


@byod.command()
@inventory_options
@click.argument("report", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--days",
    default=90,
    show_default=True,
    type=click.IntRange(1, 365),
    help="How long an approval lasts.",
)
@click.option(
    "--fail-on",
    type=click.Choice([s.value for s in Severity]),
    default=Severity.MEDIUM.value,
    show_default=True,
    help="Lowest severity of a failure that refuses the computer.",
)
@BY_OPTION
@AUDITS_OPTION
def review(  # noqa: PLR0917 (click passes every option)
    inventory: Path, report: Path, days: int, fail_on: str, by: str, audits_dir: Path | None
) -> None:
    """Verify REPORT (seal, token unused and unexpired), judge BYOD-01..08, take the token
    and, when nothing blocks, approve the computer for --days (its VPN bundle can then be
    made). Writes HTML, JSON and JUnit reports under <inventory>/.vpn/byod/reviews/.

    Exits 0 approved, 3 refused (a control blocks, or the token is used, expired or
    unknown; a refusal withdraws the device's approval), 4 for a report that is malformed
    or whose seal does not match (nothing recorded)."""
    roster = load_environment_roster(inventory)
    done = review_report(
        inventory,
        report,
        roster,
        engine.load(audits_dir),
        implementations(),
        by=by,
        now=_now(),
        days=days,
        fail_on=Severity(fail_on),
    )
    files = write_reports(done.report, done.folder)
    _print_results(done.report)
    for kind, path in files.items():
        out.print(f"{kind} report: {path}", markup=False)
    who = f"{printable(done.token.teleworker)} {printable(done.token.device)}"
    if done.approval is not None:
        out.print(
            f"{who}: approved by {printable(done.approval.approved_by)} until "
            f"{done.approval.expires_at:%Y-%m-%d} (report {done.approval.report_sha256[:16]})",
            markup=False,
        )
    else:
        withdrawn = "; its earlier approval is withdrawn" if done.withdrawn else ""
        out.print(f"{who}: not approved{withdrawn}", markup=False)
    if done.report.exit_code:
        raise click.exceptions.Exit(done.report.exit_code)
