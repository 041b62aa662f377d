"""A YAML file of variables, each under a comment saying what it is (a role variable's
comment is the role's own, read from its defaults/main.yml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from toolkit.init.comments import defaults_text, role_comments

#: The secret every environment has in its vault file.
BECOME_SECRET = "vault_become_password"  # noqa: S105 (a variable name)
#: Platforms that bind to the identity contract with an account of their own.
IDENTITY_SERVICES = ("mail", "collaboration", "videoconference", "vpn")


def _dump(name: str, value: Any) -> str:
    return yaml.safe_dump(
        {name: value}, allow_unicode=True, sort_keys=False, default_flow_style=False, width=4096
    )


@dataclass
class VarsFile:
    """A YAML file of variables, each under its comment."""

    header: tuple[str, ...]
    role: str | None = None
    parts: list[str] = field(default_factory=list)

    def set(self, name: str, value: Any, *comment: str) -> VarsFile:
        lines = comment or (role_comments(self.role).get(name, ()) if self.role else ())
        if not lines and self.role:  # outside a checkout: the roles' files are not at hand
            lines = (f"Setting of role {self.role}: see its defaults/main.yml and README.",)
        if not lines:
            raise ValueError(f"{name}: no comment (say what it is)")
        self.parts.append("".join(f"# {c}\n" for c in lines) + _dump(name, value))
        return self

    def text(self, *, with_defaults: bool = False) -> str:
        head = "---\n" + "".join(f"# {h}\n" for h in self.header)
        tail = defaults_text(self.role) if with_defaults and self.role else ""
        return head + "\n" + "\n".join(self.parts) + tail
