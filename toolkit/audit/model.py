"""The audit's core types: a control's parameters, its outcome and status, its evidence.

A control function (registered in ``toolkit.audit.registry``) gets ``Params`` and
returns an ``Outcome``; it raises ``ControlError`` when the control cannot be
evaluated: the result is then ``error`` with the reason, never ``pass``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Params = Mapping[str, Any]


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


def as_list(value: Any) -> list[Any]:
    """A parameter that may be one value or a list, as a list."""
    return list(value) if isinstance(value, list | tuple) else [value]
