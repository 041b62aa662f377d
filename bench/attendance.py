"""Time of the attendance report (A17) on a generated inventory: N teleworkers (default
500), a working week of VPN samples every 5 minutes from 06:00 to 18:00 UTC.

    .venv/bin/python bench/attendance.py [--teleworkers N] [--repeat K]

Prints the samples read, the median wall time of reading and parsing the sample files
(the anchor, measured in the same run) and of the whole report (read, judge every
scheduled day, write HTML and CSV), samples per second, and the ratio of the two.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from toolkit.report import attendance as att
from toolkit.report import attendance_files
from toolkit.report.activity import SAMPLES_MAGIC
from toolkit.roster import load_environment_roster
from toolkit.vpn.layout import keys_dir

WEEK = [date(2026, 11, 16) + timedelta(days=i) for i in range(5)]
REFERENCE = """\
telework_workdays: [mon, tue, wed, thu, fri]
telework_office_hours: "08:30-16:30"
telework_mail_domains: [bench.gov.ma]
telework_units:
{units}
telework_vpn_groups:
  staff: {{description: everyone}}
"""
HEADER = "id;name_latin;name_arabic;email;unit;mode;schedule;approved_on;approved_by;"
HEADER += "equipment;vpn_groups;status"
SCHEDULES = ["mon,thu", "tue 08:30-12:30|fri", "wed", "mon-wed 14:00-16:30", ""]


def key_of(device: str) -> str:
    return base64.b64encode(hashlib.sha256(device.encode()).digest()).decode()


def generate(folder: Path, teleworkers: int) -> Path:
    """An inventory folder with reference data, roster, device keys and a week of samples
    (one teleworker in ten idles a scheduled afternoon: keep-alives only)."""
    rng = random.Random(2020)
    units = [f"unit{i:02d}" for i in range(10)]
    (folder / "group_vars" / "all").mkdir(parents=True)
    (folder / "group_vars" / "all" / "telework.yml").write_text(
        REFERENCE.format(
            units="\n".join(
                f"  {u}: {{name: Unit {u}, staff: {teleworkers}, min_onsite: 1}}" for u in units
            )
        )
    )
    keys = keys_dir(folder)
    keys.mkdir(parents=True)
    lines = [HEADER]
    for i in range(teleworkers):
        schedule = rng.choice(SCHEDULES)
        lines.append(
            f"ag{i:05d};Agent {i};الموظف رقم {i};agent{i}@bench.gov.ma;{rng.choice(units)};"
            f"{'partial' if schedule else 'full'};{schedule};2026-09-01;Chef;laptop:lt-{i:05d};"
            "staff;active"
        )
        (keys / f"lt-{i:05d}.pub").write_text(key_of(f"lt-{i:05d}") + "\n")
    (folder / "roster.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    vpn = folder / ".telework-data" / "vpn"
    vpn.mkdir(parents=True)
    for day in WEEK:
        counters = [0] * teleworkers
        out = [SAMPLES_MAGIC]
        moment = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
        while moment.hour < 18 or (moment.hour == 18 and moment.minute == 0):
            afternoon = moment.hour >= 13
            for i in range(teleworkers):
                idle = afternoon and i % 10 == day.weekday()
                counters[i] += 96 if idle else 40_000
                out.append(
                    f"{moment:%Y-%m-%dT%H:%M:%SZ}\t{key_of(f'lt-{i:05d}')}\t"
                    f"{int(moment.timestamp()) - 30}\t{counters[i]}\t{counters[i] // 3}"
                )
            moment += timedelta(minutes=5)
        (vpn / f"{day}.tsv").write_text("\n".join(out) + "\n")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teleworkers", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inventory = generate(Path(tmp) / "inv", args.teleworkers)
        data = inventory / ".telework-data"
        size = sum(p.stat().st_size for p in (data / "vpn").iterdir())
        roster = load_environment_roster(inventory, today=date(2026, 11, 23))
        keys = att.device_keys(keys_dir(inventory))
        parse_times, report_times = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            att.load_evidence(data, WEEK[0], WEEK[-1], att.Options())
            parse_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            evidence = att.load_evidence(data, WEEK[0], WEEK[-1], att.Options())
            result = att.check(roster, keys, evidence, WEEK[0], WEEK[-1], today=WEEK[-1])
            attendance_files.write(result, Path(tmp) / "out")
            report_times.append(time.perf_counter() - start)
    samples = args.teleworkers * 145 * len(WEEK)
    parse, whole = statistics.median(parse_times), statistics.median(report_times)
    days = sum(u.scheduled_days for u in result.units)
    deviations = sum(u.deviations for u in result.units)
    print(f"teleworkers:       {args.teleworkers}, {days} scheduled days, {deviations} deviations")
    print(f"samples:           {samples:,} ({size / 1e6:.1f} MB in {len(WEEK)} day files)")
    print(f"read and parse:    {parse:.2f} s median of {args.repeat} (anchor)")
    print(f"whole report:      {whole:.2f} s median of {args.repeat}")
    print(f"samples per second (whole report): {samples / whole:,.0f}")
    print(f"whole report / parse: {whole / parse:.2f}x")


if __name__ == "__main__":
    main()
