"""A18, A22, C6: the steering view of telework, aggregates only (A3: no teleworker's name
or day): active teleworkers per unit and mode, signed charters (M17), the on-site
head-count against each unit's minimum (C3), VPN use, the last audit's verdict per platform
(M8), open findings and waivers near expiry, backup and drill status (A9), and the trend
against the previous report.

A source that does not exist yet (no audit run, no VPN samples, no backup drills) is said
so in its section, never guessed. The JSON form (:class:`Indicators`) is also what the next
report compares itself with.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.audit.catalogue import Severity
from toolkit.audit.model import Status
from toolkit.audit.results import AuditReport
from toolkit.errors import InvalidInputError, Problem
from toolkit.report.activity import read_capped
from toolkit.report.attendance import Evidence
from toolkit.roster.model import Mode, Roster
from toolkit.roster.onsite import week_counts

CLAUSES = ("A18", "A22", "C6", "C3", "M8", "M17", "A9", "A3")
#: A waiver that ends within this many days is shown as near expiry.
WAIVER_SOON_DAYS = 30


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnitFigures(_Model):
    unit: str
    name: str
    staff: int
    min_onsite: int
    partial: int = 0
    full: int = 0
    charters_signed: int = 0
    onsite_lowest: int = Field(description="Lowest on-site head-count of the week (C3).")
    short_days: list[str] = Field(default_factory=list)


class VpnDay(_Model):
    day: date
    active_teleworkers: int


class VpnFigures(_Model):
    available: bool
    note: str
    days: list[VpnDay] = Field(default_factory=list)
    distinct_teleworkers: int = 0


class PlatformVerdict(_Model):
    platform: str
    verdict: str
    blocking: int


class WaiverSoon(_Model):
    control: str
    hosts: str
    expires: date
    days_left: int


class AuditFigures(_Model):
    available: bool
    note: str
    file: str = ""
    started_at: datetime | None = None
    verdict: str = ""
    platforms: list[PlatformVerdict] = Field(default_factory=list)
    open_findings: dict[str, int] = Field(default_factory=dict)
    blocking: int = 0
    waivers_soon: list[WaiverSoon] = Field(default_factory=list)


class SourceState(_Model):
    available: bool
    note: str


class TrendItem(_Model):
    indicator: str
    before: float
    now: float
    direction: Literal["better", "worse", "same", "changed"]


class Trend(_Model):
    previous_file: str
    previous_generated_on: date
    items: list[TrendItem]


class Indicators(_Model):
    schema_version: Literal[1] = 1
    generated_on: date
    inventory: str
    first: date
    last: date
    clauses: list[str] = Field(default_factory=lambda: list(CLAUSES))
    active: int
    revoked: int
    charters_signed: int
    units: list[UnitFigures]
    vpn: VpnFigures
    audit: AuditFigures
    backups: SourceState
    trend: Trend | None = None


def unit_figures(roster: Roster, week_of: date) -> list[UnitFigures]:
    ref = roster.reference
    counts = week_counts(roster, week_of)
    figures = []
    for unit_id, unit in sorted(ref.units.items()):
        members = [t for t in roster.active() if t.unit == unit_id]
        days = [c for c in counts if c.unit == unit_id]
        figures.append(
            UnitFigures(
                unit=unit_id,
                name=unit.name,
                staff=unit.staff,
                min_onsite=unit.min_onsite,
                partial=sum(t.mode is Mode.PARTIAL for t in members),
                full=sum(t.mode is Mode.FULL for t in members),
                charters_signed=sum(t.charter_signed_on is not None for t in members),
                onsite_lowest=min((c.onsite for c in days), default=unit.staff),
                short_days=[f"{c.weekday} {c.day}" for c in days if not c.ok],
            )
        )
    return figures


def vpn_figures(
    roster: Roster,
    keys: dict[str, str],
    evidence: Evidence,
    days: Iterable[date],
    timezone: str,
) -> VpnFigures:
    """Teleworkers with VPN activity per day (counts only)."""
    source = next((s for s in evidence.sources if s.name == "vpn"), None)
    if source is None or not source.available:
        return VpnFigures(
            available=False, note=source.note if source else "no VPN samples were read"
        )
    zone = ZoneInfo(timezone)
    worked_days: dict[str, set[date]] = {}
    for t in roster.active():
        for device in t.equipment:
            for lo, hi in evidence.vpn.get(keys.get(device.name, ""), []):
                dates = worked_days.setdefault(t.id, set())
                dates.update({lo.astimezone(zone).date(), hi.astimezone(zone).date()})
    per_day = [
        VpnDay(day=d, active_teleworkers=sum(d in s for s in worked_days.values())) for d in days
    ]
    chosen = {d.day for d in per_day}
    return VpnFigures(
        available=True,
        note=source.note,
        days=per_day,
        distinct_teleworkers=sum(bool(s & chosen) for s in worked_days.values()),
    )


def latest_audit(folder: Path, inventory_name: str) -> Path | None:
    """The newest ``report.json`` of ``folder``'s ``<inventory>-<time>/`` subfolders."""
    if not folder.is_dir():
        return None
    found = [
        p / "report.json"
        for p in folder.iterdir()
        if p.name.startswith(f"{inventory_name}-") and (p / "report.json").is_file()
    ]
    return max(found, key=lambda p: p.stat().st_mtime, default=None)


def audit_figures(path: Path | None, today: date) -> AuditFigures:
    if path is None:
        return AuditFigures(available=False, note="no audit report yet: run `toolkit audit` (M8)")
    try:
        report = AuditReport.model_validate_json(read_capped(path))
    except ValidationError as exc:
        raise InvalidInputError(
            [Problem(str(path), 1, "-", f"not an audit JSON report: {exc.error_count()} errors")]
        ) from None
    open_findings: dict[str, int] = {s.value: 0 for s in Severity}
    soon: dict[tuple[str, date], WaiverSoon] = {}
    for host in report.hosts:
        for r in host.results:
            if r.status not in (Status.PASS, Status.SKIPPED):
                open_findings[r.severity.value] += 1
            if r.waiver and (r.waiver.expires - today).days <= WAIVER_SOON_DAYS:
                soon.setdefault(
                    (r.control, r.waiver.expires),
                    WaiverSoon(
                        control=r.control,
                        hosts=r.waiver.hosts,
                        expires=r.waiver.expires,
                        days_left=(r.waiver.expires - today).days,
                    ),
                )
    return AuditFigures(
        available=True,
        note=f"{len(report.hosts)} hosts audited",
        file=str(path),
        started_at=report.started_at,
        verdict=report.verdict.value,
        platforms=[
            PlatformVerdict(platform=p.platform, verdict=p.verdict.value, blocking=p.blocking)
            for p in report.platforms
        ],
        open_findings=open_findings,
        blocking=sum(r.blocking for h in report.hosts for r in h.results),
        waivers_soon=sorted(soon.values(), key=lambda w: (w.expires, w.control)),
    )


def backup_state() -> SourceState:
    """A9: backups and restore drills. No backup tool records them yet: said, not guessed."""
    return SourceState(
        available=False,
        note="no backup or restore-drill record yet: the backup role and `toolkit backup` "
        "(A9, A5) are not built; this section fills once they record their runs",
    )


#: Indicators compared with the previous report, and whether a rise is better.
_TRENDS: tuple[tuple[str, bool | None], ...] = (
    ("active teleworkers", None),
    ("charters signed", True),
    ("units below the on-site minimum", False),
    ("teleworkers using the VPN", True),
    ("open audit findings", False),
    ("blocking audit findings", False),
)


def _figures(ind: Indicators) -> dict[str, float]:
    return {
        "active teleworkers": ind.active,
        "charters signed": ind.charters_signed,
        "units below the on-site minimum": sum(bool(u.short_days) for u in ind.units),
        "teleworkers using the VPN": ind.vpn.distinct_teleworkers,
        "open audit findings": sum(ind.audit.open_findings.values()),
        "blocking audit findings": ind.audit.blocking,
    }


def trend(now: Indicators, previous: Indicators, previous_file: str) -> Trend:
    before, after = _figures(previous), _figures(now)
    items = []
    for name, rise_is_better in _TRENDS:
        a, b = before[name], after[name]
        if a == b:
            direction: Literal["better", "worse", "same", "changed"] = "same"
        elif rise_is_better is None:
            direction = "changed"
        else:
            direction = "better" if (b > a) == rise_is_better else "worse"
        items.append(TrendItem(indicator=name, before=a, now=b, direction=direction))
    return Trend(
        previous_file=previous_file, previous_generated_on=previous.generated_on, items=items
    )


def load_previous(path: Path) -> Indicators:
    try:
        return Indicators.model_validate_json(read_capped(path))
    except ValidationError as exc:
        raise InvalidInputError(
            [Problem(str(path), 1, "-", f"not an indicators report: {exc.error_count()} errors")]
        ) from None


def build(
    roster: Roster,
    *,
    inventory: str,
    first: date,
    last: date,
    vpn: VpnFigures,
    audit: AuditFigures,
    today: date,
) -> Indicators:
    units = unit_figures(roster, first)
    return Indicators(
        generated_on=today,
        inventory=inventory,
        first=first,
        last=last,
        active=len(roster.active()),
        revoked=len(roster.teleworkers) - len(roster.active()),
        charters_signed=sum(u.charters_signed for u in units),
        units=units,
        vpn=vpn,
        audit=audit,
        backups=backup_state(),
    )


def period_days(first: date, last: date, workdays: frozenset[int]) -> list[date]:
    return [
        first + timedelta(days=i)
        for i in range((last - first).days + 1)
        if (first + timedelta(days=i)).weekday() in workdays
    ]
