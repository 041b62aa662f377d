"""Ending a teleworker's telework in the roster (C5): the row's status becomes
``revoked``, the reason goes to the roster's journal, and the equipment to return (E27)
is listed. The file keeps its encoding, separator, line ends and every other row as they
were; the edited roster is validated before it replaces the old one."""

from __future__ import annotations

import csv
import io
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from toolkit.errors import InvalidInputError, Problem, Severity
from toolkit.roster.journal import JOURNAL_FILE, journal_of, named_teleworker, write_journal
from toolkit.roster.model import Device, Status
from toolkit.roster.parse import load_roster, parse_roster
from toolkit.roster.reference import Reference
from toolkit.roster.source import column_name, decode_text, sniff_delimiter

log = logging.getLogger(__name__)

__all__ = ["JOURNAL_FILE", "Revocation", "revoke"]


@dataclass(frozen=True)
class Revocation:
    id: str
    name: str
    already_revoked: bool
    equipment: tuple[Device, ...]
    journal: Path


def _records(text: str, delimiter: str) -> list[tuple[int, int, list[str]]]:
    """Each CSV record with its first and last physical line (1-based)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records, last = [], 0
    for cells in reader:
        records.append((last + 1, reader.line_num, cells))
        last = reader.line_num
    return records


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _replace_status(text: str, path: Path, line: int, status: Status) -> str:
    delimiter = sniff_delimiter(text)
    records = _records(text, delimiter)
    header = next(cells for _, _, cells in records if any(c.strip() for c in cells))
    column = [column_name(c) for c in header].index("status")
    for first, last, cells in records:
        if first != line:
            continue
        edited = list(cells) + [""] * (column + 1 - len(cells))
        edited[column] = str(status)
        out = io.StringIO(newline="")
        csv.writer(out, delimiter=delimiter, lineterminator=_newline(text)).writerow(edited)
        lines = text.splitlines(keepends=True)
        ending = lines[last - 1][len(lines[last - 1].rstrip("\r\n")) :]
        row = out.getvalue().rstrip("\r\n") + ending
        return "".join(lines[: first - 1]) + row + "".join(lines[last:])
    raise InvalidInputError([Problem(str(path), line, "id", "row not found again in the file")])


def _write_atomically(path: Path, data: bytes) -> None:
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def revoke(
    path: Path, ref: Reference, ident: str, reason: str, *, today: date | None = None
) -> Revocation:
    """Mark teleworker IDENT revoked in the roster file PATH and journal REASON.

    Raises InvalidInputError (naming the file, line and field) when the roster is invalid,
    the id is unknown or the reason is empty; the file is then left as it was."""
    roster = load_roster(path, ref, today=today)
    worker = named_teleworker(roster, ident, reason, asked="give the reason telework ends (C5)")
    journal = journal_of(path)
    if worker.status is Status.REVOKED:
        log.info("%s is already revoked in %s", worker.id, path)
        return Revocation(worker.id, worker.name_latin, True, worker.equipment, journal)
    raw = path.read_bytes()
    text = decode_text(path, raw)
    edited = _replace_status(text, path, worker.line, Status.REVOKED)
    rows, problems = parse_roster(edited, str(path), ref, today=today)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        raise InvalidInputError(errors)
    after = next(r for r in rows if r.id == worker.id)
    if after.status is not Status.REVOKED or len(rows) != len(roster.teleworkers):
        raise InvalidInputError(
            [Problem(str(path), worker.line, "status", "the edit did not apply")]
        )
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    _write_atomically(path, bom + edited.encode("utf-8"))
    write_journal(journal, worker.id, "revoke", reason, worker.equipment)
    log.info("%s revoked in %s (%s)", worker.id, path, reason.strip())
    return Revocation(worker.id, worker.name_latin, False, worker.equipment, journal)
