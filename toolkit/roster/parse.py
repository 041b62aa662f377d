"""Reading and validating ``roster.csv`` as HR exports really look.

Accepted: UTF-8 with or without BOM, ``,`` ``;`` or tab separators, CRLF line ends,
spaces around values, Arabic text, blank lines. Every problem is reported as
``FILE:LINE: field: what is wrong``; any error rejects the whole file.

Hostile files are refused the same way, never with a traceback: a file over
:data:`MAX_ROSTER_BYTES` (before it is read) or that is not a regular file, a value over
:data:`MAX_FIELD_CHARS` or that the CSV reader cannot end (a quote never closed), and any
cell, header cells included, holding a character :func:`toolkit.text.unsafe_characters`
names (line breaks, tabs, controls, bidi overrides): a roster value is written on one line
of config files downstream.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

from toolkit.errors import InvalidInputError, Problem, Severity
from toolkit.roster.model import Device, DeviceKind, Mode, Roster, Status, Teleworker
from toolkit.roster.reference import Reference, load_reference
from toolkit.roster.schedule import DAYS, ScheduleError, parse_schedule
from toolkit.roster.source import (
    MAX_FIELD_CHARS,
    ONE_LINE,
    REQUIRED_COLUMNS,
    column_name,
    csv_problem,
    decode_text,
    read_roster_bytes,
    sniff_delimiter,
)
from toolkit.text import unsafe_characters

ROSTER_FILE = "roster.csv"

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_EMAIL = re.compile(
    r"^(?=.{3,254}$)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})$"
)
_DEVICE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LIST_SPLIT = re.compile(r"[\s,|]+")

T = TypeVar("T")


class FieldError(ValueError):
    """A value is wrong; the message says what and what is expected."""


def _choice(enum: Callable[[str], T], allowed: list[str]) -> Callable[[str], T]:
    def parse(value: str) -> T:
        try:
            return enum(value.lower())
        except ValueError:
            raise FieldError(f"{value!r} is not one of {', '.join(allowed)}") from None

    return parse


_parse_mode = _choice(Mode, [m.value for m in Mode])
_parse_status = _choice(Status, [s.value for s in Status])


def _parse_date(value: str) -> date:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise FieldError(f"{value!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _parse_devices(value: str) -> tuple[Device, ...]:
    devices = []
    for item in filter(None, _LIST_SPLIT.split(value)):
        kind, sep, name = item.partition(":")
        kinds = ", ".join(k.value for k in DeviceKind)
        if not sep:
            raise FieldError(f"{item!r} is not KIND:NAME (kinds: {kinds})")
        try:
            device_kind = DeviceKind(kind.lower())
        except ValueError:
            raise FieldError(f"{kind!r} is not a device kind ({kinds})") from None
        if not _DEVICE_NAME.match(name.lower()):
            raise FieldError(f"{name!r} is not a device name (letters, digits, '-'; max 63)")
        devices.append(Device(device_kind, name.lower()))
    return tuple(devices)


class _RowChecker:
    """Validates one row field by field, collecting problems instead of stopping."""

    def __init__(self, file: str, line: int, row: dict[str, str], problems: list[Problem]):
        self.file, self.line, self.row, self.problems = file, line, row, problems
        #: Fields refused whatever their column: too long, or unsafe characters.
        self.refused: set[str] = set()
        for field, value in row.items():
            if len(value) > MAX_FIELD_CHARS:
                self.error(
                    field,
                    f"{len(value)} characters, over the {MAX_FIELD_CHARS} a value may hold "
                    "(a quote never closed?)",
                )
            elif codes := unsafe_characters(value):
                self.error(field, f"contains {', '.join(codes)}: write the value {ONE_LINE}")
            else:
                continue
            self.refused.add(field)

    def error(self, field: str, message: str, severity: Severity = Severity.ERROR) -> None:
        self.problems.append(Problem(self.file, self.line, field, message, severity))

    def get(self, field: str, parse: Callable[[str], T], *, required: bool = True) -> T | None:
        value = self.row.get(field, "")
        if field in self.refused:
            return None
        if not value:
            if required:
                self.error(field, "missing value")
            return None
        try:
            return parse(value)
        except (FieldError, ScheduleError) as exc:
            self.error(field, str(exc))
            return None


def _text(value: str) -> str:
    """Free text: what no field may hold is refused for every field by _RowChecker."""
    return value


def _arabic(value: str) -> str:
    if not _ARABIC.search(value):
        raise FieldError(f"{value!r} is not written in Arabic script")
    return value


def _ident(value: str) -> str:
    if not _ID.match(value):
        raise FieldError(f"{value!r} is not an id (letters, digits, '.', '_', '-'; max 32)")
    return value


def _email(value: str) -> str:
    lowered = value.lower()
    if not _EMAIL.match(lowered):
        raise FieldError(f"{value!r} is not an e-mail address")
    return lowered


def _check_schedule(check: _RowChecker, mode: Mode | None, ref: Reference) -> None:
    """C1/C2: the schedule agrees with the mode and the working days."""
    if "schedule" in check.refused:
        return
    text = check.row.get("schedule", "")
    try:
        schedule = parse_schedule(text)
    except ScheduleError:
        return  # already reported by the field parser
    workdays = ref.workday_indexes
    used = {d for p in schedule.regular + schedule.overrides for d in p.days}
    off = sorted(used - workdays)
    if off:
        check.error(
            "schedule",
            f"{', '.join(DAYS[d] for d in off)} not a working day ({', '.join(ref.workdays)})",
        )
    if mode is Mode.FULL and schedule.regular and schedule.whole_regular_days() != workdays:
        check.error(
            "schedule",
            "mode is full but the schedule does not cover every working "
            "day (C1): leave schedule empty or use mode partial",
        )
    if mode is Mode.PARTIAL:
        if schedule.is_empty:
            check.error("schedule", "partial telework needs a schedule of days or hours (C2)")
        elif schedule.regular and schedule.whole_regular_days() >= workdays:
            check.error("schedule", "covers every working day in full: that is mode full (C1)")


def _row(check: _RowChecker, ref: Reference, today: date) -> Teleworker | None:
    ident = check.get("id", _ident)
    name_latin = check.get("name_latin", _text)
    name_arabic = check.get("name_arabic", _arabic)
    email = check.get("email", _email)
    if email and ref.mail_domains and email.rsplit("@", 1)[1] not in ref.mail_domains:
        check.error(
            "email",
            f"{email} is not in the administration's mail domains "
            f"({', '.join(ref.mail_domains)}) (M2)",
        )
    unit = check.get("unit", _text)
    if unit and unit not in ref.units:
        check.error("unit", f"unknown unit {unit!r} (declared: {', '.join(sorted(ref.units))})")
    mode = check.get("mode", _parse_mode)
    schedule = check.get("schedule", parse_schedule, required=False) or parse_schedule("")
    status = check.get("status", _parse_status)
    needs_approval = status is not Status.REVOKED
    approved_on = check.get("approved_on", _parse_date, required=False)
    if needs_approval and not check.row.get("approved_on"):
        check.error("approved_on", "missing approval date: telework needs prior approval (E1)")
    if approved_on and approved_on > today:
        check.error("approved_on", f"{approved_on} is in the future")
    approved_by = check.get("approved_by", _text, required=False)
    if needs_approval and not check.row.get("approved_by"):
        check.error("approved_by", "missing approver: telework needs prior approval (E1)")
    equipment = check.get("equipment", _parse_devices, required=False) or ()
    groups: tuple[str, ...] = ()
    if "vpn_groups" not in check.refused:
        groups = tuple(g for g in _LIST_SPLIT.split(check.row.get("vpn_groups", "")) if g)
    unknown = [g for g in groups if g not in ref.vpn_groups]
    if unknown:
        check.error(
            "vpn_groups",
            f"unknown group(s) {', '.join(unknown)} (declared: "
            f"{', '.join(sorted(ref.vpn_groups)) or 'none'})",
        )
    charter_signed_on = check.get("charter_signed_on", _parse_date, required=False)
    if charter_signed_on and charter_signed_on > today:
        check.error("charter_signed_on", f"{charter_signed_on} is in the future")
    if status is Status.ACTIVE and "charter_signed_on" in check.row and not charter_signed_on:
        check.error(
            "charter_signed_on",
            "no signed charter (M17, A19): `toolkit roster charter` makes and signs it",
            Severity.WARNING,
        )
    _check_schedule(check, mode, ref)
    if status is Status.ACTIVE and not equipment:
        check.error(
            "equipment",
            "no device: this teleworker cannot connect to the VPN (M7)",
            Severity.WARNING,
        )
    if (
        status is Status.ACTIVE
        and "eligible_tasks" in check.row
        and not check.row["eligible_tasks"]
    ):
        check.error(
            "eligible_tasks", "no tasks listed as executable remotely (C7)", Severity.WARNING
        )
    if (
        check.refused
        or ident is None
        or name_latin is None
        or name_arabic is None
        or email is None
        or unit is None
        or mode is None
        or status is None
    ):
        return None
    return Teleworker(
        id=ident,
        name_latin=name_latin,
        name_arabic=name_arabic,
        email=email,
        unit=unit,
        mode=mode,
        schedule=schedule,
        approved_on=approved_on,
        approved_by=approved_by or "",
        equipment=equipment,
        vpn_groups=groups,
        status=status,
        eligible_tasks=check.row.get("eligible_tasks", ""),
        charter_signed_on=charter_signed_on,
        line=check.line,
    )


def _check_unique(rows: list[Teleworker], file: str, problems: list[Problem]) -> None:
    seen: dict[tuple[str, str], int] = {}

    def claim(field: str, key: str, line: int) -> None:
        first = seen.setdefault((field, key), line)
        if first != line:
            problems.append(Problem(file, line, field, f"{key} already used on line {first}"))

    for t in rows:
        claim("id", t.id.lower(), t.line)
        claim("email", t.email, t.line)
        for device in t.equipment:
            claim("equipment", device.name, t.line)


def _check_unit_sizes(
    rows: list[Teleworker], file: str, ref: Reference, problems: list[Problem]
) -> None:
    counts: dict[str, int] = {}
    for t in rows:
        if t.active and t.unit in ref.units:
            counts[t.unit] = counts.get(t.unit, 0) + 1
            if counts[t.unit] == ref.units[t.unit].staff + 1:
                problems.append(
                    Problem(
                        file,
                        t.line,
                        "unit",
                        f"more active teleworkers in "
                        f"{t.unit} than its staff ({ref.units[t.unit].staff})",
                    )
                )


def _refuse_header(cells: list[str], file: str, line: int, problems: list[Problem]) -> bool:
    """Report header cells too long or with unsafe characters; True when there is one."""
    found = False
    for cell in cells:
        name = column_name(cell) or "-"
        if len(cell) > MAX_FIELD_CHARS:
            message = f"column name of {len(cell)} characters (a quote never closed?)"
        elif codes := unsafe_characters(cell.strip()):
            message = f"column name contains {', '.join(codes)}: write it {ONE_LINE}"
        else:
            continue
        problems.append(Problem(file, line, name[:64], message))
        found = True
    return found


def parse_roster(
    text: str, file: str, ref: Reference, *, today: date | None = None
) -> tuple[list[Teleworker], list[Problem]]:
    """Parse roster text; returns the rows that parsed and every problem found."""
    today = today or date.today()
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    header: list[str] | None = None
    rows: list[Teleworker] = []
    last_line = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # the row starts on the line after the last one read
            problems.append(Problem(file, last_line + 1, "-", csv_problem(exc)))
            break
        line, last_line = last_line + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            if _refuse_header(cells, file, line, problems):
                return [], problems
            header = [column_name(c) for c in cells]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            for col in missing:
                problems.append(Problem(file, line, col, "required column is missing"))
            dupes = {c for c in header if header.count(c) > 1 and c}
            for col in sorted(dupes):
                problems.append(Problem(file, line, col, "column appears twice"))
            if missing or dupes:
                return [], problems
            continue
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            problems.append(
                Problem(
                    file,
                    line,
                    "-",
                    f"{len(cells)} values for "
                    f"{len(header)} columns (a separator inside a value? quote it)",
                )
            )
            continue
        row = {name: value.strip() for name, value in zip(header, cells, strict=False) if name}
        checked = _row(_RowChecker(file, line, row, problems), ref, today)
        if checked is not None:
            rows.append(checked)
    if header is None:
        problems.append(
            Problem(
                file, 1, "-", f"empty file: expected a header line ({','.join(REQUIRED_COLUMNS)})"
            )
        )
    _check_unique(rows, file, problems)
    _check_unit_sizes(rows, file, ref, problems)
    return rows, problems


def load_roster(path: Path, ref: Reference, *, today: date | None = None) -> Roster:
    """Load and validate a roster file against the reference data.

    Raises InvalidInputError listing every error; warnings come back on the roster.
    """
    raw = read_roster_bytes(path)
    rows, problems = parse_roster(decode_text(path, raw), str(path), ref, today=today)
    if any(p.severity is Severity.ERROR for p in problems):
        raise InvalidInputError(problems)
    return Roster(path, ref, tuple(rows), tuple(sorted(problems)))


def load_environment_roster(inventory: Path, *, today: date | None = None) -> Roster:
    """The roster of an inventory directory: ``roster.csv`` checked against
    ``group_vars/all/telework.yml``."""
    return load_roster(inventory / ROSTER_FILE, load_reference(inventory), today=today)
