"""Hostile roster files: characters that would break a config line or fool a reader, and
files or values too big to be a roster, are refused with one FILE:LINE: field: message,
never a traceback, never unbounded memory."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import HEADER, TODAY
from toolkit.errors import InvalidInputError, Problem, Severity
from toolkit.roster import Reference, load_roster
from toolkit.roster.source import MAX_FIELD_CHARS, MAX_ROSTER_BYTES, REQUIRED_COLUMNS

HEADER_TASKS = f"{HEADER},eligible_tasks"
GOOD_CELLS = dict(
    zip(
        (*REQUIRED_COLUMNS, "eligible_tasks"),
        (
            *("z9", "Zineb Fassi", "زينب الفاسي", "zineb@example.gov.ma", "dsi", "partial"),
            *("mon", "2026-09-01", "DSI", "laptop:lt-9", "staff", "active", "Saisie"),
        ),
        strict=True,
    )
)
HOSTILE_NAME = "Ali\n[Interface]\nPostUp = touch /tmp/x #"


def _csv(*rows: dict[str, str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # quotes values holding CR or LF
    writer.writerow(GOOD_CELLS.keys())
    for row in rows:
        writer.writerow(row.values())
    return out.getvalue()


def _errors(path: Path, reference: Reference) -> list[str]:
    with pytest.raises(InvalidInputError) as caught:
        load_roster(path, reference, today=TODAY)
    return [str(p) for p in caught.value.problems if p.severity is Severity.ERROR]


def test_a_name_that_would_inject_a_wireguard_section_with_postup_is_refused(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    path = write_file(_csv(dict(GOOD_CELLS, name_latin=HOSTILE_NAME)))
    assert _errors(path, reference) == [
        f"{path}:2: name_latin: contains U+000A: write the value on one line, "
        "without control, line-separator or bidi characters"
    ]


UNSAFE = {
    "CR": "\r",
    "LF": "\n",
    "TAB": "\t",
    "ESC": "\x1b",
    "NUL": "\x00",
    "NEL": "\x85",
    "LINE SEPARATOR": "\u2028",
    "PARAGRAPH SEPARATOR": "\u2029",
    "RIGHT-TO-LEFT OVERRIDE": "\u202e",
    "FIRST STRONG ISOLATE": "\u2068",
}


@pytest.mark.parametrize("column", list(GOOD_CELLS))
@pytest.mark.parametrize("char", list(UNSAFE.values()), ids=list(UNSAFE))
def test_every_column_refuses_line_breaks_controls_and_bidi_overrides(
    write_file: Callable[..., Path], reference: Reference, column: str, char: str
) -> None:
    value = GOOD_CELLS[column]
    cut = max(1, len(value) // 2)
    path = write_file(_csv(dict(GOOD_CELLS, **{column: value[:cut] + char + value[cut:]})))
    assert _errors(path, reference) == [
        f"{path}:2: {column}: contains U+{ord(char):04X}: write the value on one line, "
        "without control, line-separator or bidi characters"
    ]


def test_every_unsafe_character_of_a_value_is_named_once(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    path = write_file(_csv(dict(GOOD_CELLS, approved_by="D\u202eS\tI\u202e")))
    (error,) = _errors(path, reference)
    assert error.startswith(f"{path}:2: approved_by: contains U+202E, U+0009: ")


def test_a_column_name_with_an_unsafe_character_is_refused_on_the_header_line(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    path = write_file(HEADER.replace("status", "sta\u202etus") + "\n")
    assert _errors(path, reference) == [
        f"{path}:1: sta\\u202etus: column name contains U+202E: write it on one line, "
        "without control, line-separator or bidi characters"
    ]


def test_arabic_text_with_its_ordinary_direction_marks_is_accepted(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    path = write_file(_csv(dict(GOOD_CELLS, name_arabic="\u200fزينب الفاسي")))
    assert load_roster(path, reference, today=TODAY).by_id("z9").name_arabic.endswith("الفاسي")


def test_a_value_over_the_field_limit_is_refused_naming_line_and_field(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    long = "Saisie " * (MAX_FIELD_CHARS // 7 + 1)
    path = write_file(_csv(GOOD_CELLS, dict(GOOD_CELLS, id="z8", eligible_tasks=long)))
    assert _errors(path, reference) == [
        f"{path}:3: eligible_tasks: {len(long.strip())} characters, over the "
        f"{MAX_FIELD_CHARS} a value may hold (a quote never closed?)"
    ]


def test_an_unterminated_quote_followed_by_200_kib_is_one_problem_on_its_line(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    good = ",".join(GOOD_CELLS.values())
    text = f'{",".join(GOOD_CELLS)}\n{good}\nz8,"Omar\n' + ("x" * 1023 + "\n") * 200
    path = write_file(text)
    assert _errors(path, reference) == [
        f"{path}:3: -: a value runs past the CSV reader's limit: a quote opened on "
        "this line is never closed"
    ]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    path = write_file(_csv(GOOD_CELLS))
    os.truncate(path, MAX_ROSTER_BYTES + 1)  # sparse: no disk used
    assert _errors(path, reference) == [
        f"{path}:1: -: {MAX_ROSTER_BYTES + 1:,} bytes, over the {MAX_ROSTER_BYTES // 2**20} "
        "MiB a roster may have: is it the right file?"
    ]


def test_a_roster_that_is_not_a_regular_file_is_refused_without_waiting(
    tmp_path: Path, reference: Reference
) -> None:
    fifo = tmp_path / "roster.csv"
    os.mkfifo(fifo)  # reading it would wait forever for a writer
    assert _errors(fifo, reference) == [f"{fifo}:1: -: not a regular file"]


def test_a_problem_shows_every_part_escaped_never_raw() -> None:
    problem = Problem("in\x1b[2Jput.csv", 3, "vpn_\u202egroups", "unknown group(s) \x1b]0;x\x07")
    shown = str(problem)
    assert shown == "in\\x1b[2Jput.csv:3: vpn_\\u202egroups: unknown group(s) \\x1b]0;x\\x07"
    assert "\x1b" not in str(InvalidInputError([problem]))
