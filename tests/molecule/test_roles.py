"""Every role's Molecule scenarios: converge on real systemd Debian containers, a second
run with nothing changed, and a verify step that uses the service as a person would.

One scenario at a time (2 cores). The log of each run is kept in .cache/molecule/."""

from __future__ import annotations

import os
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
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:])
    assert proc.returncode == 0, f"molecule test of {role_dir.name}/{name} failed ({log}):\n{tail}"
