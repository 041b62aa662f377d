"""roles/README.md lists exactly the roles of roles/: none missing, none that does not
exist."""

from __future__ import annotations

import re

from tests.conftest import REPO

ROLES = REPO / "roles"


def test_the_roles_readme_lists_exactly_the_roles_in_roles() -> None:
    listed = re.findall(
        r"^\| \[`([a-z_]+)`\]\(\1/README\.md\) \|", (ROLES / "README.md").read_text(), re.M
    )
    present = sorted(p.name for p in ROLES.iterdir() if (p / "tasks").is_dir())
    assert sorted(listed) == present
    assert len(listed) == len(set(listed))


def test_every_role_listed_has_its_readme() -> None:
    for role in (p for p in ROLES.iterdir() if (p / "tasks").is_dir()):
        assert (role / "README.md").is_file(), role.name
