"""The list of hacking tools (audits/hacking_tools.yml): names of tools made to attack
networks or crack passwords. BYOD-05 (personal computers) and LAP-12 (managed laptops)
both judge against it, through :func:`deny_list`; each control's ``deny`` parameter adds
names for a profile or a host, none removes one."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from toolkit.audit.model import ControlError
from toolkit.errors import InvalidInputError
from toolkit.paths import project_root
from toolkit.yamlfile import load_model

__all__ = ["NAME", "HackingTools", "deny_list", "list_path", "load"]

#: A tool's name as a package manager or a program path spells it.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._-]{0,63}$")


class HackingTools(BaseModel):
    """audits/hacking_tools.yml: ``tools``, the names looked for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tools: list[str] = Field(min_length=1)

    @field_validator("tools")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        bad = [n for n in value if not NAME.match(n)]
        if bad:
            raise ValueError(f"not package or program names: {', '.join(bad)}")
        return value


def list_path() -> Path:
    """The checkout's list (beside the control catalogue)."""
    return project_root() / "audits" / "hacking_tools.yml"


@lru_cache(maxsize=4)
def load(path: Path) -> HackingTools:
    """The list of ``path``, read once a process; InvalidInputError (FILE:LINE: field)
    when it is malformed."""
    return load_model(path, HackingTools)


def deny_list(extra: Iterable[object] = (), path: Path | None = None) -> list[str]:
    """The shared list, then the ``extra`` names a control's ``deny`` parameter adds (each
    name once, in that order). A malformed list or an extra name that is not a name is
    the asking control's error."""
    try:
        shared = load(path or list_path()).tools
    except InvalidInputError as exc:
        raise ControlError(f"list of hacking tools: {exc}") from exc
    names: list[str] = []
    for name in [*shared, *(str(n) for n in extra)]:
        if not NAME.match(name):
            raise ControlError(f"deny: {name[:64]!r} is not a package or program name")
        if name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return names
