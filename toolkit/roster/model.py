"""Typed roster records, and the rule of who may telework now (:attr:`Teleworker.eligible`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from toolkit.errors import Problem
from toolkit.roster.reference import Reference
from toolkit.roster.schedule import Schedule


class Mode(StrEnum):
    """C1: telework is partial (some hours or days) or full."""

    PARTIAL = "partial"
    FULL = "full"


class Status(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class DeviceKind(StrEnum):
    """What a teleworker connects with: a managed laptop (M1), a personal computer allowed
    after a security check (M9, M10), or a phone."""

    LAPTOP = "laptop"
    PERSONAL = "personal"
    PHONE = "phone"


@dataclass(frozen=True)
class Device:
    kind: DeviceKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class Teleworker:
    """One row of the roster."""

    id: str
    name_latin: str
    name_arabic: str
    email: str
    unit: str
    mode: Mode
    schedule: Schedule
    approved_on: date | None
    approved_by: str
    equipment: tuple[Device, ...]
    vpn_groups: tuple[str, ...]
    status: Status
    eligible_tasks: str = ""
    #: When the administration signed this teleworker's charter (M17, A19), if it did.
    charter_signed_on: date | None = None
    line: int = 0

    @property
    def active(self) -> bool:
        return self.status is Status.ACTIVE

    @property
    def approved(self) -> bool:
        """E1: telework is given on prior approval, a date and an approver."""
        return self.approved_on is not None and bool(self.approved_by)

    def refusal(self) -> str | None:
        """Why this teleworker gets no telework access (None when eligible): revoked (C5),
        or without approval (E1)."""
        if not self.active:
            return "telework revoked (C5)"
        if not self.approved:
            return "no approval in the roster (E1)"
        return None

    @property
    def eligible(self) -> bool:
        """Active and approved: the one rule that decides who gets access (VPN peers and
        bundles, audit control VPN-02). Exported to Ansible as ``eligible``."""
        return self.refusal() is None

    def as_vars(self) -> dict[str, Any]:
        """Plain data for Ansible (the ``telework_roster`` variable)."""
        return {
            "id": self.id,
            "name_latin": self.name_latin,
            "name_arabic": self.name_arabic,
            "email": self.email,
            "unit": self.unit,
            "mode": str(self.mode),
            "schedule": self.schedule.text,
            # The same schedule as data (the VPN gateway's portal ends sessions with it).
            "schedule_periods": self.schedule.as_data(),
            "approved_on": self.approved_on.isoformat() if self.approved_on else None,
            "approved_by": self.approved_by,
            "equipment": [{"kind": str(d.kind), "name": d.name} for d in self.equipment],
            "vpn_groups": list(self.vpn_groups),
            "status": str(self.status),
            "eligible_tasks": self.eligible_tasks,
            # Decided here only: the roles read it instead of status and approval.
            "eligible": self.eligible,
        }


@dataclass(frozen=True)
class Roster:
    """A validated roster and the reference data it was checked against."""

    path: Path
    reference: Reference
    teleworkers: tuple[Teleworker, ...]
    warnings: tuple[Problem, ...] = field(default=())

    def active(self) -> tuple[Teleworker, ...]:
        return tuple(t for t in self.teleworkers if t.active)

    def by_id(self, ident: str) -> Teleworker:
        for t in self.teleworkers:
            if t.id.lower() == ident.lower():
                return t
        raise KeyError(ident)
