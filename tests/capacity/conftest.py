"""A generated roster (the roster bench's generator) and an inventory to plan against."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO
from tests.loading import load_module

LAB = REPO / "inventories" / "lab"


def bench_roster() -> ModuleType:
    path = REPO / "bench" / "roster.py"
    return load_module(path, "bench_roster_for_capacity")


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    """A copy of the lab inventory's reference data, roster and declared capacity."""
    folder = tmp_path / "inventory"
    (folder / "group_vars" / "all").mkdir(parents=True)
    for name in ("telework.yml", "capacity.yml"):
        shutil.copy(LAB / "group_vars" / "all" / name, folder / "group_vars" / "all" / name)
    shutil.copy(LAB / "roster.csv", folder / "roster.csv")
    return folder


@pytest.fixture
def big_roster(tmp_path: Path) -> tuple[Path, Path]:
    """5,000 generated rows and their reference file."""
    reference, roster = bench_roster().generate(tmp_path, 5000)
    return reference, roster
