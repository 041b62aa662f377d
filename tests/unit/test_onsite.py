"""C3: per unit and working day, the lowest on-site head-count against min_onsite."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from tests.conftest import HEADER, TODAY
from toolkit.roster import Reference, load_roster
from toolkit.roster.onsite import week_counts
from toolkit.roster.schedule import Span


def _row(
    ident: str, unit: str, schedule: str, mode: str = "partial", status: str = "active"
) -> str:
    return (
        f'{ident},N,ن,{ident}@example.gov.ma,{unit},{mode},"{schedule}",2026-09-01,C,'
        f"laptop:{ident},staff,{status}"
    )


def _counts(
    write_file: Callable[..., Path], reference: Reference, *rows: str, week_of: date = TODAY
) -> dict[tuple[str, str], tuple[int, bool]]:
    roster = load_roster(write_file("\n".join([HEADER, *rows]) + "\n"), reference, today=TODAY)
    return {(c.unit, c.weekday): (c.onsite, c.ok) for c in week_counts(roster, week_of)}


def test_c3_whole_days_away_lower_the_head_count_of_that_day_only(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    counts = _counts(
        write_file, reference, _row("f1", "finance", "mon"), _row("f2", "finance", "mon,tue")
    )
    assert counts[("finance", "mon")] == (2, False)  # staff 4, min 3
    assert counts[("finance", "tue")] == (3, True)
    assert counts[("finance", "wed")] == (4, True)
    assert counts[("dsi", "mon")] == (5, True)


def test_c3_hours_that_do_not_overlap_keep_enough_staff_on_site(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    counts = _counts(
        write_file,
        reference,
        _row("f1", "finance", "mon 08:30-12:00"),
        _row("f2", "finance", "mon 12:00-16:30"),
    )
    assert counts[("finance", "mon")] == (3, True)


def test_c3_overlapping_hours_are_found_and_the_moment_is_given(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    roster = load_roster(
        write_file(
            "\n".join(
                [
                    HEADER,
                    _row("f1", "finance", "mon 08:30-12:00"),
                    _row("f2", "finance", "mon 11:00-16:30"),
                ]
            )
            + "\n"
        ),
        reference,
        today=TODAY,
    )
    monday = next(
        c for c in week_counts(roster, TODAY) if c.unit == "finance" and c.weekday == "mon"
    )
    assert (monday.onsite, monday.ok, monday.lowest_at) == (2, False, Span(660, 720))


def test_c3_time_away_outside_office_hours_does_not_count(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    counts = _counts(
        write_file,
        reference,
        _row("f1", "finance", "mon 17:00-19:00"),
        _row("f2", "finance", "mon 06:00-08:30"),
    )
    assert counts[("finance", "mon")] == (4, True)


def test_c3_full_telework_and_revoked_teleworkers(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    counts = _counts(
        write_file,
        reference,
        _row("d1", "dsi", "", mode="full"),
        _row("d2", "dsi", "mon-thu", status="revoked"),
    )
    assert {counts[("dsi", d)] for d in ("mon", "tue", "wed", "thu", "fri")} == {(4, True)}


def test_c4_an_emergency_period_counts_only_in_its_weeks(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    rows = [_row(f"f{i}", "finance", "mon|2026-12-21..2026-12-25: mon-fri") for i in range(2)]
    usual = _counts(write_file, reference, *rows)
    emergency = _counts(write_file, reference, *rows, week_of=date(2026, 12, 23))
    assert usual[("finance", "wed")] == (4, True)
    assert emergency[("finance", "wed")] == (2, False)
