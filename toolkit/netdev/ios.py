"""Cisco IOS, IOS-XE and ASA configurations, parsed by ciscoconfparse2.

ciscoconfparse2 builds the parent/child tree from indentation and keeps banners whole
(their text is the banner's children, never taken for commands). Controls only look at
top-level commands and their sections, with every line's number in the text read."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ciscoconfparse2 import CiscoConfParse

from toolkit.netdev.model import Line
from toolkit.netdev.platforms import Platform

_SYNTAX = {Platform.IOS: "ios", Platform.ASA: "asa"}


@dataclass(frozen=True)
class Section:
    """A top-level command and the lines under it (nested ones included)."""

    head: Line
    body: tuple[Line, ...]

    def find(self, pattern: str) -> list[Line]:
        rx = re.compile(pattern)
        return [ln for ln in self.body if rx.search(ln.words)]

    @property
    def lines(self) -> list[Line]:
        return [self.head, *self.body]


class CiscoConfig:
    """A parsed IOS/ASA configuration: top-level commands and their sections."""

    def __init__(self, text: str, platform: Platform) -> None:
        self.platform = platform
        self.parse = CiscoConfParse(
            text.splitlines(), syntax=_SYNTAX[platform], loguru=False, ignore_blank_lines=False
        )
        self._top = [o for o in self.parse.objs if o.parent is o]

    @staticmethod
    def _line(obj: object) -> Line:
        return Line(int(getattr(obj, "linenum", 0)) + 1, str(getattr(obj, "text", "")))

    def top(self, pattern: str) -> list[Line]:
        """Top-level commands matching ``pattern`` (a regex searched from the start)."""
        rx = re.compile(pattern)
        return [ln for ln in (self._line(o) for o in self._top) if rx.match(ln.words)]

    def sections(self, pattern: str) -> list[Section]:
        """Top-level commands matching ``pattern`` with every line under them."""
        rx = re.compile(pattern)
        return [
            Section(self._line(o), tuple(self._line(c) for c in o.all_children))
            for o in self._top
            if rx.match(" ".join(o.text.split()))
        ]
