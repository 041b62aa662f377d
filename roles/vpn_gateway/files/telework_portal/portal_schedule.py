"""When a teleworker may open a session (E23, A17): the structured schedule the role
exports for each peer, evaluated the way toolkit/roster/schedule.py's ``Schedule.spans_on``
does (the tests compare the two).

Structured form (JSON, from the gate's configuration)::

    {"regular":   [{"days": [1], "spans": [[510, 750]]}, ...],
     "overrides": [{"days": [0, 1], "spans": [[0, 1440]], "start": "2026-03-16",
                    "end": "2026-04-30"}, ...]}

On a day, the overrides whose dates contain it replace the regular periods; with no
override that day and an empty schedule, every workday is a whole day; the spans (minutes
after midnight, start < end <= 1440) of the periods matching the weekday are merged where
they overlap. A session started at local time t ends at the end of the span containing t;
a span ending at midnight goes on into a span starting at midnight the next day.

Self-contained (Debian's Python 3 only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

DAY_MINUTES = 24 * 60
#: Days a chain of whole days is followed at most (the caller's limit usually stops it first).
MAX_CHAIN_DAYS = 366


@dataclass(frozen=True)
class Period:
    """Weekdays (0 = Monday) and their spans; ``start``/``end`` for an override."""

    days: frozenset[int]
    spans: tuple[tuple[int, int], ...]
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class PortalSchedule:
    """A peer's schedule: regular periods and dated overrides."""

    regular: tuple[Period, ...] = ()
    overrides: tuple[Period, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.regular and not self.overrides

    def spans_on(self, day: date, workdays: frozenset[int]) -> tuple[tuple[int, int], ...]:
        """The merged spans of ``day`` (as toolkit/roster/schedule.py's Schedule.spans_on)."""
        active = [p for p in self.overrides if p.start and p.end and p.start <= day <= p.end]
        if not active:
            if self.is_empty:
                return ((0, DAY_MINUTES),) if day.weekday() in workdays else ()
            active = list(self.regular)
        spans = sorted(s for p in active if day.weekday() in p.days for s in p.spans)
        merged: list[tuple[int, int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return tuple(merged)

    def span_end(
        self, at: datetime, workdays: frozenset[int], zone: tzinfo, limit: datetime | None = None
    ) -> datetime | None:
        """The end (aware, in ``zone``) of the span containing ``at`` (aware), following
        whole days over midnight until past ``limit``; None when ``at`` is in no span."""
        if at.tzinfo is None:
            raise ValueError("a schedule is evaluated at an aware datetime")
        local = at.astimezone(zone)
        day = local.date()
        minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 6e7
        end = next((e for s, e in self.spans_on(day, workdays) if s <= minute < e), None)
        if end is None:
            return None
        for _ in range(MAX_CHAIN_DAYS):
            if end < DAY_MINUTES:
                break
            day += timedelta(days=1)
            ends = _wall(day, 0, zone)
            if limit is not None and ends >= limit:
                return ends
            following = self.spans_on(day, workdays)
            if not following or following[0][0] != 0:
                return ends
            end = following[0][1]
        return _wall(day, end, zone)

    def session_end(
        self, at: datetime, workdays: frozenset[int], zone: tzinfo, max_seconds: int
    ) -> datetime | None:
        """When a session started at ``at`` ends: at the end of its span, after
        ``max_seconds`` at most; None when ``at`` is outside the schedule."""
        limit = at + timedelta(seconds=max_seconds)
        end = self.span_end(at, workdays, zone, limit)
        if end is None:
            return None
        return min(end, limit).astimezone(zone)


def _wall(day: date, minutes: int, zone: tzinfo) -> datetime:
    """The aware datetime of ``minutes`` after midnight of ``day``, local wall time."""
    if minutes >= DAY_MINUTES:
        return datetime.combine(day + timedelta(days=1), time(0), zone)
    return datetime.combine(day, time(minutes // 60, minutes % 60), zone)


def _days(value: Any) -> frozenset[int]:
    if not isinstance(value, list) or not value:
        raise ValueError("a period's days are a non-empty list of 0..6")
    if any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in value):
        raise ValueError("a period's days are integers 0 (Monday) to 6 (Sunday)")
    return frozenset(value)


def _spans(value: Any) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list) or not value:
        raise ValueError("a period's spans are a non-empty list of [start, end]")
    spans: list[tuple[int, int]] = []
    for item in value:
        if (
            not isinstance(item, list | tuple)
            or len(item) != 2
            or any(isinstance(m, bool) or not isinstance(m, int) for m in item)
            or not 0 <= item[0] < item[1] <= DAY_MINUTES
        ):
            raise ValueError(f"span {item!r} is not [start, end], 0 <= start < end <= 1440")
        spans.append((item[0], item[1]))
    return tuple(spans)


def _period(value: Any, dated: bool) -> Period:
    if not isinstance(value, Mapping):
        raise ValueError("a period is an object with days and spans")
    if not dated:
        return Period(_days(value.get("days")), _spans(value.get("spans")))
    try:
        start = date.fromisoformat(str(value.get("start")))
        end = date.fromisoformat(str(value.get("end")))
    except ValueError as exc:
        raise ValueError("an override has start and end dates (YYYY-MM-DD)") from exc
    if end < start:
        raise ValueError("an override's dates run backwards")
    return Period(_days(value.get("days")), _spans(value.get("spans")), start, end)


def parse(value: Any) -> PortalSchedule:
    """The schedule of a peer from its structured (JSON) form; None or {} is empty.
    Raises ValueError with what is wrong."""
    if value is None:
        return PortalSchedule()
    if not isinstance(value, Mapping):
        raise ValueError("a schedule is an object with regular and overrides")
    regular: Iterable[Any] = value.get("regular") or []
    overrides: Iterable[Any] = value.get("overrides") or []
    if not isinstance(regular, list) or not isinstance(overrides, list):
        raise ValueError("a schedule's regular and overrides are lists")
    return PortalSchedule(
        tuple(_period(p, dated=False) for p in regular),
        tuple(_period(p, dated=True) for p in overrides),
    )
