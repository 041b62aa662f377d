"""The JSON capacity plan of the lab roster (week of 2026-11-23, the default profile, the
lab's declared capacity) against its golden file, tests/capacity/golden/lab-plan.json.
After a deliberate change of the model or the profile:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/capacity/test_golden.py
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

from toolkit.capacity.concurrency import week_concurrency
from toolkit.capacity.inputs import Ceilings, load_declared, load_profile
from toolkit.capacity.plan import make_plan
from toolkit.roster import load_environment_roster

GOLDEN = Path(__file__).parent / "golden" / "lab-plan.json"
WEEK = date(2026, 11, 23)


def test_the_lab_plan_matches_the_golden_file(inventory: Path) -> None:
    roster = load_environment_roster(inventory, today=WEEK)
    declared = load_declared(inventory)
    plan = make_plan(
        inventory="inventories/lab",
        roster="inventories/lab/roster.csv",
        week_of=WEEK,
        concurrency=week_concurrency(roster, WEEK),
        figures=load_profile(declared.capacity_profile, {}),
        declared=declared,
        ceilings=Ceilings(),
    )
    plan = dataclasses.replace(plan, generated_at=datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    text = json.dumps(plan.as_json(), indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8"), "differs (UPDATE_GOLDEN=1 to accept)"
