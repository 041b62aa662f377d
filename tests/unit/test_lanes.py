"""The suite's two lanes (tests/lanes.py) on a small suite of its own run by pytest-xdist:
the lab tests on one worker with one bring-up, the Molecule scenarios one at a time on the
other, both at the same time, and the table of times printed by the controller."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

INI = """\
[pytest]
markers =
    lab: lab
    molecule: molecule
"""
CONFTEST = """\
from tests.lanes import GroupIds, Lanes, check_distribution

def pytest_configure(config):
    check_distribution(config)
    config.pluginmanager.register(Lanes(config), "telework-lanes")
    config.pluginmanager.register(GroupIds(), "telework-lanes-group-ids")
"""
#: Each slow test writes where and when it ran; the first lab test and the first scenario
#: each wait (bounded) for the other to start: they pass only if they run at the same time.
SUITE = """\
import os, time
from pathlib import Path
import pytest

LOG = Path(os.environ["LANES_LOG"])

def note(kind, name, event):
    with (LOG / "events").open("a") as out:
        out.write(f"{kind} {name} {os.environ.get('PYTEST_XDIST_WORKER', 'main')} "
                  f"{event} {time.monotonic()}\\n")

def wait_for(kind):
    limit = time.monotonic() + 30
    while time.monotonic() < limit:
        if (LOG / "events").exists() and f"{kind} " in (LOG / "events").read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"no {kind} test started alongside")

@pytest.fixture(scope="module")
def lab():
    with (LOG / "bring-ups").open("a") as out:
        out.write("up\\n")
    yield

@pytest.mark.lab
@pytest.mark.parametrize("n", range(3))
def test_lab(lab, n):
    note("lab", n, "start")
    if n == 0 and os.environ.get("LANES_TOGETHER"):
        wait_for("molecule")
    time.sleep(0.2)
    note("lab", n, "end")

@pytest.mark.molecule
@pytest.mark.parametrize("n", range(3))
def test_scenario(n):
    note("molecule", n, "start")
    if n == 0 and os.environ.get("LANES_TOGETHER"):
        wait_for("lab")
    time.sleep(0.2)
    note("molecule", n, "end")

@pytest.mark.parametrize("n", ["lab", "molecule", 2, 3, 4, 5])
def test_unit(n):
    assert n
"""


def _run(tmp_path: Path, *args: str, together: bool = True) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text(INI)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_suite.py").write_text(SUITE)
    log = tmp_path / "log"
    log.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "LANES_LOG": str(log)}
    env.pop("PYTEST_XDIST_WORKER", None)
    if together:
        env["LANES_TOGETHER"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _events(tmp_path: Path) -> list[tuple[str, str, str, str, float]]:
    lines = (tmp_path / "log" / "events").read_text().splitlines()
    return [(k, n, w, e, float(t)) for k, n, w, e, t in (line.split() for line in lines)]


@pytest.fixture(scope="module")
def two_lanes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The small suite run once in two lanes: its folder and pytest's output."""
    folder = tmp_path_factory.mktemp("lanes")
    done = _run(folder, "-n", "2", "--dist", "loadgroup")
    assert done.returncode == 0, done.stdout + done.stderr
    return folder, done.stdout


def test_lab_tests_and_scenarios_run_at_once_each_group_whole_on_its_own_worker(
    two_lanes: tuple[Path, str],
) -> None:
    tmp_path = two_lanes[0]
    events = _events(tmp_path)
    workers = {kind: {w for k, _, w, _, _ in events if k == kind} for kind in ("lab", "molecule")}
    assert len(workers["lab"]) == 1 and len(workers["molecule"]) == 1, workers
    assert workers["lab"] != workers["molecule"]
    assert (tmp_path / "log" / "bring-ups").read_text() == "up\n"
    # one scenario at a time: each ends before the next starts
    scenario = [(e, t) for k, _, _, e, t in events if k == "molecule"]
    assert [e for e, _ in scenario] == ["start", "end"] * 3
    assert [t for _, t in scenario] == sorted(t for _, t in scenario)


def test_the_controller_prints_each_slow_test_with_its_lane_and_each_lanes_wall_time(
    two_lanes: tuple[Path, str],
) -> None:
    table = two_lanes[1].split("time of each Molecule scenario and lab test", 1)[1]
    for n in range(3):
        assert re.search(rf"test_suite\.py::test_lab\[{n}\] +gw[01] +passed +0 min 0\d s", table)
        assert re.search(rf"test_scenario\[{n}\] +gw[01] +passed", table)
    assert "@lab" not in table and "@molecule" not in table
    # a parameter named like a marker makes no lab test
    assert "test_unit" not in table.split("time of each lane")[0]
    lanes = table.split("time of each lane", 1)[1]
    assert re.search(r"lane gw0: +0 min \d\d s from its first test to its last", lanes)
    assert re.search(r"lane gw1: +0 min \d\d s from its first test to its last", lanes)
    assert re.search(r"whole run: +0 min \d\d s \(CI's budget: 60 min\)", lanes)


def test_without_workers_the_same_suite_runs_in_one_lane_and_prints_its_table(
    tmp_path: Path,
) -> None:
    done = _run(tmp_path, "-m", "lab or molecule", together=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "lanes (-n 2 --dist loadgroup): lab group: 3 tests on one worker; " in done.stdout
    assert "molecule group: 3 tests on one worker; 0 others on either" in done.stdout
    assert re.search(r"test_suite\.py::test_scenario\[2\] +main +passed", done.stdout)
    assert re.search(r"lane main: +0 min \d\d s", done.stdout)


def test_a_distribution_that_would_split_the_lab_between_workers_is_refused(
    tmp_path: Path,
) -> None:
    done = _run(tmp_path, "-n", "2", together=False)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "--dist load splits the lab tests and Molecule scenarios" in done.stderr


def test_a_selection_that_selects_nothing_still_exits_5_with_workers(tmp_path: Path) -> None:
    done = _run(tmp_path, "-n", "2", "--dist", "loadgroup", "-m", "nothing_here")
    assert done.returncode == 5, done.stdout + done.stderr
