"""Reading a WireGuard configuration the way its consumers do, to judge what a writer put
in it: wg-quick (bash ``read -r`` lines split on LF only; ``#`` starts a comment anywhere;
a line whose key starts with ``[`` opens a section) and a Unicode line splitter such as
Python's ``str.splitlines`` (which also breaks on VT, FF, FS..RS, NEL, U+2028, U+2029)."""

from __future__ import annotations


def wg_quick_entries(text: str) -> list[tuple[str, str]]:
    """``(section, key)`` for every non-comment line, as wg-quick's parser sees it."""
    entries: list[tuple[str, str]] = []
    section = ""
    for line in text.split("\n"):
        stripped = line.split("#", 1)[0]
        key = stripped.split("=", 1)[0].strip()
        if key.startswith("["):
            section = key
            entries.append((section, ""))
        elif key:
            entries.append((section, key))
    return entries


def sections(text: str) -> list[str]:
    """The sections wg-quick sees, in order."""
    return [section for section, key in wg_quick_entries(text) if not key]


def keys(text: str) -> list[str]:
    """Every key wg-quick sees, lower-cased (wg-quick matches PostUp, postup, ...)."""
    return [key.lower() for _, key in wg_quick_entries(text) if key]


def read_as_more_lines_elsewhere(text: str) -> bool:
    """True when a Unicode-aware reader would split the text into more lines than LF does."""
    return len(text.splitlines()) != len(text.rstrip("\n").split("\n"))
