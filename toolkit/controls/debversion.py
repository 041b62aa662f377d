"""Debian package versions compared as dpkg compares them (deb-version(7), dpkg's
``verrevcmp``), in pure Python so that no command runs on the audited host for it.

``[epoch:]upstream[-revision]``: epochs compare as numbers; upstream and revision each
compare in turns of a non-digit run (letters sort before other characters, ``~`` before
everything, even the end of the string) and a digit run (as a number). A missing revision
equals ``0``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Longer text is refused (dpkg's own versions are far shorter).
MAX_LENGTH = 256
_EPOCH = re.compile(r"[0-9]{1,9}")
_UPSTREAM = re.compile(r"[0-9][A-Za-z0-9.+~:-]*")
_REVISION = re.compile(r"[A-Za-z0-9.+~]+")


class VersionError(ValueError):
    """Text that is not a Debian version."""


@dataclass(frozen=True)
class Version:
    epoch: int
    upstream: str
    revision: str


def parse(text: str) -> Version:
    """``text`` as a Debian version; VersionError when dpkg would refuse it."""
    value = text.strip()
    if len(value) > MAX_LENGTH:
        raise VersionError(f"{text[:80]!r}...: longer than {MAX_LENGTH} characters")
    epoch_text, colon, rest = value.partition(":")
    if not colon:
        epoch_text, rest = "0", value
    elif not _EPOCH.fullmatch(epoch_text):
        raise VersionError(f"{text[:80]!r}: the epoch is not a number")
    upstream, hyphen, revision = rest.rpartition("-")
    if not hyphen:
        upstream, revision = rest, ""
    elif not _REVISION.fullmatch(revision):
        raise VersionError(f"{text[:80]!r}: invalid revision")
    if not _UPSTREAM.fullmatch(upstream):
        raise VersionError(f"{text[:80]!r}: the upstream version must start with a digit")
    return Version(int(epoch_text), upstream, revision)


def _order(ch: str) -> int:
    """dpkg's weight of a character in a non-digit run ("" is the end of the string)."""
    if not ch or ch.isdigit():
        return 0
    if ch.isalpha():
        return ord(ch)
    if ch == "~":
        return -1
    return ord(ch) + 256


def _verrevcmp(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i] if i < len(a) else "")
            bc = _order(b[j] if j < len(b) else "")
            if ac != bc:
                return ac - bc
            i, j = i + 1, j + 1
        start_a, start_b = i, j
        while i < len(a) and a[i].isdigit():
            i += 1
        while j < len(b) and b[j].isdigit():
            j += 1
        diff = int(a[start_a:i] or "0") - int(b[start_b:j] or "0")
        if diff:
            return diff
    return 0


def compare(a: str, b: str) -> int:
    """< 0, 0 or > 0 as ``a`` is older than, equal to or newer than ``b``; VersionError
    when either is not a Debian version."""
    va, vb = parse(a), parse(b)
    if va.epoch != vb.epoch:
        return va.epoch - vb.epoch
    return _verrevcmp(va.upstream, vb.upstream) or _verrevcmp(va.revision, vb.revision)


def at_least(version: str, minimum: str) -> bool:
    return compare(version, minimum) >= 0
