"""Waivers: a finding accepted for a while, by someone, for a reason (YAML kept in git).

    waivers:
      - control: LNX-09
        hosts: "*"               # host name pattern (glob); default every host
        owner: RSSI              # who accepted the risk
        justification: ...      # why, in a sentence an auditor can check
        expires: 2027-02-28      # after this day the waiver no longer hides the finding

A waived failure does not block the gate; once its waiver has expired it counts as a
failure again (and says so).
"""

from __future__ import annotations

import fnmatch
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from toolkit.audit.catalogue import yaml_line
from toolkit.errors import InvalidInputError, Problem
from toolkit.yamlfile import load_model


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    control: str
    hosts: str = "*"
    owner: str = Field(min_length=2)
    justification: str = Field(min_length=10)
    expires: date

    def matches(self, control: str, host: str) -> bool:
        return self.control == control and fnmatch.fnmatchcase(host, self.hosts)

    def expired(self, today: date) -> bool:
        return today > self.expires


class WaiversFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    waivers: list[Waiver] = Field(default_factory=list)


def load_waivers(path: Path, known_controls: set[str]) -> list[Waiver]:
    """The waivers of ``path``; a waiver naming an unknown control is an error."""
    data = load_model(path, WaiversFile)
    problems = [
        Problem(
            str(path),
            yaml_line(path, ("waivers", i, "control")),
            f"waivers.{i}.control",
            f"unknown control {w.control}",
        )
        for i, w in enumerate(data.waivers)
        if w.control not in known_controls
    ]
    if problems:
        raise InvalidInputError(problems)
    return list(data.waivers)


def find_waiver(waivers: list[Waiver], control: str, host: str) -> Waiver | None:
    """The waiver covering ``control`` on ``host`` (the latest-expiring one if several)."""
    found = [w for w in waivers if w.matches(control, host)]
    return max(found, key=lambda w: w.expires) if found else None
