"""E23, A17: the gate's schedule evaluation (roles/vpn_gateway/files/telework_portal/
portal_schedule.py) agrees with the roster's (toolkit/roster/schedule.py), from the structured
form the role exports, and ends a session at the end of its span (whole days chained over
midnight) or after the longest session."""

from __future__ import annotations

import importlib
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import FUZZ
from toolkit.roster.schedule import DAYS, Schedule, parse_schedule

PORTAL = Path(__file__).resolve().parents[2] / "roles/vpn_gateway/files/telework_portal"
if str(PORTAL) not in sys.path:
    sys.path.insert(0, str(PORTAL))
portal_schedule = importlib.import_module("portal_schedule")

ZONE = ZoneInfo("Africa/Casablanca")
WORKDAYS = frozenset(range(5))
HOUR = 3600


def structured(schedule: Schedule) -> dict[str, Any]:
    """The schedule as the roster exports it (``schedule_periods``) and the role hands it to
    the gate: the roster's own ``as_data``, so that both read one export."""
    return schedule.as_data()


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def ends(text: str, at: str, max_seconds: int = 24 * HOUR) -> datetime | None:
    schedule = portal_schedule.parse(structured(parse_schedule(text)))
    end: datetime | None = schedule.session_end(local(at), WORKDAYS, ZONE, max_seconds)
    return end


# --- generated schedules ---------------------------------------------------------------


@st.composite
def hours(draw: st.DrawFn) -> str:
    minutes = sorted(draw(st.sets(st.integers(0, 96).map(lambda q: q * 15), min_size=2)))
    pairs = list(zip(minutes[::2], minutes[1::2], strict=False))
    return ",".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in pairs)


@st.composite
def schedule_text(draw: st.DrawFn) -> str:
    periods = []
    for _ in range(draw(st.integers(0, 4))):
        days = ",".join(DAYS[d] for d in sorted(draw(st.sets(st.integers(0, 6), min_size=1))))
        text = days + (f" {draw(hours())}" if draw(st.booleans()) else "")
        if draw(st.integers(0, 2)) == 0:
            start = date(2026, 11, 1) + timedelta(days=draw(st.integers(0, 40)))
            end = start + timedelta(days=draw(st.integers(0, 20)))
            text = f"{start}..{end}: {text}"
        periods.append(text)
    return "|".join(periods)


instants = st.datetimes(
    min_value=datetime(2026, 10, 25), max_value=datetime(2027, 1, 10), timezones=st.just(ZONE)
)
workday_sets = st.frozensets(st.integers(0, 6))


@FUZZ
@given(schedule_text(), st.dates(date(2026, 10, 25), date(2027, 1, 10)), workday_sets)
def test_the_gate_reads_the_days_spans_as_the_roster_does(
    text: str, day: date, workdays: frozenset[int]
) -> None:
    roster = parse_schedule(text)
    gate = portal_schedule.parse(structured(roster))
    expected = tuple((s.start, s.end) for s in roster.spans_on(day, workdays))
    assert gate.spans_on(day, workdays) == expected


@FUZZ
@given(schedule_text(), instants, st.integers(60, 48 * HOUR))
def test_a_session_may_start_exactly_when_the_roster_has_the_teleworker_away(
    text: str, at: datetime, max_seconds: int
) -> None:
    roster = parse_schedule(text)
    gate = portal_schedule.parse(structured(roster))
    minute = at.hour * 60 + at.minute + at.second / 60 + at.microsecond / 6e7
    inside = [s for s in roster.spans_on(at.date(), WORKDAYS) if s.start <= minute < s.end]
    end = gate.session_end(at, WORKDAYS, ZONE, max_seconds)
    if not inside:
        assert end is None
        return
    assert end is not None
    assert at < end <= at + timedelta(seconds=max_seconds)
    span_end = datetime.combine(at.date(), datetime.min.time(), ZONE) + timedelta(
        minutes=inside[0].end
    )
    if inside[0].end < 24 * 60:
        assert end == min(span_end, at + timedelta(seconds=max_seconds))
    else:
        assert end >= min(span_end, at + timedelta(seconds=max_seconds))


# --- examples ----------------------------------------------------------------------------


def test_a_start_outside_the_schedule_has_no_session() -> None:
    assert ends("tue 08:30-12:30", "2026-11-24T12:30:00") is None  # the end is not inside
    assert ends("tue 08:30-12:30", "2026-11-24T08:29:59") is None
    assert ends("tue 08:30-12:30", "2026-11-23T10:00:00") is None  # a Monday
    assert ends("", "2026-11-28T10:00:00") is None  # an empty schedule: not on Saturday


def test_a_session_ends_at_the_end_of_its_span_or_after_the_longest_session() -> None:
    assert ends("tue 08:30-12:30,14:00-17:00", "2026-11-24T09:00:00") == local(
        "2026-11-24T12:30:00"
    )
    assert ends("tue 08:30-12:30", "2026-11-24T09:00:00", max_seconds=HOUR) == local(
        "2026-11-24T10:00:00"
    )


def test_whole_days_in_a_row_chain_over_midnight() -> None:
    # Thursday and Friday whole days: a Thursday evening start runs into Friday.
    assert ends("thu,fri", "2026-11-26T22:00:00", max_seconds=10 * HOUR) == local(
        "2026-11-27T08:00:00"
    )
    assert ends("thu,fri", "2026-11-27T22:00:00") == local("2026-11-28T00:00:00")
    # A span ending at midnight goes on into the next day's span starting at midnight.
    assert ends("mon 20:00-24:00|tue 00:00-02:00", "2026-11-23T23:00:00") == local(
        "2026-11-24T02:00:00"
    )
    # An empty schedule is every workday, whole day: Friday night stops at Saturday.
    assert ends("", "2026-11-27T23:00:00") == local("2026-11-28T00:00:00")


def test_the_chain_stops_at_the_longest_session_even_when_every_day_is_teleworked() -> None:
    assert ends("mon-sun", "2026-11-23T10:00:00", max_seconds=36000) == local("2026-11-23T20:00:00")
    assert ends("mon-sun", "2026-11-23T10:00:00", max_seconds=30 * HOUR) == local(
        "2026-11-24T16:00:00"
    )


def test_the_end_is_given_in_the_gates_zone_whatever_the_start_zone() -> None:
    schedule = portal_schedule.parse(structured(parse_schedule("tue 08:30-12:30")))
    at = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # 09:00 in Casablanca
    end = schedule.session_end(at, WORKDAYS, ZONE, 36000)
    assert end == local("2026-11-24T12:30:00")
    assert end.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    "bad",
    [
        "mon",
        {"regular": [{"days": [7], "spans": [[0, 60]]}]},
        {"regular": [{"days": [1], "spans": [[60, 60]]}]},
        {"regular": [{"days": [1], "spans": [[0, 1441]]}]},
        {"regular": [{"days": [], "spans": [[0, 60]]}]},
        {"overrides": [{"days": [1], "spans": [[0, 60]], "start": "2026-05-01"}]},
        {
            "overrides": [
                {"days": [1], "spans": [[0, 60]], "start": "2026-05-02", "end": "2026-05-01"}
            ]
        },
    ],
)
def test_a_malformed_structured_schedule_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"."):
        portal_schedule.parse(bad)
