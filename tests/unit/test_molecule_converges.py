"""A scenario's converge that copies a project playbook's plays (to run them with Mitogen's
strategy, which an imported playbook cannot be given) applies the same roles, to the same
groups, in the same order as the playbooks it names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

NAMED = re.compile(r"^# The plays of (playbooks/\S+\.yml(?: and playbooks/\S+\.yml)*)", re.M)
COPIES = sorted(
    path
    for path in REPO.glob("roles/*/molecule/*/converge.yml")
    if NAMED.search(path.read_text(encoding="utf-8"))
)

Step = tuple[str, str, str | None]


def _steps(plays: list[dict[str, Any]]) -> list[Step]:
    """Each role a play applies, whether under roles: or by include_role, with its group."""
    steps: list[Step] = []
    for play in plays:
        for role in play.get("roles", []):
            name = role["role"] if isinstance(role, dict) else role
            steps.append((play["hosts"], name, None))
        for task in play.get("tasks", []):
            include = task.get("ansible.builtin.include_role")
            if include is not None:
                steps.append((play["hosts"], include["name"], include.get("tasks_from")))
    return steps


def test_some_converges_copy_playbooks() -> None:
    assert {p.parts[-4] for p in COPIES} >= {"laptop", "vpn_gateway"}


@pytest.mark.parametrize("converge", COPIES, ids=lambda p: p.parts[-4])
def test_the_copied_plays_apply_the_playbooks_roles_in_their_order(converge: Path) -> None:
    text = converge.read_text(encoding="utf-8")
    named = NAMED.search(text)
    assert named is not None
    expected: list[Step] = []
    for playbook in named.group(1).split(" and "):
        expected += _steps(yaml.safe_load((REPO / playbook).read_text(encoding="utf-8")))
    plays = yaml.safe_load(text)
    assert _steps(plays) == expected
    # and each copied play really runs with the scenario's strategy
    assert all("TOOLKIT_MOLECULE_STRATEGY" in str(play.get("strategy", "")) for play in plays)
