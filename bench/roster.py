"""Time to validate a generated roster (default 5,000 rows; target < 2 s).

    .venv/bin/python bench/roster.py [--rows N] [--repeat K]

Prints the rows, the best and median wall time of K validations, rows per second and the
peak memory of one validation.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

from toolkit.roster import load_reference, load_roster

REFERENCE = """\
telework_workdays: [mon, tue, wed, thu, fri]
telework_office_hours: "08:30-16:30"
telework_mail_domains: [bench.gov.ma]
telework_units:
{units}
telework_vpn_groups:
  staff: {{description: everyone}}
  finance: {{description: finance}}
  rh: {{description: hr}}
"""
HEADER = (
    "id;name_latin;name_arabic;email;unit;mode;schedule;approved_on;approved_by;"
    "equipment;vpn_groups;status;eligible_tasks"
)
SCHEDULES = [
    "mon,thu",
    "tue 08:30-12:30|fri",
    "wed",
    "mon-wed 14:00-16:30",
    "",
    "thu|2026-12-21..2027-01-08: mon-fri",
]


def generate(folder: Path, rows: int) -> tuple[Path, Path]:
    rng = random.Random(2020)
    units = [f"unit{i:02d}" for i in range(40)]
    reference = folder / "telework.yml"
    reference.write_text(
        REFERENCE.format(
            units="\n".join(
                f"  {u}: {{name: Unit {u}, staff: {rows}, min_onsite: 1}}" for u in units
            )
        )
    )
    lines = [HEADER]
    for i in range(rows):
        schedule = rng.choice(SCHEDULES)
        mode = "full" if not schedule else "partial"
        status = "revoked" if i % 17 == 0 else "active"
        lines.append(
            f"ag{i:05d};Agent {i};الموظف رقم {i};agent{i}@bench.gov.ma;{rng.choice(units)};{mode};"
            f"{schedule};2026-{rng.randint(1, 9):02d}-{rng.randint(1, 28):02d};Chef;"
            f"laptop:lt-{i:05d} phone:ph-{i:05d};staff {rng.choice(['finance', 'rh'])};{status};"
            "Dossiers"
        )
    roster = folder / "roster.csv"
    roster.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())
    return reference, roster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        reference_file, roster_file = generate(Path(tmp), args.rows)
        today = date(2026, 11, 23)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            roster = load_roster(roster_file, load_reference(reference_file), today=today)
            times.append(time.perf_counter() - start)
        tracemalloc.start()
        load_roster(roster_file, load_reference(reference_file), today=today)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        size = roster_file.stat().st_size
    if len(roster.teleworkers) != args.rows:
        raise SystemExit(f"expected {args.rows} rows, validated {len(roster.teleworkers)}")
    best, median = min(times), statistics.median(times)
    print(f"rows:            {args.rows} ({size / 1e6:.1f} MB, BOM, ';', CRLF)")
    print(f"validate best:   {best:.3f} s")
    print(f"validate median: {median:.3f} s over {args.repeat} runs (target < 2 s)")
    print(f"rows per second: {args.rows / median:,.0f}")
    print(f"peak memory:     {peak / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
