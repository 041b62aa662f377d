"""Control implementations, registered by ID.

A control is one data entry in ``audits/controls/*.yml`` plus one function here::

    @control("LNX-02")
    def os_release_supported(ctx: Context, p: Params) -> Outcome:
        ...

The function gets the host's context (commands over SSH, probes, evidence) and the
control's parameters (defaults from the data, overridden by profiles and host vars), and
returns an Outcome. It raises ControlError when the control cannot be evaluated: the
result is then ``error`` with the reason, never ``pass``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolkit.audit.context import Context

Params = Mapping[str, Any]

#: The modules that hold implementations, one per platform family.
CONTROL_MODULES = (
    "toolkit.controls.linux",
    "toolkit.controls.web",
    "toolkit.controls.logging",
    "toolkit.controls.logs",
    "toolkit.controls.database",
    "toolkit.controls.mail",
    "toolkit.controls.mailflow",
    "toolkit.controls.vpn",
    "toolkit.controls.vpn_software",
    "toolkit.controls.vpn_tunnel",
)


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 (a status, not a password)
    FAIL = "fail"
    WARN = "warn"
    ERROR = "error"
    SKIPPED = "skipped"


class ControlError(Exception):
    """The control could not be evaluated (no access, no answer, unreadable output)."""


@dataclass(frozen=True)
class Evidence:
    """The command or probe a control used and an excerpt of what it saw."""

    probe: str
    excerpt: str


@dataclass
class Outcome:
    status: Status
    summary: str
    details: list[str] = field(default_factory=list)

    @classmethod
    def passed(cls, summary: str, *details: str) -> Outcome:
        return cls(Status.PASS, summary, list(details))

    @classmethod
    def failed(cls, summary: str, *details: str) -> Outcome:
        return cls(Status.FAIL, summary, list(details))

    @classmethod
    def warned(cls, summary: str, *details: str) -> Outcome:
        return cls(Status.WARN, summary, list(details))

    @classmethod
    def skipped(cls, summary: str) -> Outcome:
        return cls(Status.SKIPPED, summary)

    @classmethod
    def of(cls, problems: list[str], ok: str, *, warnings: list[str] | None = None) -> Outcome:
        """fail listing ``problems`` if any, else warn listing ``warnings``, else pass."""
        if problems:
            return cls.failed("; ".join(problems), *(warnings or []))
        if warnings:
            return cls.warned("; ".join(warnings))
        return cls.passed(ok)


CheckFn = Callable[["Context", Params], Outcome]


@dataclass(frozen=True)
class Implementation:
    id: str
    check: CheckFn
    #: False for controls that only probe services over the network (no SSH login).
    needs_ssh: bool


_REGISTRY: dict[str, Implementation] = {}


def control(control_id: str, *, needs_ssh: bool = True) -> Callable[[CheckFn], CheckFn]:
    """Register ``func`` as the implementation of ``control_id``."""

    def register(func: CheckFn) -> CheckFn:
        if control_id in _REGISTRY and _REGISTRY[control_id].check is not func:
            raise RuntimeError(f"{control_id} is implemented twice")
        _REGISTRY[control_id] = Implementation(control_id, func, needs_ssh)
        return func

    return register


def implementations() -> dict[str, Implementation]:
    """Every registered implementation (importing the control modules once)."""
    for module in CONTROL_MODULES:
        importlib.import_module(module)
    return dict(_REGISTRY)


def as_list(value: Any) -> list[Any]:
    """A parameter that may be one value or a list, as a list."""
    return list(value) if isinstance(value, list | tuple) else [value]
