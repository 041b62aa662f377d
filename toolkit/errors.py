"""Exceptions that carry the exit code the CLI turns them into."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from toolkit.exitcodes import ExitCode
from toolkit.text import printable


class ToolkitError(Exception):
    """Base error: a message for a person and the exit code it maps to."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class SelectionError(ToolkitError):
    """A selection names nothing known: a host pattern no host matches, an unknown profile or
    control. ``what`` is the part of the selection (``limit``, ``profiles``, ``controls``),
    ``value`` the value given; the message says what is wrong without naming any command-line
    option (the CLI names its own)."""

    exit_code = ExitCode.USAGE

    def __init__(self, what: str, value: str, reason: str) -> None:
        super().__init__(f"{reason}: {value}")
        self.what, self.value, self.reason = what, value, reason


class ExternalCommandError(ToolkitError):
    """A command the toolkit ran (podman, ansible-playbook, ...) failed or timed out."""


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One finding about an input file, rendered as ``FILE:LINE: field: message``.

    The one place every problem becomes text: file, field and message go through
    :func:`toolkit.text.printable`, so a value quoted from the input (an unknown group, a
    file name) never reaches a terminal, a log or Ansible's output raw."""

    file: str
    line: int
    field: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        return (
            f"{printable(self.file)}:{self.line}: {printable(self.field)}: "
            f"{prefix}{printable(self.message)}"
        )


class InvalidInputError(ToolkitError):
    """An input file is invalid. Carries every problem found, not just the first."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        errors = [p for p in self.problems if p.severity is Severity.ERROR]
        super().__init__("\n".join(str(p) for p in errors) or "invalid input")
