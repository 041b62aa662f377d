"""Concurrent teleworkers per working day and hour (C1, C2): who is away, from the roster's
schedules, within office hours. Only eligible teleworkers count (active and approved, E1):
the others get no access to carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from toolkit.roster.model import Roster
from toolkit.roster.schedule import DAYS, Span


@dataclass(frozen=True)
class Concurrency:
    """``counts[d][h]``: teleworkers away during any part of hour ``hours[h]`` of
    ``days[d]`` (an upper bound of the simultaneous count within that hour)."""

    days: tuple[date, ...]
    hours: tuple[int, ...]
    counts: tuple[tuple[int, ...], ...]
    eligible: int
    office: Span

    @property
    def peak(self) -> tuple[int, date | None, int | None]:
        """The highest count, its day and hour (the first one when several tie)."""
        best: tuple[int, date | None, int | None] = (0, None, None)
        for day, row in zip(self.days, self.counts, strict=True):
            for hour, n in zip(self.hours, row, strict=True):
                if n > best[0]:
                    best = (n, day, hour)
        return best

    @property
    def office_hours(self) -> float:
        return (self.office.end - self.office.start) / 60

    def as_json(self) -> dict[str, object]:
        peak, day, hour = self.peak
        return {
            "eligible_teleworkers": self.eligible,
            "office_hours": str(self.office),
            "peak": {
                "teleworkers": peak,
                "date": day.isoformat() if day else None,
                "weekday": DAYS[day.weekday()] if day else None,
                "hour": hour,
            },
            "by_day": [
                {
                    "date": d.isoformat(),
                    "weekday": DAYS[d.weekday()],
                    "by_hour": dict(zip((f"{h:02d}:00" for h in self.hours), row, strict=True)),
                }
                for d, row in zip(self.days, self.counts, strict=True)
            ],
        }


def week_concurrency(roster: Roster, week_of: date) -> Concurrency:
    """Counts for every working day of the week holding ``week_of`` (dated overrides, C4,
    apply on their dates) and every hour that office hours touch."""
    ref = roster.reference
    office = ref.office_span
    monday = week_of - timedelta(days=week_of.weekday())
    days = tuple(monday + timedelta(days=i) for i in sorted(ref.workday_indexes))
    hours = tuple(range(office.start // 60, -(-office.end // 60)))
    people = [t for t in roster.teleworkers if t.eligible]
    counts = []
    for day in days:
        row = [0] * len(hours)
        for t in people:
            away = [False] * len(hours)
            for span in t.schedule.spans_on(day, ref.workday_indexes):
                start, end = max(span.start, office.start), min(span.end, office.end)
                for i, hour in enumerate(hours):
                    if start < (hour + 1) * 60 and hour * 60 < end:
                        away[i] = True
            for i, is_away in enumerate(away):
                row[i] += is_away
        counts.append(tuple(row))
    return Concurrency(days, hours, tuple(counts), len(people), office)
