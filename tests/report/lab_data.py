"""A generated inventory for the report tests: reference data with three units, a roster
of teleworkers with every kind of schedule, their devices' VPN keys, and a recorded week
(ISO week 2026-W47, Monday 16 to Friday 20 November, Casablanca is UTC+1) of VPN samples
every 5 minutes and portal sessions, with the deviations listed in :data:`PLANTED`.

Everyone works exactly their scheduled hours except where planted; idle peers still send
keep-alives (96 bytes every 5 minutes), as a real WireGuard peer does."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from toolkit.report.activity import SAMPLES_MAGIC

ZONE = ZoneInfo("Africa/Casablanca")
WEEK = [date(2026, 11, 16) + timedelta(days=i) for i in range(5)]
TODAY = date(2026, 11, 23)

REFERENCE = """\
---
telework_workdays: [mon, tue, wed, thu, fri]
telework_office_hours: "08:30-16:30"
telework_mail_domains: [example.gov.ma]
telework_units:
  dsi: {name: Direction des systèmes d'information, name_arabic: مديرية نظم المعلومات, staff: 20, min_onsite: 4}
  finance: {name: Division des affaires financières, name_arabic: قسم الشؤون المالية, staff: 12, min_onsite: 3}
  rh: {name: Division des ressources humaines, name_arabic: قسم الموارد البشرية, staff: 8, min_onsite: 2}
telework_vpn_groups:
  staff: {description: everyone}
  finance: {description: finance application}
  rh: {description: HR system}
"""

HEADER = (
    "id;name_latin;name_arabic;email;unit;mode;schedule;approved_on;approved_by;"
    "equipment;vpn_groups;status;eligible_tasks"
)


@dataclass(frozen=True)
class Worker:
    ident: str
    latin: str
    arabic: str
    unit: str
    mode: str
    schedule: str
    device: str
    status: str = "active"
    has_key: bool = True
    portal: bool = False


WORKERS = (
    Worker("dsi01", "Amina Benali", "أمينة بنعلي", "dsi", "partial", "mon,thu", "lt-dsi01"),
    Worker("dsi02", "Karim Alaoui", "كريم العلوي", "dsi", "full", "", "lt-dsi02"),
    Worker("dsi03", "Salma Chraibi", "سلمى الشرايبي", "dsi", "partial", "mon-wed", "lt-dsi03"),
    Worker(
        "dsi04", "Hamza Bennani", "حمزة بناني", "dsi", "partial", "tue,fri", "lt-dsi04", portal=True
    ),
    Worker(
        "fin01",
        "Youssef El Idrissi",
        "يوسف الإدريسي",
        "finance",
        "partial",
        "tue 08:30-12:30|wed",
        "lt-fin01",
    ),
    Worker("fin02", "Nadia Fassi", "نادية الفاسي", "finance", "partial", "thu,fri", "lt-fin02"),
    Worker(
        "fin03",
        "Rachid Amrani",
        "رشيد العمراني",
        "finance",
        "partial",
        "mon",
        "lt-fin03",
        has_key=False,
    ),
    Worker("rh01", "Khadija Ouazzani", "خديجة الوزاني", "rh", "full", "", "pc-rh01"),
    Worker("rh02", "Omar Tazi", "عمر التازي", "rh", "partial", "wed 14:00-16:30", "lt-rh02"),
    Worker("rh03", "Laila Berrada", "ليلى برادة", "rh", "partial", "mon", "lt-rh03", "revoked"),
)

#: (id, day, deviations) the attendance report must find, and nothing else.
PLANTED = {
    ("dsi02", date(2026, 11, 17), ("absent",)),
    ("fin01", date(2026, 11, 18), ("late_start",)),
    ("rh01", date(2026, 11, 19), ("early_end",)),
    ("dsi03", date(2026, 11, 16), ("gap",)),
    ("dsi04", date(2026, 11, 20), ("early_end",)),
    ("fin03", date(2026, 11, 16), ()),  # unverifiable: no VPN key for the device
}

#: Local working hours that differ from the schedule: (id, day) -> spans worked.
WORKED_INSTEAD = {
    ("dsi02", date(2026, 11, 17)): [],
    ("fin01", date(2026, 11, 18)): [("10:05", "16:30")],
    ("rh01", date(2026, 11, 19)): [("08:30", "14:00")],
    ("dsi03", date(2026, 11, 16)): [("08:30", "10:00"), ("12:00", "16:30")],
    ("dsi04", date(2026, 11, 20)): [("08:30", "11:00")],
}
#: The sampler was down (UTC) on Friday 12:00-13:30: nobody's deviation.
SAMPLER_DOWN = (
    datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
    datetime(2026, 11, 20, 13, 30, tzinfo=UTC),
)


def key_of(device: str) -> str:
    return base64.b64encode(hashlib.sha256(device.encode()).digest()).decode()


def _scheduled(worker: Worker, day: date) -> list[tuple[str, str]]:
    from toolkit.roster.schedule import parse_schedule

    spans = parse_schedule(worker.schedule).spans_on(day, frozenset(range(5)))
    out = []
    for s in spans:
        start, end = (s.start, s.end) if s.end - s.start < 1440 else (510, 990)
        out.append((f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"))
    return out


def worked(worker: Worker, day: date) -> list[tuple[datetime, datetime]]:
    spans = WORKED_INSTEAD.get((worker.ident, day), _scheduled(worker, day))
    return [
        (
            datetime.combine(day, time.fromisoformat(a), ZONE).astimezone(UTC),
            datetime.combine(day, time.fromisoformat(b), ZONE).astimezone(UTC),
        )
        for a, b in spans
    ]


def write_inventory(folder: Path) -> Path:
    """The inventory folder: reference, roster, keys, a week of evidence."""
    (folder / "group_vars" / "all").mkdir(parents=True)
    (folder / "group_vars" / "all" / "telework.yml").write_text(REFERENCE, encoding="utf-8")
    rows = [HEADER]
    for w in WORKERS:
        groups = "staff finance" if w.unit == "finance" else "staff"
        kind = "personal" if w.device.startswith("pc-") else "laptop"
        rows.append(
            f"{w.ident};{w.latin};{w.arabic};{w.ident}@example.gov.ma;{w.unit};{w.mode};"
            f"{w.schedule};2026-09-01;Directeur;{kind}:{w.device};{groups};{w.status};Dossiers"
        )
    (folder / "roster.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    keys = folder / ".vpn" / "keys"
    keys.mkdir(parents=True)
    for w in WORKERS:
        if w.has_key:
            (keys / f"{w.device}.pub").write_text(key_of(w.device) + "\n")
    data = folder / ".telework-data"
    (data / "vpn").mkdir(parents=True)
    (data / "portal").mkdir()
    for day in WEEK:
        lines = [SAMPLES_MAGIC]
        counters = {w.device: 0 for w in WORKERS}
        moment = datetime.combine(day, time(6, 0), UTC)
        end = datetime.combine(day, time(18, 0), UTC)
        while moment <= end:
            if not SAMPLER_DOWN[0] < moment < SAMPLER_DOWN[1]:
                for w in WORKERS:
                    busy = any(a < moment <= b for a, b in worked(w, day)) and not w.portal
                    counters[w.device] += 50_000 if busy else 96
                    handshake = int(moment.timestamp()) - 30
                    lines.append(
                        f"{moment:%Y-%m-%dT%H:%M:%SZ}\t{key_of(w.device)}\t{handshake}\t"
                        f"{counters[w.device]}\t{counters[w.device] // 3}"
                    )
            moment += timedelta(minutes=5)
        (data / "vpn" / f"{day}.tsv").write_text("\n".join(lines) + "\n")
        sessions = ["id;started;ended"]
        for w in WORKERS:
            if w.portal:
                for a, b in worked(w, day):
                    sessions.append(f"{w.ident};{a.isoformat()};{b.isoformat()}")
        (data / "portal" / f"{day}.csv").write_text("\n".join(sessions) + "\n")
    return folder
