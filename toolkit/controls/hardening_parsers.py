"""Readings of what a Linux host answers for the hardening controls (LNX-04's ``ssh -Q
kex``, LNX-12 banners, LNX-13 login.defs and umasks, LNX-14 core dump limits).

As in toolkit.controls.linux_parsers: a host's answer is not trusted, any text gives a
value, ``None`` (for one value that is not what the tool writes) or nothing (for a line
that is not one), never an exception; numbers are ASCII digits only. Every reading looks
at a bounded part of its text: a line of many megabytes costs what its first characters
cost."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Characters of a text that are looked at (a banner, a configuration file).
MAX_TEXT = 64 * 1024
#: Lines of an answer that are looked at.
MAX_LINES = 4096
_LINE = 512

_ALGORITHM = re.compile(r"[A-Za-z0-9][A-Za-z0-9@._+-]{0,63}")


def _lines(text: str) -> list[str]:
    return [line[:_LINE] for line in text[:MAX_TEXT].splitlines()[:MAX_LINES]]


# --- ssh -Q kex ---------------------------------------------------------------------------


def algorithm_names(text: str) -> list[str]:
    """``ssh -Q kex``: one algorithm name a line; a line that is not a name is skipped."""
    found = []
    for line in _lines(text):
        name = line.strip()
        if _ALGORITHM.fullmatch(name):
            found.append(name)
    return found


# --- banners --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scripts:
    """Letters of a text by script: Latin (the French text) and Arabic."""

    latin: int
    arabic: int


def letters(text: str) -> Scripts:
    """How many Latin and Arabic letters ``text`` holds (its first MAX_TEXT characters)."""
    latin = arabic = 0
    for char in text[:MAX_TEXT]:
        if not char.isalpha():
            continue
        name = unicodedata.name(char, "")
        if name.startswith("LATIN "):
            latin += 1
        elif name.startswith("ARABIC "):
            arabic += 1
    return Scripts(latin, arabic)


@dataclass(frozen=True)
class FileStat:
    """``stat -c '%a %u %g'``: permission bits, owner and group IDs."""

    mode: int
    uid: int
    gid: int


_STAT = re.compile(r"([0-7]{1,4}) ([0-9]{1,10}) ([0-9]{1,10})")


def file_stat(text: str) -> FileStat | None:
    """The answer of ``stat -c '%a %u %g' FILE``, or None when it is not one."""
    m = _STAT.fullmatch(text.strip()[:_LINE])
    if not m:
        return None
    return FileStat(int(m.group(1), 8), int(m.group(2)), int(m.group(3)))


# --- login.defs and umasks --------------------------------------------------------------------

_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


def login_defs(text: str) -> dict[str, str]:
    """/etc/login.defs: ``KEY VALUE`` lines (``#`` comments), the last of a key winning as
    for shadow's tools; a line whose first word is not a key is skipped."""
    values: dict[str, str] = {}
    for line in _lines(text):
        words = line.split(None, 1)
        if not words or not _KEY.fullmatch(words[0]):
            continue
        values[words[0]] = words[1].strip() if len(words) > 1 else ""
    return values


_OCTAL = re.compile(r"0?[0-7]{3}")
_SYMBOLIC = re.compile(r"u=([rwx]*),g=([rwx]*),o=([rwx]*)")


def umask_value(text: str) -> int | None:
    """An umask as the shell takes it, octal (``027``, ``0027``) or symbolic with ``=``
    (``u=rwx,g=rx,o=``, the permissions kept), as the mask of bits removed; None for
    anything else."""
    value = text.strip()[:_LINE]
    if _OCTAL.fullmatch(value):
        return int(value, 8)
    m = _SYMBOLIC.fullmatch(value)
    if not m:
        return None
    kept = 0
    for shift, perms in zip((6, 3, 0), m.groups(), strict=True):
        kept |= sum({"r": 4, "w": 2, "x": 1}[p] for p in set(perms)) << shift
    return 0o777 & ~kept


def at_least_as_strict(mask: int, required: int) -> bool:
    """Whether ``mask`` removes every permission ``required`` removes."""
    return mask & required == required


_PROFILE_UMASK = re.compile(r"(/[^:\x00]{0,255}):\s*umask\s+(\S+)")


def profile_umasks(text: str) -> list[tuple[str, str]]:
    """``grep -H umask`` of the shell profiles: (file, the umask's word) of each
    ``umask VALUE`` line (not ``umask -S`` or a commented line)."""
    found = []
    for line in _lines(text):
        m = _PROFILE_UMASK.match(line)
        if m and not m.group(2).startswith("-"):
            found.append((m.group(1), m.group(2)))
    return found


def pam_umask(stack: str) -> tuple[bool, str | None]:
    """Whether pam_umask is in a PAM stack, and the umask its ``umask=`` argument gives."""
    present, given = False, None
    for line in _lines(stack):
        words = line.split("#", 1)[0].split()
        for i, word in enumerate(words):
            if word.endswith("pam_umask.so"):
                present = True
                for arg in words[i + 1 :]:
                    if arg.startswith("umask="):
                        given = arg.removeprefix("umask=")
    return present, given


# --- core dumps -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoreLimit:
    """A ``core`` line of limits.conf: ``domain type core value``."""

    domain: str
    kind: str  # soft, hard or - (both)
    value: str


def core_limits(text: str) -> list[CoreLimit]:
    """The ``core`` lines of limits.conf and limits.d (``#`` comments); other lines and
    lines of another shape are skipped."""
    found = []
    for line in _lines(text):
        words = line.split("#", 1)[0].split()
        if len(words) == 4 and words[2] == "core" and words[1] in ("soft", "hard", "-"):
            found.append(CoreLimit(words[0], words[1], words[3]))
    return found


def effective_hard_core(limits: list[CoreLimit]) -> dict[str, CoreLimit]:
    """The hard core limit each domain ends with, as pam_limits reads the files: in the
    order given (limits.conf, then limits.d in name order), a later line for the same
    domain replacing an earlier one; ``-`` sets soft and hard at once. Debian 13 ships
    limits.d/10-coredump-debian.conf with ``* hard core infinity``, which a later file's
    ``* hard core 0`` replaces."""
    final: dict[str, CoreLimit] = {}
    for limit in limits:
        if limit.kind in ("hard", "-"):
            final[limit.domain] = limit
    return final


def limit_is_zero(value: str) -> bool:
    """Whether a limits.conf value is 0 as pam_limits reads it (``0``, ``00``)."""
    return re.fullmatch(r"[0-9]{1,20}", value) is not None and int(value) == 0


def unit_settings(text: str) -> dict[str, str]:
    """``systemd-analyze cat-config``: ``Key=value`` lines, the last of a key winning as
    for systemd; comments (``#``, ``;``) and section headers skipped."""
    values = {}
    for line in _lines(text):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;[":
            continue
        key, sep, value = stripped.partition("=")
        if sep and key.strip():
            values[key.strip()] = value.strip()
    return values
