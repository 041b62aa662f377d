"""``toolkit report``: the steering reports, attendance (A17, E23, C2, A3) and indicators
(A18, A22, C6)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

import click
from rich.markup import escape
from rich.table import Table

from toolkit.cli.common import err, inventory_options, out
from toolkit.cli.continuity import continuity
from toolkit.errors import InvalidInputError, Problem
from toolkit.exitcodes import ExitCode
from toolkit.paths import work_dir
from toolkit.report import attendance as att
from toolkit.report import attendance_files, charter_sign, indicators, indicators_files
from toolkit.report.activity import (
    DATA_DIR,
    MAX_FILE_BYTES,
    append_samples,
    prune,
    samples_from_dump,
)
from toolkit.report.pages import PeriodError, parse_period
from toolkit.roster import load_environment_roster
from toolkit.text import printable
from toolkit.vpn.layout import keys_dir

RETENTION_HELP = "Days evidence and reports are kept (A3); older ones are deleted on each run."


@click.group()
def report() -> None:
    """Steering reports: attendance (A17) and indicators (A18)."""


report.add_command(continuity)  # the continuity plan (A5), beside the backups it reads


def _period(value: str) -> tuple[date, date]:
    try:
        return parse_period(value)
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None


@report.command()
@inventory_options
@click.option(
    "--period",
    required=True,
    help="YYYY-MM-DD, YYYY-MM-DD..YYYY-MM-DD, YYYY-Www (ISO week) or YYYY-MM.",
)
@click.option("--unit", "units", multiple=True, help="Only this unit (repeatable).")
@click.option(
    "--detail",
    is_flag=True,
    help="Every checked day of every teleworker, not only deviations (personal data: A3).",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Evidence folder (default: the inventory's .telework-data/).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for attendance.html and the CSV files "
    "(default: reports/attendance/<inventory>-<first>-<last>/).",
)
@click.option("--retention-days", default=90, show_default=True, type=click.IntRange(1, 3650))
@click.option("--timezone", default=att.Options.timezone, show_default=True)
@click.option("--grace", default=15, show_default=True, type=click.IntRange(0, 240), help="Min.")
@click.option("--max-gap", default=60, show_default=True, type=click.IntRange(1, 1440), help="Min.")
@click.option(
    "--min-bytes",
    default=att.Options.min_bytes,
    show_default=True,
    type=click.IntRange(1),
    help="Bytes between two VPN samples that count as work (keep-alives send less).",
)
def attendance(  # noqa: PLR0917 (click passes every option)
    inventory: Path,
    period: str,
    units: tuple[str, ...],
    detail: bool,
    data_dir: Path | None,
    output: Path | None,
    retention_days: int,
    timezone: str,
    grace: int,
    max_gap: int,
    min_bytes: int,
) -> None:
    """Did teleworkers keep their scheduled hours (A17, E23, C2)? Portal sessions where
    the teleworker confirms them, else VPN activity, against the roster's schedule.

    Shows deviations and per-unit totals only (A3); --detail shows every checked day and
    says so. Writes attendance.html, attendance.csv and attendance-units.csv (0600)."""
    first, last = _period(period)
    try:
        options = att.Options(
            grace=timedelta(minutes=grace),
            max_gap=timedelta(minutes=max_gap),
            min_bytes=min_bytes,
            timezone=att.zone(timezone).key,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--timezone") from None
    roster = load_environment_roster(inventory)
    unknown = [u for u in units if u not in roster.reference.units]
    if unknown:
        raise click.BadParameter(f"unknown unit(s) {', '.join(unknown)}", param_hint="--unit")
    data = data_dir or inventory / DATA_DIR
    today = date.today()
    for path in prune(data, retention_days, today):
        out.print(f"retention ({retention_days} days): deleted {printable(path)}", markup=False)
    evidence = att.load_evidence(data, first, last, options)
    result = att.check(
        roster,
        att.device_keys(keys_dir(inventory)),
        evidence,
        first,
        last,
        options=options,
        units=units,
        detail=detail,
        today=today,
    )
    parent = work_dir() / "reports" / "attendance"
    folder = output or parent / f"{inventory.name}-{first}-{last}"
    attendance_files.prune_reports(parent, retention_days)
    written = attendance_files.write(result, folder)
    _print_attendance(result)
    out.print(f"written: {printable(written['html'])}", markup=False)


def _print_attendance(result: att.Attendance) -> None:
    if result.detail:
        out.print(
            "DETAIL VIEW: every checked day of every teleworker, personal data (A3)",
            style="bold red",
        )
    totals = Table(title=f"A17 attendance {result.first} to {result.last}, totals per unit")
    for name in ("unit", "teleworkers", "scheduled days", "kept", "deviations", "no data"):
        totals.add_column(name)
    for u in result.units:
        totals.add_row(
            escape(printable(u.unit)),
            str(u.teleworkers),
            str(u.scheduled_days),
            str(u.ok),
            str(u.deviations),
            str(u.no_data),
        )
    out.print(totals)
    rows = Table(title="every checked day" if result.detail else "deviations")
    for name in (
        "unit",
        "id",
        "day",
        "scheduled",
        "evidence",
        "status",
        "deviates",
        "first",
        "last",
    ):
        rows.add_column(name)
    for r in result.rows:
        rows.add_row(
            escape(printable(r.unit)),
            escape(printable(r.ident)),
            f"{r.weekday} {r.day}",
            r.scheduled,
            r.source,
            r.status,
            ", ".join(r.deviations),
            r.first,
            r.last,
        )
    out.print(rows)
    for s in result.sources:
        out.print(f"source {s.name}: {printable(s.note)}", markup=False)


@report.command("record-vpn")
@inventory_options
@click.argument("dump", type=click.File("r", encoding="utf-8", lazy=False), default="-")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Evidence folder (default: the inventory's .telework-data/).",
)
def record_vpn(inventory: Path, dump: TextIO, data_dir: Path | None) -> None:
    """Append one VPN sample, read from the output of `wg show all dump` (DUMP, default
    stdin), to today's samples file: public keys, handshakes and counters only; keys and
    endpoint addresses are dropped here (A3). Run it every few minutes, for example
    `ssh gateway sudo wg show all dump | toolkit report record-vpn`."""
    text = dump.read(MAX_FILE_BYTES + 1)
    if len(text) > MAX_FILE_BYTES:
        raise InvalidInputError([Problem(str(dump.name), 1, "-", "dump too large")])
    now = datetime.now(UTC)
    lines = samples_from_dump(text, now)
    path = append_samples(data_dir or inventory / DATA_DIR, lines, now)
    err.print(f"{len(lines)} peers sampled into {printable(path)}", markup=False)


@report.command("verify-charter")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--ca-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The administration's CA certificate (default: the inventory's .pki/ca.crt).",
)
@inventory_options
def verify_charter(inventory: Path, pdf: Path, ca_cert: Path | None) -> None:
    """Check the administration's PAdES signature of a charter PDF (M17, A7): intact,
    valid, trusted by the CA and covering the whole file. Exits 3 when it does not."""
    raw = pdf.read_bytes()
    result = charter_sign.verify(raw, ca_cert or inventory / charter_sign.PKI_DIR / "ca.crt")
    if not result.ok:
        err.print(f"{printable(pdf)}: NOT VALID: {printable(result.summary)}", markup=False)
        raise click.exceptions.Exit(int(ExitCode.CHECK_FAILED))
    out.print(
        f"{printable(pdf)}: {result.summary}; signed by {printable(result.signer)}"
        f"{f' at {result.signed_at:%Y-%m-%d %H:%M} UTC' if result.signed_at else ''}",
        markup=False,
    )


@report.command("indicators")
@inventory_options
@click.option(
    "--period",
    help="Period of VPN use (forms of `report attendance`; default: this ISO week).",
)
@click.option(
    "--audit-report",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON report of an audit (default: the newest under reports/audit/<inventory>-*/).",
)
@click.option(
    "--previous",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Indicators JSON to compare with (default: the newest older one in the folder).",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Evidence folder (default: the inventory's .telework-data/).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the reports (default: reports/indicators/<inventory>/).",
)
@click.option("--timezone", default=att.Options.timezone, show_default=True)
def indicators_command(  # noqa: PLR0917 (click passes every option)
    inventory: Path,
    period: str | None,
    audit_report: Path | None,
    previous: Path | None,
    data_dir: Path | None,
    output: Path | None,
    timezone: str,
) -> None:
    """The steering team's indicators (A18, A22, C6): active teleworkers per unit and mode,
    signed charters, on-site head-count against each unit's minimum (C3), VPN use, the last
    audit's verdicts, open findings and waivers near expiry, backup status, and the trend
    against the previous report. Aggregates only (A3). Writes HTML (charts) and JSON."""
    today = date.today()
    first, last = _period(period) if period else _this_week(today)
    try:
        options = att.Options(timezone=att.zone(timezone).key)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--timezone") from None
    roster = load_environment_roster(inventory)
    keys = att.device_keys(keys_dir(inventory))
    evidence = att.load_evidence(data_dir or inventory / DATA_DIR, first, last, options)
    days = indicators.period_days(first, last, roster.reference.workday_indexes)
    root = work_dir() / "reports"
    audit_path = audit_report or indicators.latest_audit(root / "audit", inventory.name)
    result = indicators.build(
        roster,
        inventory=inventory.name,
        first=first,
        last=last,
        vpn=indicators.vpn_figures(roster, keys, evidence, days, options.timezone),
        audit=indicators.audit_figures(audit_path, today),
        today=today,
    )
    folder = output or root / "indicators" / inventory.name
    before = previous or indicators_files.previous_report(folder, result)
    if before is not None:
        result.trend = indicators.trend(result, indicators.load_previous(before), str(before))
    written = indicators_files.write(result, folder)
    out.print(
        f"A18 indicators {first} to {last}: {result.active} active teleworkers, "
        f"{result.charters_signed} charters signed, "
        f"{sum(bool(u.short_days) for u in result.units)} units below the on-site minimum, "
        f"VPN: {result.vpn.distinct_teleworkers if result.vpn.available else 'no data'}, "
        f"audit: {result.audit.verdict or 'none yet'}",
        markup=False,
    )
    for kind, path in written.items():
        out.print(f"written {kind}: {printable(path)}", markup=False)


def _this_week(today: date) -> tuple[date, date]:
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=6)
