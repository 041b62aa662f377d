"""The shared lab's fixtures (tests/integration/lab_environment.py): one bring-up of the
machines and one provisioning of their environment for every lab test module of the run.

Session-scoped: the lab tests all run in one lane (tests/lanes.py), so one worker holds
them and brings the lab up once, whichever of the modules runs first."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.lab_environment import (
    Environment,
    machines,
    make_environment,
    provision,
)
from tests.integration.lab_helpers import toolkit


@pytest.fixture(scope="session")
def lab_inventory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The machines' lab inventory (a copy of inventories/lab), taken down at the end."""
    copy = machines(tmp_path_factory.mktemp("machines"))
    try:
        yield copy
    finally:
        toolkit("lab", "down", "-i", str(copy))


@pytest.fixture(scope="session")
def lab_up(lab_inventory: Path) -> Path:
    """The machines, up (nothing changes when test_lab.py brought them up already)."""
    up = toolkit("lab", "up", "-i", str(lab_inventory))
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    return lab_inventory


@pytest.fixture(scope="session")
def environment(lab_up: Path, tmp_path_factory: pytest.TempPathFactory) -> Environment:
    """`toolkit init`'s environment for the machines, the lab's roster imported."""
    return make_environment(lab_up, tmp_path_factory.mktemp("environment"))


@pytest.fixture(scope="session")
def provisioned_audit(environment: Environment, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """site.yml once on every host, the drills and the plan, then one audit: the folder
    of its reports."""
    out = tmp_path_factory.mktemp("audit")
    provision(environment, out)
    return out


@pytest.fixture(scope="session")
def provisioned(provisioned_audit: Path) -> dict[str, str]:
    """The audit's verdict of each host of the provisioned environment."""
    report = json.loads((provisioned_audit / "report.json").read_text())
    return {h["host"]: h["verdict"] for h in report["hosts"]}
