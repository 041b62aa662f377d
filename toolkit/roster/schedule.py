"""Telework schedules (C1, C2, C4): when a teleworker works away from the office.

Syntax of the roster's ``schedule`` column (documented in docs/roster.md)::

    schedule := period ( "|" period )*
    period   := [ from ".." to ":" ] days [ " " hours ]
    days     := day [ "-" day ] ( "," day [ "-" day ] )*       day: mon tue wed thu fri sat sun
    hours    := HH:MM "-" HH:MM ( "," HH:MM "-" HH:MM )*

Examples: ``mon,thu`` (two whole days a week), ``mon-fri 14:00-16:30`` (afternoons),
``tue 08:30-12:30|fri`` and, for an emergency period (C4) that replaces the regular schedule
between two dates, ``2026-03-16..2026-04-30: mon-fri``. An empty schedule means every
working day (full telework).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_INDEX = {d: i for i, d in enumerate(DAYS)}
_DATES = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})\s*:\s*(.*)$")
_PUNCT_SPACES = re.compile(r"\s*([,-])\s*")
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class ScheduleError(ValueError):
    """The schedule text does not follow the documented syntax."""


@dataclass(frozen=True)
class Span:
    """A time interval within one day, in minutes after midnight, start < end."""

    start: int
    end: int

    def __str__(self) -> str:
        return (
            f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"
        )


WHOLE_DAY = (Span(0, 24 * 60),)


@dataclass(frozen=True)
class Period:
    """Days of the week (0 = Monday) teleworked, during ``spans`` (the whole day if none).
    With ``start``/``end``, the period belongs to an override valid on those dates (C4)."""

    days: frozenset[int]
    spans: tuple[Span, ...] = WHOLE_DAY
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: regular periods plus dated overrides."""

    text: str
    regular: tuple[Period, ...] = ()
    overrides: tuple[Period, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not self.regular and not self.overrides

    def spans_on(self, day: date, workdays: frozenset[int]) -> tuple[Span, ...]:
        """When this schedule has the teleworker away on ``day``; an empty schedule means
        every working day (full telework)."""
        active = [p for p in self.overrides if p.start and p.end and p.start <= day <= p.end]
        if not active:
            if self.is_empty:
                return WHOLE_DAY if day.weekday() in workdays else ()
            active = list(self.regular)
        spans = sorted(
            (s for p in active if day.weekday() in p.days for s in p.spans),
            key=lambda s: (s.start, s.end),
        )
        merged: list[Span] = []
        for span in spans:  # periods may overlap: one teleworker is away once at a time
            if merged and span.start <= merged[-1].end:
                merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
            else:
                merged.append(span)
        return tuple(merged)

    def as_data(self) -> dict[str, list[dict[str, Any]]]:
        """Plain data for programs that evaluate the schedule without this package (the VPN
        gateway's portal ends a working session at the end of the current span):
        ``regular`` and ``overrides`` periods, each with ``days`` (0 = Monday), ``spans``
        ([start, end] in minutes after midnight) and, for overrides, ``start``/``end``
        dates. Read with the rules of :meth:`spans_on`."""

        def period(p: Period) -> dict[str, Any]:
            data: dict[str, Any] = {
                "days": sorted(p.days),
                "spans": [[s.start, s.end] for s in p.spans],
            }
            if p.start and p.end:
                data |= {"start": p.start.isoformat(), "end": p.end.isoformat()}
            return data

        return {
            "regular": [period(p) for p in self.regular],
            "overrides": [period(p) for p in self.overrides],
        }

    def regular_days(self) -> frozenset[int]:
        """Weekdays with any telework in the regular schedule."""
        return frozenset(d for p in self.regular for d in p.days)

    def whole_regular_days(self) -> frozenset[int]:
        """Weekdays teleworked from start to end of day in the regular schedule."""
        return frozenset(d for p in self.regular if p.spans == WHOLE_DAY for d in p.days)


def _parse_time(hours: str, minutes: str, text: str) -> int:
    h, m = int(hours), int(minutes)
    if h > 24 or m > 59 or (h == 24 and m):
        raise ScheduleError(f"{text!r} is not a time of day (HH:MM, 00:00 to 24:00)")
    return h * 60 + m


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for raw in text.split(","):
        item = raw.strip().lower()
        if not item:
            raise ScheduleError("empty day in the list (two commas in a row?)")
        first, _, last = item.partition("-")
        for name in (first, last) if last else (first,):
            if name not in _DAY_INDEX:
                raise ScheduleError(
                    f"{name!r} is not a day (use {', '.join(DAYS)}; ranges like mon-wed)"
                )
        lo, hi = _DAY_INDEX[first], _DAY_INDEX[last or first]
        if hi < lo:
            raise ScheduleError(f"day range {item!r} runs backwards")
        days.update(range(lo, hi + 1))
    return frozenset(days)


def _parse_spans(text: str) -> tuple[Span, ...]:
    spans: list[Span] = []
    for raw in text.split(","):
        item = raw.strip().replace(" ", "")
        match = _SPAN.match(item)
        if not match:
            raise ScheduleError(f"{item!r} is not a time span (HH:MM-HH:MM)")
        start = _parse_time(match[1], match[2], item)
        end = _parse_time(match[3], match[4], item)
        if end <= start:
            raise ScheduleError(f"time span {item!r} ends before it starts")
        spans.append(Span(start, end))
    ordered = sorted(spans, key=lambda s: s.start)
    for a, b in itertools.pairwise(ordered):
        if b.start < a.end:
            raise ScheduleError(f"time spans {a} and {b} overlap")
    return tuple(ordered)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ScheduleError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def parse_schedule(text: str) -> Schedule:
    """Parse the ``schedule`` column; raises ScheduleError with what is wrong."""
    text = text.strip()
    regular: list[Period] = []
    overrides: list[Period] = []
    if not text:
        return Schedule(text)
    for raw in text.split("|"):
        chunk = raw.strip()
        if not chunk:
            raise ScheduleError("empty period (a '|' with nothing on one side)")
        start = end = None
        dated = _DATES.match(chunk)
        if dated:
            start, end = _parse_date(dated[1]), _parse_date(dated[2])
            if end < start:
                raise ScheduleError(f"date range {dated[1]}..{dated[2]} runs backwards")
            chunk = dated[3].strip()
            if not chunk:
                raise ScheduleError(f"no days after the date range {dated[1]}..{dated[2]}")
        elif ".." in chunk:
            raise ScheduleError(f"{chunk!r}: a date range is written YYYY-MM-DD..YYYY-MM-DD: days")
        chunk = _PUNCT_SPACES.sub(r"\1", chunk)  # "mon, thu" and "08:00 - 12:00" too
        days_text, _, hours_text = chunk.partition(" ")
        days = _parse_days(days_text)
        spans = _parse_spans(hours_text) if hours_text.strip() else WHOLE_DAY
        period = Period(days, spans, start, end)
        (overrides if dated else regular).append(period)
    return Schedule(text, tuple(regular), tuple(overrides))
