"""The administration's reference data the roster is checked against: units, their
minimum on-site staff (C3), VPN access groups (A13), working days and hours (C2).

It lives in the inventory as ``inventories/<env>/group_vars/all/telework.yml``, so roles
read the same variables (``telework_units``, ``telework_vpn_groups``, ...) as the toolkit.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from toolkit.roster.schedule import DAYS, Span, parse_schedule
from toolkit.yamlfile import load_model

REFERENCE_FILE = Path("group_vars", "all", "telework.yml")

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class Unit(BaseModel):
    """An administrative unit: its total staff and how many must stay on site (C3)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    name_arabic: str = ""
    staff: int = Field(ge=1, description="every agent of the unit, teleworkers included")
    min_onsite: int = Field(ge=0, description="agents who must be on site at any time (C3)")

    @model_validator(mode="after")
    def _min_onsite_fits(self) -> Unit:
        if self.min_onsite > self.staff:
            raise ValueError(f"min_onsite ({self.min_onsite}) exceeds staff ({self.staff})")
        return self


class VpnGroup(BaseModel):
    """A VPN access group (A13): which internal services its members may reach."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""


class Reference(BaseModel):
    """Contents of ``group_vars/all/telework.yml``: each field is the variable
    ``telework_<field>``; the file holds these variables and no others."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        alias_generator=lambda name: f"telework_{name}",
    )

    workdays: tuple[str, ...] = DAYS[:5]
    office_hours: str = "08:30-16:30"
    mail_domains: tuple[str, ...] = ()
    units: dict[Ident, Unit]
    vpn_groups: dict[Ident, VpnGroup] = Field(default_factory=dict)

    @field_validator("workdays")
    @classmethod
    def _known_days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [d for d in value if d not in DAYS]
        if bad:
            raise ValueError(f"unknown day(s) {', '.join(bad)}; use {', '.join(DAYS)}")
        if not value:
            raise ValueError("at least one working day is needed")
        return value

    @field_validator("office_hours")
    @classmethod
    def _one_span(cls, value: str) -> str:
        periods = parse_schedule(f"mon {value}").regular if value else ()
        if len(periods) != 1 or len(periods[0].spans) != 1:
            raise ValueError("office_hours is one span HH:MM-HH:MM")
        return value

    @field_validator("mail_domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        lowered = tuple(d.lower() for d in value)
        bad = [d for d in lowered if not _DOMAIN.match(d)]
        if bad:
            raise ValueError(f"not a domain name: {', '.join(bad)}")
        return lowered

    @property
    def workday_indexes(self) -> frozenset[int]:
        return frozenset(DAYS.index(d) for d in self.workdays)

    @property
    def office_span(self) -> Span:
        return parse_schedule(f"mon {self.office_hours}").regular[0].spans[0]


def load_reference(path: Path) -> Reference:
    """Load the reference file, given itself or its inventory directory;
    InvalidInputError on problems."""
    if path.is_dir():
        path = path / REFERENCE_FILE
    return load_model(path, Reference)
