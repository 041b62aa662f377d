"""Reading a roster file safely, before any row is validated: its size and type (checked
before it is read), its encoding, its separator, its column names, and CSV errors as one
problem with its line.

Limits: :data:`MAX_ROSTER_BYTES` for the file, :data:`MAX_FIELD_CHARS` for a value.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from pathlib import Path

from toolkit.errors import InvalidInputError, Problem

REQUIRED_COLUMNS = (
    "id",
    "name_latin",
    "name_arabic",
    "email",
    "unit",
    "mode",
    "schedule",
    "approved_on",
    "approved_by",
    "equipment",
    "vpn_groups",
    "status",
)
#: charter_signed_on: when the administration signed the teleworker's charter (M17, A19),
#: written by ``toolkit roster charter``.
OPTIONAL_COLUMNS = ("eligible_tasks", "charter_signed_on")
#: Largest roster file read (checked before reading): 100,000 rows take about 20 MB.
MAX_ROSTER_BYTES = 64 * 2**20
#: Longest value of a cell, header cells included: far above any real name or task list.
MAX_FIELD_CHARS = 4096
ONE_LINE = "on one line, without control, line-separator or bidi characters"


def read_roster_bytes(path: Path) -> bytes:
    """The bytes of a roster file, refused (InvalidInputError) when it is not a regular
    file or is over :data:`MAX_ROSTER_BYTES`, before anything is read. Never waits: a FIFO
    or a device is opened without blocking and refused."""

    def refuse(message: str) -> InvalidInputError:
        return InvalidInputError([Problem(str(path), 1, "-", message)])

    def too_big(size: int) -> InvalidInputError:
        return refuse(
            f"{size:,} bytes, over the {MAX_ROSTER_BYTES // 2**20} MiB a roster may have: "
            "is it the right file?"
        )

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise refuse("not a regular file")
        if info.st_size > MAX_ROSTER_BYTES:
            raise too_big(info.st_size)
        try:
            raw = f.read(info.st_size + 1)  # read(n) allocates n: ask for the size only
            if len(raw) > info.st_size:  # it grew after the check
                raw += f.read(MAX_ROSTER_BYTES + 1 - len(raw))
        except OSError as exc:
            raise refuse(f"cannot read: {exc.strerror}") from exc
    if len(raw) > MAX_ROSTER_BYTES:
        raise too_big(len(raw))
    return raw


def decode_text(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInputError(
            [
                Problem(
                    str(path),
                    line,
                    "-",
                    f"not UTF-8 (byte 0x{raw[exc.start]:02x}); export the sheet as 'CSV UTF-8'",
                )
            ]
        ) from exc


def sniff_delimiter(text: str) -> str:
    known = set(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    # The first non-blank line, read lazily and cut to what a header can hold.
    longest = len(known) * (MAX_FIELD_CHARS + 1)
    header = next((ln for ln in io.StringIO(text[: 16 * longest]) if ln.strip()), "")
    header = header[:longest]

    def hits(delim: str) -> int:
        try:
            cells = next(csv.reader([header], delimiter=delim), [])
        except csv.Error:
            return 0
        return sum(column_name(c) in known for c in cells)

    return max((",", ";", "\t"), key=hits)


def column_name(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().lower())


def csv_problem(exc: csv.Error) -> str:
    if "field limit" in str(exc):
        return (
            "a value runs past the CSV reader's limit: a quote opened on this line is never closed"
        )
    return f"not readable as CSV: {exc}"
