"""Cisco IOS, IOS-XE and ASA configurations, parsed by ciscoconfparse2.

ciscoconfparse2 builds the parent/child tree from indentation and keeps banners whole
(their text is the banner's children, never taken for commands). Controls only look at
top-level commands and their sections, with every line's number in the text read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    """A parsed IOS/ASA configuration: top-level commands and their sections.

    The tree is read from ciscoconfparse2 once (its objects' attributes are slow to
    read): each top-level command with the lines under it, which are the objects after it
    up to the next top-level one (a banner's text included)."""

    def __init__(self, text: str, platform: Platform) -> None:
        # Imported on first use: ciscoconfparse2 takes 0.7 s to import, which every
        # `toolkit` command would otherwise pay (the audit plans devices and servers alike).
        from ciscoconfparse2 import CiscoConfParse  # noqa: PLC0415

        self.platform = platform
        self.parse: CiscoConfParse = CiscoConfParse(
            text.splitlines(), syntax=_SYNTAX[platform], loguru=False, ignore_blank_lines=False
        )
        self._sections: list[Section] = []
        head: Line | None = None
        body: list[Line] = []
        for obj in self.parse.objs:
            line = Line(int(obj.linenum) + 1, str(obj.text))
            if obj.parent is obj:
                if head is not None:
                    self._sections.append(Section(head, tuple(body)))
                head, body = line, []
            elif head is not None:
                body.append(line)
        if head is not None:
            self._sections.append(Section(head, tuple(body)))

    def top(self, pattern: str) -> list[Line]:
        """Top-level commands matching ``pattern`` (a regex matched at the start, on the
        text with its spacing collapsed)."""
        rx = re.compile(pattern)
        return [s.head for s in self._sections if rx.match(s.head.words)]

    def sections(self, pattern: str) -> list[Section]:
        """Top-level commands matching ``pattern`` with every line under them."""
        rx = re.compile(pattern)
        return [s for s in self._sections if rx.match(s.head.words)]
