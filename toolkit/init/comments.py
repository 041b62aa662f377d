"""What each role variable means, read from the roles' own ``defaults/main.yml`` (the
comment lines above each variable): one source of truth, no second copy of the docs."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from toolkit.paths import find_project_root

_VARIABLE = re.compile(r"^([a-z_][a-z0-9_]*):")


def roles_dir() -> Path | None:
    """The checkout's roles/ (None outside a checkout)."""
    root = find_project_root()
    return root / "roles" if root is not None and (root / "roles").is_dir() else None


def parse_defaults(text: str) -> dict[str, tuple[str, ...]]:
    """Variable -> its comment lines (without ``#``) in a defaults file. A variable right
    under another without a comment of its own shares that one (``x_cert`` / ``x_key``)."""
    found: dict[str, tuple[str, ...]] = {}
    pending: list[str] = []
    last: tuple[str, ...] = ()
    for line in text.splitlines():
        if line.startswith("#"):
            pending.append(line.lstrip("#").strip())
            continue
        match = _VARIABLE.match(line)
        if match:
            comment = tuple(c for c in pending if not c.startswith("----")) or last
            found[match.group(1)] = comment
            last, pending = comment, []
        elif not line.strip():
            pending, last = [], ()
    return found


@cache
def role_comments(role: str) -> dict[str, tuple[str, ...]]:
    """Comments of ``role``'s variables (empty outside a checkout)."""
    base = roles_dir()
    path = base / role / "defaults" / "main.yml" if base is not None else None
    if path is None or not path.is_file():
        return {}
    return parse_defaults(path.read_text(encoding="utf-8"))


def defaults_text(role: str) -> str:
    """``role``'s defaults file, every line commented out: the settings an environment may
    add, with their defaults and meaning (empty outside a checkout)."""
    base = roles_dir()
    path = base / role / "defaults" / "main.yml" if base is not None else None
    if path is None or not path.is_file():
        return ""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() != "---"]
    body = "\n".join(
        ("#" if ln.startswith("#") else "# ") + ln if ln.strip() else "#" for ln in lines
    )
    return (
        f"\n# ---- Every setting of role {role}, with its default "
        f"(roles/{role}/defaults/main.yml);\n"
        "# ---- uncomment one here to change it for this environment.\n"
        "# yamllint disable rule:line-length\n" + body + "\n"
    )
