"""C3: a minimum of staff must stay on site. For each unit and working day, the smallest
number of agents present during office hours, against the unit's ``min_onsite``."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

from toolkit.roster.model import Roster
from toolkit.roster.schedule import DAYS, Span


@dataclass(frozen=True)
class OnsiteCount:
    """On-site head-count of one unit on one day, at its lowest during office hours."""

    unit: str
    day: date
    staff: int
    min_onsite: int
    onsite: int
    lowest_at: Span | None

    @property
    def ok(self) -> bool:
        return self.onsite >= self.min_onsite

    @property
    def weekday(self) -> str:
        return DAYS[self.day.weekday()]


def _lowest(office: Span, spans: list[Span], staff: int) -> tuple[int, Span | None]:
    clipped = [Span(max(s.start, office.start), min(s.end, office.end)) for s in spans]
    clipped = [s for s in clipped if s.start < s.end]
    if not clipped:
        return staff, None
    cuts = sorted(
        {office.start, office.end, *(s.start for s in clipped), *(s.end for s in clipped)}
    )
    best, at = staff + 1, None
    for lo, hi in itertools.pairwise(cuts):
        away = sum(1 for s in clipped if s.start <= lo and hi <= s.end)
        if staff - away < best:
            best, at = staff - away, Span(lo, hi)
    return best, at


def week_counts(roster: Roster, week_of: date) -> list[OnsiteCount]:
    """Counts for every unit and every working day of the week that holds ``week_of``."""
    ref = roster.reference
    monday = week_of - timedelta(days=week_of.weekday())
    days = [monday + timedelta(days=i) for i in sorted(ref.workday_indexes)]
    office = ref.office_span
    counts = []
    for unit_id, unit in sorted(ref.units.items()):
        members = [t for t in roster.active() if t.unit == unit_id]
        for day in days:
            spans: list[Span] = []
            for t in members:
                # a teleworker with several spans that day counts as away in each of them
                spans.extend(t.schedule.spans_on(day, ref.workday_indexes))
            onsite, at = _lowest(office, spans, unit.staff)
            counts.append(OnsiteCount(unit_id, day, unit.staff, unit.min_onsite, onsite, at))
    return counts
