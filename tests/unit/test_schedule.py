"""C1/C2/C4: the schedule syntax of the roster."""

from datetime import date

import pytest

from toolkit.roster.schedule import WHOLE_DAY, ScheduleError, Span, parse_schedule

WORKDAYS = frozenset(range(5))
MONDAY = date(2026, 11, 23)


def test_whole_days_are_a_comma_list_or_a_range() -> None:
    assert parse_schedule("mon,thu").regular_days() == {0, 3}
    assert parse_schedule("mon-wed").regular_days() == {0, 1, 2}
    assert parse_schedule("MON-tue, fri").regular_days() == {0, 1, 4}


def test_hours_restrict_a_period_to_spans_of_the_day() -> None:
    schedule = parse_schedule("mon-fri 14:00-16:30")
    assert schedule.spans_on(MONDAY, WORKDAYS) == (Span(14 * 60, 16 * 60 + 30),)
    assert schedule.whole_regular_days() == frozenset()


def test_periods_are_separated_by_a_bar() -> None:
    schedule = parse_schedule("tue 08:30-12:30|fri")
    assert schedule.spans_on(date(2026, 11, 24), WORKDAYS) == (Span(510, 750),)
    assert schedule.spans_on(date(2026, 11, 27), WORKDAYS) == WHOLE_DAY
    assert schedule.spans_on(MONDAY, WORKDAYS) == ()


def test_an_empty_schedule_is_every_working_day() -> None:
    schedule = parse_schedule("")
    assert schedule.spans_on(MONDAY, WORKDAYS) == WHOLE_DAY
    assert schedule.spans_on(date(2026, 11, 28), WORKDAYS) == ()  # a Saturday


def test_c4_a_dated_override_replaces_the_regular_schedule_within_its_dates() -> None:
    schedule = parse_schedule("mon|2026-12-21..2027-01-08: mon-fri")
    assert schedule.spans_on(date(2026, 12, 23), WORKDAYS) == WHOLE_DAY  # Wednesday, override
    assert schedule.spans_on(date(2026, 12, 16), WORKDAYS) == ()  # Wednesday, regular
    assert schedule.spans_on(date(2027, 1, 11), WORKDAYS) == WHOLE_DAY  # Monday, regular


def test_overlapping_periods_count_a_teleworker_away_once() -> None:
    schedule = parse_schedule("mon 08:00-12:00|mon 10:00-14:00")
    assert schedule.spans_on(MONDAY, WORKDAYS) == (Span(480, 840),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("monday", "'monday' is not a day"),
        ("fri-mon", "runs backwards"),
        ("mon,,tue", "empty day"),
        ("mon 8h-12h", "is not a time span"),
        ("mon 12:00-08:00", "ends before it starts"),
        ("mon 25:00-26:00", "is not a time of day"),
        ("mon 08:00-12:00,11:00-13:00", "overlap"),
        ("mon||tue", "empty period"),
        ("2026-13-01..2026-12-31: mon", "is not a date"),
        ("2026-12-31..2026-12-01: mon", "runs backwards"),
        ("2026-12-01..2026-12-31:", "no days after the date range"),
        ("2026-12-01 .. mon", "a date range is written"),
    ],
)
def test_a_malformed_schedule_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(text)
