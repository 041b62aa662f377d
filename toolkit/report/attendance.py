"""A17, E23, C2: did each teleworker work the hours the roster schedules, as far as the
administration can see it electronically, with as little personal data as it needs (A3).

For each active, approved teleworker and each scheduled working day of the period, the
evidence is the teleworker's confirmed working sessions on the gateway portal when there
are any in the period (the portal is the second factor), else the VPN activity of their
devices: an interval between two samples counts as worked when the peer moved at least
``min_bytes`` (above what keep-alives alone send). A scheduled span is then:

- ``absent``: no evidence in it;
- ``late_start`` / ``early_end``: the first / last evidence more than ``grace`` after the
  start / before the end;
- ``gap``: an inactive stretch inside it longer than ``max_gap``;
- ``no_data``: not judged, no sample of the gateway (nor session) in it;
- ``unverifiable``: not judged, no VPN key is known for the teleworker's devices.

The report keeps to A3: by default only deviations (id, unit, day, what deviates, first
and last evidence that day) and per-unit totals; every checked day only with ``detail``,
which the output then says. No address, key, byte count or raw sample reaches a report.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from toolkit.report.activity import (
    PORTAL_DIR,
    VPN_DIR,
    Sample,
    Session,
    day_files,
    parse_samples,
    parse_sessions,
    public_key,
    read_capped,
)
from toolkit.roster.model import Roster, Teleworker
from toolkit.roster.schedule import DAYS, WHOLE_DAY, Span

CLAUSES = ("A17", "E23", "C2", "A3")
Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Options:
    grace: timedelta = timedelta(minutes=15)
    max_gap: timedelta = timedelta(minutes=60)
    #: Bytes (in and out) between two samples that count as work, not keep-alives.
    min_bytes: int = 2048
    #: A longer silence of the sampler counts only this much before the next sample.
    max_interval: timedelta = timedelta(minutes=15)
    timezone: str = "Africa/Casablanca"


@dataclass(frozen=True)
class DayCheck:
    """One teleworker's scheduled day."""

    ident: str
    unit: str
    day: date
    scheduled: str
    source: str
    status: str  # ok, deviation, no_data, unverifiable
    deviations: tuple[str, ...] = ()
    covered_pct: int = 0
    first: str = ""
    last: str = ""

    @property
    def weekday(self) -> str:
        return DAYS[self.day.weekday()]


@dataclass
class UnitTotal:
    unit: str
    teleworkers: int = 0
    scheduled_days: int = 0
    ok: int = 0
    deviations: int = 0
    no_data: int = 0
    unverifiable: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceNote:
    name: str
    available: bool
    note: str


@dataclass(frozen=True)
class Attendance:
    first: date
    last: date
    generated_on: date
    timezone: str
    detail: bool
    units: list[UnitTotal]
    rows: list[DayCheck]
    sources: list[SourceNote]
    clauses: tuple[str, ...] = CLAUSES


def zone(name: str) -> ZoneInfo:
    """The time zone the schedule's hours are in; ValueError for an unknown name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name[:60]!r}") from None


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def vpn_intervals(samples: list[Sample], options: Options) -> dict[str, list[Interval]]:
    """Worked intervals per public key: between two samples that moved ``min_bytes``."""
    by_key: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_key[s.public_key].append(s)
    found: dict[str, list[Interval]] = {}
    for key, series in by_key.items():
        series.sort(key=lambda s: s.taken_at)
        spans = []
        for a, b in itertools.pairwise(series):
            moved = (b.rx - a.rx) + (b.tx - a.tx)
            if b.rx < a.rx or b.tx < a.tx:  # the interface restarted: counters from zero
                moved = b.rx + b.tx
            if moved >= options.min_bytes and b.taken_at > a.taken_at:
                spans.append((max(a.taken_at, b.taken_at - options.max_interval), b.taken_at))
        found[key] = _merge(spans)
    return found


def sampler_intervals(samples: list[Sample], options: Options) -> list[Interval]:
    """When the sampler was running: between consecutive sample times not too far apart."""
    times = sorted({s.taken_at for s in samples})
    return _merge([(a, b) for a, b in itertools.pairwise(times) if b - a <= options.max_interval])


def _clip(intervals: list[Interval], lo: datetime, hi: datetime) -> list[Interval]:
    return [(max(a, lo), min(b, hi)) for a, b in intervals if a < hi and b > lo]


def _uncovered(covered: list[Interval], lo: datetime, hi: datetime) -> list[Interval]:
    """The parts of [lo, hi) that ``covered`` (merged) leaves out."""
    gaps, cursor = [], lo
    for a, b in _clip(covered, lo, hi):
        if a > cursor:
            gaps.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < hi:
        gaps.append((cursor, hi))
    return gaps


def _judge(evidence: list[Interval], lo: datetime, hi: datetime, options: Options) -> list[str]:
    inside = _clip(evidence, lo, hi)
    if not inside:
        return ["absent"]
    kinds = []
    if inside[0][0] - lo > options.grace:
        kinds.append("late_start")
    if hi - inside[-1][1] > options.grace:
        kinds.append("early_end")
    if any(b[0] - a[1] > options.max_gap for a, b in itertools.pairwise(inside)):
        kinds.append("gap")
    return kinds


def _hhmm(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


@dataclass
class Evidence:
    """What the period's files say: worked intervals per public key and per teleworker id
    (portal), and when the sampler and the portal were recording."""

    vpn: dict[str, list[Interval]] = field(default_factory=dict)
    portal: dict[str, list[Interval]] = field(default_factory=dict)
    sampled: list[Interval] = field(default_factory=list)
    sources: list[SourceNote] = field(default_factory=list)


def load_evidence(data_dir: Path, first: date, last: date, options: Options) -> Evidence:
    """Read the VPN samples and portal sessions of the period (a day around it for time
    zones); each file is parsed whole or refused (InvalidInputError)."""
    evidence = Evidence()
    lo, hi = first - timedelta(days=1), last + timedelta(days=1)
    vpn_files = day_files(data_dir / VPN_DIR, lo, hi)
    samples: list[Sample] = []
    for _, path in sorted(vpn_files.items()):
        samples.extend(parse_samples(read_capped(path), str(path)))
    evidence.vpn = vpn_intervals(samples, options)
    evidence.sampled = sampler_intervals(samples, options)
    evidence.sources.append(
        SourceNote(
            "vpn",
            bool(samples),
            f"{len(vpn_files)} day files, {len(samples)} samples of "
            f"{len({s.public_key for s in samples})} peers"
            if samples
            else f"no VPN samples for the period in {data_dir / VPN_DIR}",
        )
    )
    portal_files = day_files(data_dir / PORTAL_DIR, lo, hi)
    sessions: list[Session] = []
    for _, path in sorted(portal_files.items()):
        sessions.extend(parse_sessions(read_capped(path), str(path)))
    now = datetime.now(UTC)
    by_id: dict[str, list[Interval]] = defaultdict(list)
    for s in sessions:
        by_id[s.ident.lower()].append((s.started, s.ended or min(now, s.started + timedelta(1))))
    evidence.portal = {k: _merge(v) for k, v in by_id.items()}
    evidence.sources.append(
        SourceNote(
            "portal",
            bool(sessions),
            f"{len(portal_files)} day files, {len(sessions)} confirmed sessions"
            if sessions
            else "no portal sessions yet (the gateway portal does not record them yet): "
            "VPN activity is the evidence for every teleworker",
        )
    )
    return evidence


def _check_day(
    worker: Teleworker,
    day: date,
    spans: tuple[Span, ...],
    *,
    keys: list[str],
    evidence: Evidence,
    options: Options,
) -> DayCheck:
    zone = ZoneInfo(options.timezone)
    windows = [
        (
            datetime.combine(day, time(), zone) + timedelta(minutes=s.start),
            datetime.combine(day, time(), zone) + timedelta(minutes=s.end),
        )
        for s in spans
    ]
    scheduled = ", ".join(str(s) for s in spans)
    base = DayCheck(worker.id, worker.unit, day, scheduled, source="none", status="unverifiable")
    unknown: list[Interval] = []
    portal = evidence.portal.get(worker.id.lower())
    if portal is not None:
        source, intervals = "portal", portal
    elif keys:
        source = "vpn"
        intervals = _merge([i for k in keys for i in evidence.vpn.get(k, [])])
        if not any(_clip(evidence.sampled, lo, hi) for lo, hi in windows):
            return replace(base, source=source, status="no_data")
        # While the sampler was not running nothing is known: no deviation is found there.
        unknown = [g for lo, hi in windows for g in _uncovered(evidence.sampled, lo, hi)]
    else:
        return base
    kinds: list[str] = []
    judged = _merge(intervals + unknown) if source == "vpn" else intervals
    for lo, hi in windows:
        kinds += [k for k in _judge(judged, lo, hi, options) if k not in kinds]
    worked = [c for lo, hi in windows for c in _clip(intervals, lo, hi)]
    total = sum((hi - lo for lo, hi in windows), timedelta())
    covered = sum((b - a for a, b in worked), timedelta())
    pct = round(100 * covered / total) if total else 0
    return replace(
        base,
        source=source,
        status="deviation" if kinds else "ok",
        deviations=tuple(kinds),
        covered_pct=pct,
        first=_hhmm(worked[0][0], zone) if worked else "",
        last=_hhmm(worked[-1][1], zone) if worked else "",
    )


def check(
    roster: Roster,
    keys: dict[str, str],
    evidence: Evidence,
    first: date,
    last: date,
    *,
    options: Options | None = None,
    units: tuple[str, ...] = (),
    detail: bool = False,
    today: date | None = None,
) -> Attendance:
    """The attendance of the period ``first``..``last``; ``keys`` maps device names to VPN
    public keys; ``units`` limits the report to those units (every unit when empty)."""
    options = options or Options()
    ref = roster.reference
    office = ref.office_span
    totals = {u: UnitTotal(u) for u in sorted(ref.units) if not units or u in units}
    rows: list[DayCheck] = []
    for worker in roster.teleworkers:
        if not worker.eligible or worker.unit not in totals:
            continue
        total = totals[worker.unit]
        total.teleworkers += 1
        device_keys = [keys[d.name] for d in worker.equipment if d.name in keys]
        day = first
        while day <= last:
            spans = worker.schedule.spans_on(day, ref.workday_indexes)
            spans = tuple(office if s == WHOLE_DAY[0] else s for s in spans)
            approved = worker.approved_on is None or worker.approved_on <= day
            if spans and approved and day.weekday() in ref.workday_indexes:
                result = _check_day(
                    worker, day, spans, keys=device_keys, evidence=evidence, options=options
                )
                total.scheduled_days += 1
                if result.status == "deviation":
                    total.deviations += 1
                    for kind in result.deviations:
                        total.by_kind[kind] = total.by_kind.get(kind, 0) + 1
                elif result.status == "ok":
                    total.ok += 1
                elif result.status == "no_data":
                    total.no_data += 1
                else:
                    total.unverifiable += 1
                if detail or result.status in ("deviation", "unverifiable"):
                    rows.append(result)
            day += timedelta(days=1)
    rows.sort(key=lambda r: (r.unit, r.ident.lower(), r.day))
    return Attendance(
        first,
        last,
        today or date.today(),
        options.timezone,
        detail,
        list(totals.values()),
        rows,
        evidence.sources,
    )


def device_keys(keys_dir: Path) -> dict[str, str]:
    """Device name -> WireGuard public key, from the inventory's ``.vpn/keys/<device>.pub``
    (a file that is not a key is left out: that device's days are unverifiable)."""
    found: dict[str, str] = {}
    if keys_dir.is_dir():
        for pub in sorted(keys_dir.glob("*.pub")):
            if not pub.is_file():
                continue
            try:
                text = pub.read_text(encoding="ascii", errors="replace")[:100].strip()
                found[pub.stem.lower()] = public_key(text)
            except ValueError:
                continue
    return found
