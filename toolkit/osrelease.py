"""``/etc/os-release`` read as data: one parser for the audit's controls and the drills."""

from __future__ import annotations


def parse(text: str) -> dict[str, str]:
    """/etc/os-release as a dict (quotes removed); lines that are no ``KEY=value`` skipped."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    return values
