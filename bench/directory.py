"""Time to apply a 5,000-teleworker roster to the lab directory (issue: directory).

    ./run lab                      # the lab up, the directory provisioned
    .venv/bin/python bench/directory.py [--rows 5000]

Runs `playbooks/roster_sync.yml` (what `toolkit roster sync` runs) against the lab's
directory host with a copy of the lab inventory whose roster holds the lab's rows plus
ROWS generated ones, and prints the wall time of the playbook and of the sync task for:
the first run (every entry created), a run with nothing to change, one revocation, and
the return to the lab's own roster (the generated entries deleted). The generated
passwords go to a temporary folder; the lab's service-account passwords are reused.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from toolkit.paths import inventory_dir
from toolkit.provision import run_playbook
from toolkit.roster import load_reference
from toolkit.roster.revoke import revoke

PLAYBOOK = "playbooks/roster_sync.yml"
#: The role's tasks file holding the sync task (its name is read there, never copied here).
SYNC_TASKS = Path(__file__).resolve().parent.parent / "roles" / "directory" / "tasks" / "sync.yml"
SYNC_MODULE = "telework_directory_sync"
FIRST = ["Amina", "Youssef", "Khadija", "Omar", "Salma", "Hicham", "Nadia", "Karim"]
FAMILY = ["Benali", "El Idrissi", "Ouazzani", "Tazi", "Amrani", "Berrada", "Alaoui", "Fassi"]
FIRST_AR = ["أمينة", "يوسف", "خديجة", "عمر", "سلمى", "هشام", "نادية", "كريم"]
FAMILY_AR = ["بنعلي", "الإدريسي", "الوزاني", "التازي", "العمراني", "برادة", "العلوي", "الفاسي"]


@dataclass
class Timing:
    label: str
    wall: float
    sync_task: float
    changed: int


def make_inventory(lab: Path, folder: Path, rows: int) -> Path:
    """A copy of the lab inventory with ROWS generated teleworkers added to its roster."""
    inv = folder / "inventory"
    shutil.copytree(lab, inv, ignore=shutil.ignore_patterns(".lab", ".pki", ".credentials"))
    for name in (".lab", ".pki"):
        (inv / name).symlink_to(lab / name)
    services = lab / ".credentials" / "directory" / "services"
    (inv / ".credentials" / "directory").mkdir(parents=True, mode=0o700)
    (inv / ".credentials" / "directory" / "services").symlink_to(services)
    reference_file = inv / "group_vars" / "all" / "telework.yml"
    reference = yaml.safe_load(reference_file.read_text(encoding="utf-8"))
    for unit in reference["telework_units"].values():
        unit["staff"] += rows
    reference_file.write_text(yaml.safe_dump(reference, allow_unicode=True), encoding="utf-8")
    domain = reference["telework_mail_domains"][0]
    units = sorted(reference["telework_units"])
    groups = sorted(set(reference["telework_vpn_groups"]) - {"staff", "admins"})
    rng = random.Random(2020)
    lab_roster = (lab / "roster.csv").read_text(encoding="utf-8-sig").rstrip("\r\n")
    lines = [lab_roster]
    for i in range(rows):
        first, family = rng.randrange(len(FIRST)), rng.randrange(len(FAMILY))
        lines.append(
            f"bn{i:05d};{FIRST[first]} {FAMILY[family]} {i};"
            f"{FIRST_AR[first]} {FAMILY_AR[family]} {i};"
            f"bench{i:05d}@{domain};{rng.choice(units)};partial;mon;2026-09-01;Chef;"
            f"laptop:bn-{i:05d};staff {rng.choice(groups)};active;Dossiers"
        )
    (inv / "roster.generated.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return inv


def back_to_lab_roster(lab: Path, inv: Path, label: str, task: str) -> Timing:
    """Apply the lab's own roster, deleting every entry it does not hold."""
    shutil.copy(lab / "roster.csv", inv / "roster.csv")
    extra = inv / "group_vars" / "directory_servers" / "bench.yml"
    extra.write_text("directory_absent_entries: delete\n", encoding="utf-8")
    try:
        return timed(label, inv, task)
    finally:
        extra.unlink()


def sync_task_name(tasks_file: Path = SYNC_TASKS) -> str:
    """The name of the task that applies the roster: the one running the sync module
    without ``report_missing`` (the other one only lists the missing entries)."""
    tasks = yaml.safe_load(tasks_file.read_text(encoding="utf-8")) or []
    for task in tasks:
        args = task.get(SYNC_MODULE)
        if isinstance(args, dict) and not args.get("report_missing"):
            return str(task["name"])
    raise SystemExit(f"{tasks_file}: no task applies the roster with {SYNC_MODULE}")


def task_window(events: list[dict[str, Any]], task: str) -> tuple[float, float]:
    """When ``task`` started and when its last result came, from the playbook's events."""
    began = [e["time"] for e in events if e["event"] == "task" and e["name"].endswith(task)]
    if not began:
        raise SystemExit(f"the playbook ran no task named {task!r}")
    ended = [
        e["time"]
        for e in events
        if e["event"] == "result" and e["time"] >= began[0] and e["task"].endswith(task)
    ]
    return began[0], max(ended, default=began[0])


def timed(label: str, inventory: Path, task: str) -> Timing:
    events: list[dict[str, Any]] = []
    start = time.perf_counter()
    result = run_playbook(inventory, PLAYBOOK, on_event=events.append, timeout=3600)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{label}: the sync failed (log: {result.log_file})")
    began, ended = task_window(events, task)
    changed = sum(h.changed for h in result.hosts.values())
    return Timing(label, wall, ended - began, changed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--env", default="lab")
    args = parser.parse_args()
    lab = inventory_dir(args.env)
    if not (lab / ".credentials" / "directory" / "services").is_dir():
        sys.exit(f"{lab}: the directory has not been provisioned yet: run ./run lab first")
    os.environ.setdefault("ANSIBLE_FORCE_COLOR", "0")
    task = sync_task_name()
    timings = []
    with tempfile.TemporaryDirectory(prefix="bench-directory-") as tmp:
        inv = make_inventory(lab, Path(tmp), args.rows)
        back_to_lab_roster(lab, inv, "reset: the lab roster only (not counted)", task)
        shutil.copy(inv / "roster.generated.csv", inv / "roster.csv")
        timings.append(timed(f"first run ({args.rows} entries created)", inv, task))
        timings.append(timed("no-change run", inv, task))
        revoke(inv / "roster.csv", load_reference(inv), "bn00042", "bench: one revocation")
        timings.append(timed("one teleworker revoked", inv, task))
        created = len(list((inv / ".credentials" / "directory").glob("*.password")))
        timings.append(
            back_to_lab_roster(
                lab, inv, f"back to the lab roster ({args.rows} entries deleted)", task
            )
        )
    print(f"roster rows:        {args.rows} generated + the lab's own")
    print(f"password files:     {created} written (0600), then removed with the temp folder")
    for t in timings:
        print(
            f"{t.label:<45} playbook {t.wall:7.1f} s   sync task {t.sync_task:7.1f} s   "
            f"changed {t.changed}"
        )
    if timings[1].changed:
        sys.exit("the no-change run changed something")


if __name__ == "__main__":
    main()
