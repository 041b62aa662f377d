"""A YAML file of variables, each under a comment saying what it is (a role variable's
comment is the role's own, read from its defaults/main.yml)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

import yaml

from toolkit.init.comments import defaults_text, role_comments

#: The secret every environment has in its vault file.
BECOME_SECRET = "vault_become_password"  # noqa: S105 (a variable name)
#: Platforms that bind to the identity contract with an account of their own.
IDENTITY_SERVICES = ("mail", "collaboration", "videoconference", "vpn")
#: Width of a comment line's text: "# " and it stay within the project's yamllint (120).
COMMENT_WIDTH = 118


class _Dumper(yaml.SafeDumper):
    """Lists indented under their key, as yamllint (the project's .yamllint) wants them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """A long one-line string with spaces is written folded (``>-``): the same value, in
    lines that stay under the line length."""
    style = ">" if len(value) > 80 and " " in value and "\n" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def dump_yaml(value: Any) -> str:
    """Block-style YAML that passes the project's yamllint (long strings folded)."""
    return yaml.dump(
        value,
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=100,
    )


def _dump(name: str, value: Any) -> str:
    return dump_yaml({name: value})


def _wrap(lines: tuple[str, ...] | list[str]) -> list[str]:
    """Comment lines longer than :data:`COMMENT_WIDTH` wrapped at spaces (one naming a long
    path of the machine would otherwise fail the project's yamllint); the others as they are."""
    wrapped: list[str] = []
    for line in lines:
        if len(line) <= COMMENT_WIDTH:
            wrapped.append(line)
            continue
        parts = textwrap.wrap(line, COMMENT_WIDTH, break_long_words=False, break_on_hyphens=False)
        wrapped.extend(parts or [line])
    return wrapped


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
        self.parts.append("".join(f"# {c}\n" for c in _wrap(lines)) + _dump(name, value))
        return self

    def text(self, *, with_defaults: bool = False) -> str:
        head = "---\n" + "".join(f"# {h}\n" for h in self.header)
        tail = defaults_text(self.role) if with_defaults and self.role else ""
        return head + "\n" + "\n".join(self.parts) + tail
