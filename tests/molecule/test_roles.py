"""Every role's Molecule scenarios: converge on real systemd Debian containers, a second
run with nothing changed, and a verify step that uses the service as a person would.

One scenario at a time (2 cores). The log of each run is kept in .cache/molecule/."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from toolkit.adapters.ansible import MITOGEN_STRATEGY, mitogen_strategy_dir
from toolkit.adapters.podman import podman_env
from toolkit.lab.hostlimits import ensure_inotify_instances
from toolkit.lab.image import apt_cache, build_image
from toolkit.paths import cache_dir

#: Scenarios written but not yet seen passing a whole `molecule test` (create, converge,
#: idempotence, verify, destroy) on a fresh host: the suite skips them, saying why, unless
#: TOOLKIT_MOLECULE_PENDING=1 asks for them. A scenario leaves this list the day its whole
#: run passes; the role's issue stays open until then.
PENDING: dict[str, str] = {}


def _scenario_id(path: Path) -> str:
    return f"{path.parts[-4]}-{path.parts[-2]}"


def _param(path: Path) -> object:
    reason = PENDING.get(_scenario_id(path))
    if reason is None or os.environ.get("TOOLKIT_MOLECULE_PENDING") == "1":
        return pytest.param(path, id=_scenario_id(path))
    return pytest.param(path, id=_scenario_id(path), marks=pytest.mark.skip(reason=reason))


SCENARIOS = sorted(REPO.glob("roles/*/molecule/*/molecule.yml"))


@pytest.mark.molecule
@pytest.mark.parametrize("scenario", [_param(path) for path in SCENARIOS])
def test_role_scenario_converges_idempotently_and_verifies(scenario: Path) -> None:
    role_dir, name = scenario.parents[2], scenario.parent.name
    releases = {"bookworm"} | (
        {"trixie"} if "telework-debian:13" in scenario.read_text() else set()
    )
    ensure_inotify_instances()
    for release in sorted(releases):
        build_image(release)
        apt_cache(release)
    env = podman_env()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["TOOLKIT_APT_CACHE"] = str(cache_dir() / "apt")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env.pop("ANSIBLE_CONFIG", None)
    # Converge, check and idempotence run their plays with Mitogen's strategy where it is
    # installed (the plays read TOOLKIT_MOLECULE_STRATEGY); Molecule's create and destroy keep
    # Ansible's (Mitogen's local connection hangs on their asynchronous podman jobs).
    plugins = mitogen_strategy_dir()
    if plugins is not None and "TOOLKIT_MOLECULE_STRATEGY" not in env:
        env["ANSIBLE_STRATEGY_PLUGINS"] = str(plugins)
        env["TOOLKIT_MOLECULE_STRATEGY"] = MITOGEN_STRATEGY
    logs = REPO / ".cache" / "molecule"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{role_dir.name}-{name}.log"
    # What a verify leaves for a person to look at (screenshots): kept beside the log, out
    # of the scenario's inventory folder (Ansible would read every file there as inventory).
    artifacts = logs / f"{role_dir.name}-{name}"
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir()
    env["TOOLKIT_MOLECULE_ARTIFACTS"] = str(artifacts)
    with log.open("w") as out:
        proc = subprocess.run(
            ["molecule", "test", "-s", name],
            cwd=role_dir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=2400,
            check=False,
        )
    if proc.returncode != 0:
        text = log.read_text(errors="replace")
        pytest.fail(
            f"molecule test of {role_dir.name}/{name} failed ({log}):\n"
            f"{failures(text)}\n[...]\n" + "\n".join(text.splitlines()[-40:])
        )


#: Lines of an Ansible log that say a task failed (the destroy step's tail hides them).
_FAILED = re.compile(r"^(fatal: |failed: |ERROR! |\S+ \| FAILED)|FAILED! =>")


def failures(log: str, before: int = 12, limit: int = 6, width: int = 3000) -> str:
    """Each failed task of a Molecule log with the lines before it (the task's name and
    time), at most ``limit`` of them, each line cut at ``width`` characters."""
    lines = log.splitlines()
    found = [i for i, line in enumerate(lines) if _FAILED.search(line)]
    blocks = []
    for i in found[:limit]:
        blocks.append("\n".join(line[:width] for line in lines[max(0, i - before) : i + 1]))
    return "\n---\n".join(blocks) if blocks else "(no failed task in the log)"


def test_a_failed_molecule_run_shows_its_failed_task_not_only_the_destroy_step() -> None:
    log = "\n".join(
        ["TASK [Assert that B decodes A's video] ****", "Thursday 26 November 2026"]
        + ['fatal: [localhost]: FAILED! => {"assertion": "b.subs[0].frames > 0"}']
        + ["PLAY [Destroy] ****"] * 80
    )
    shown = failures(log)
    assert "TASK [Assert that B decodes A's video]" in shown
    assert "b.subs[0].frames > 0" in shown
    assert failures("PLAY [Destroy]\nok: [localhost]") == "(no failed task in the log)"
