"""The roster's journal (``roster-journal.csv`` beside ``roster.csv``): one line for each
action taken on one teleworker (C5 revocation, A4 second-factor reset), with the reason
and the operator. The one place that says who a journaled action is about and how its line
is written."""

from __future__ import annotations

import csv
import getpass
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from toolkit.errors import InvalidInputError, Problem
from toolkit.roster.model import Device, Roster, Teleworker

JOURNAL_FILE = "roster-journal.csv"
JOURNAL_COLUMNS = ("when", "id", "action", "reason", "operator", "equipment_to_return")


def journal_of(roster: Path) -> Path:
    """The journal of the roster file ``roster`` (beside it)."""
    return roster.parent / JOURNAL_FILE


def named_teleworker(roster: Roster, ident: str, reason: str, *, asked: str) -> Teleworker:
    """The teleworker a journaled action is about. Raises InvalidInputError naming the
    roster and the field when ``reason`` is empty (``asked`` says what to give) or no
    teleworker has the id ``ident``."""
    if not reason.strip():
        raise InvalidInputError([Problem(str(roster.path), 1, "reason", asked)])
    try:
        return roster.by_id(ident)
    except KeyError:
        raise InvalidInputError(
            [Problem(str(roster.path), 1, "id", f"no teleworker {ident!r} in the roster")]
        ) from None


def operator() -> str:
    """Who runs the toolkit: the account that ran sudo, else the current one."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


def write_journal(
    path: Path, ident: str, action: str, reason: str, equipment: Iterable[Device] = ()
) -> None:
    """Append one line to the journal ``path`` (its header first when it is new)."""
    new = not path.exists()
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        if new:
            writer.writerow(JOURNAL_COLUMNS)
        writer.writerow(
            [
                datetime.now(UTC).isoformat(timespec="seconds"),
                ident,
                action,
                reason.strip(),
                operator(),
                " ".join(str(d) for d in equipment),
            ]
        )
