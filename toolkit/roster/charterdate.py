"""Recording in the roster the date the administration signed teleworkers' charters (M17,
A19): the optional ``charter_signed_on`` column, added at the end of the header when the
file has none. Like a revocation, the file keeps its encoding, separator, line ends and
every other cell as they were, and the edited roster is validated before it replaces the
old one."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from toolkit.errors import InvalidInputError, Problem, Severity
from toolkit.roster.parse import load_roster, parse_roster
from toolkit.roster.reference import Reference
from toolkit.roster.revoke import _newline, _records, _write_atomically
from toolkit.roster.source import column_name, decode_text, sniff_delimiter

COLUMN = "charter_signed_on"


def _set_cells(text: str, path: Path, column: str, values: Mapping[int, str]) -> str:
    """``text`` with the cell ``column`` of the records starting on the lines of ``values``
    replaced; the column is appended to the header (and an empty cell to every other
    record) when it is missing."""
    delimiter = sniff_delimiter(text)
    records = _records(text, delimiter)
    header_line, _, header = next((f, la, c) for f, la, c in records if any(x.strip() for x in c))
    names = [column_name(c) for c in header]
    append = column not in names
    index = len(header) if append else names.index(column)
    lines = text.splitlines(keepends=True)
    found: set[int] = set()
    for first, last, old in records:
        if not any(c.strip() for c in old):
            continue
        if first == header_line:
            if not append:
                continue
            cells = [*old, column]
        elif first in values:
            found.add(first)
            cells = list(old) + [""] * (index + 1 - len(old))
            cells[index] = values[first]
        elif append:
            cells = list(old) + [""] * (index + 1 - len(old))
        else:
            continue
        out = io.StringIO(newline="")
        csv.writer(out, delimiter=delimiter, lineterminator=_newline(text)).writerow(cells)
        ending = lines[last - 1][len(lines[last - 1].rstrip("\r\n")) :]
        lines[first - 1] = out.getvalue().rstrip("\r\n") + ending
        for extra in range(first, last):  # a record over several lines is one line now
            lines[extra] = ""
    missing = sorted(set(values) - found)
    if missing:
        raise InvalidInputError(
            [Problem(str(path), line, "id", "row not found again in the file") for line in missing]
        )
    return "".join(lines)


def record_signatures(
    path: Path, ref: Reference, signed: Mapping[str, date], *, today: date | None = None
) -> None:
    """Write each teleworker's signature date (id -> date) into the roster file ``path``.

    Raises InvalidInputError naming the file, line and field when the roster or the edit is
    invalid; the file is then left as it was."""
    roster = load_roster(path, ref, today=today)
    lines = {roster.by_id(ident).line: day.isoformat() for ident, day in signed.items()}
    raw = path.read_bytes()
    edited = _set_cells(decode_text(path, raw), path, COLUMN, lines)
    rows, problems = parse_roster(edited, str(path), ref, today=today)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        raise InvalidInputError(errors)
    after = {r.id: r.charter_signed_on for r in rows}
    if len(rows) != len(roster.teleworkers) or any(
        after.get(roster.by_id(i).id) != d for i, d in signed.items()
    ):
        raise InvalidInputError([Problem(str(path), 1, COLUMN, "the edit did not apply")])
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    _write_atomically(path, bom + edited.encode("utf-8"))
