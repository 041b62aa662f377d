"""The roster as HR exports it: formats accepted, and every kind of error reported as
FILE:LINE: field: message with nothing applied."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import HEADER, REPO, TODAY
from toolkit.errors import InvalidInputError, Severity
from toolkit.roster import Reference, load_environment_roster, load_roster
from toolkit.roster.model import DeviceKind, Mode, Status

GOOD_ROW = "z9,Zineb Fassi,زينب الفاسي,zineb@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,laptop:lt-9,staff,active"


def _errors(path: Path, reference: Reference) -> list[str]:
    with pytest.raises(InvalidInputError) as caught:
        load_roster(path, reference, today=TODAY)
    return [str(p) for p in caught.value.problems if p.severity is Severity.ERROR]


def _one_error(write_file: Callable[..., Path], reference: Reference, row: str) -> str:
    path = write_file(f"{HEADER}\n{GOOD_ROW}\n{row}\n")
    errors = _errors(path, reference)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{path}:3: ")
    return errors[0].removeprefix(f"{path}:3: ")


def test_a_good_roster_loads_every_column(
    write_file: Callable[..., Path], reference: Reference, good_roster_text: str
) -> None:
    roster = load_roster(write_file(good_roster_text), reference, today=TODAY)
    assert [t.id for t in roster.teleworkers] == ["a1", "a2", "a3", "a4"]
    youssef = roster.by_id("A2")
    assert youssef.name_arabic == "يوسف الإدريسي"
    assert youssef.approved_on is not None and youssef.approved_on.isoformat() == "2026-09-01"
    assert [(d.kind, d.name) for d in youssef.equipment] == [
        (DeviceKind.LAPTOP, "lt-2"),
        (DeviceKind.PHONE, "ph-2"),
    ]
    assert youssef.vpn_groups == ("staff", "finance")
    assert roster.by_id("a3").mode is Mode.FULL
    assert roster.by_id("a4").status is Status.REVOKED
    assert [t.id for t in roster.active()] == ["a1", "a2", "a3"]


@pytest.mark.parametrize("bom", [False, True], ids=["no-bom", "bom"])
@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("separator", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_hr_exports_with_bom_semicolons_crlf_and_spaces_are_accepted(
    write_file: Callable[..., Path],
    reference: Reference,
    good_roster_text: str,
    bom: bool,
    crlf: bool,
    separator: str,
) -> None:
    import csv
    import io

    rows = list(csv.reader(io.StringIO(good_roster_text)))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\n")
    for row in rows:
        writer.writerow([f"  {cell} " if cell else cell for cell in row])  # padded cells
    text = "\n" + out.getvalue() + "\n\n"  # blank lines before and after
    roster = load_roster(write_file(text, bom=bom, crlf=crlf), reference, today=TODAY)
    assert [t.id for t in roster.teleworkers] == ["a1", "a2", "a3", "a4"]
    assert roster.by_id("a1").name_arabic == "أمينة بنعلي"
    assert roster.by_id("a1").schedule.regular_days() == {0, 3}
    assert roster.by_id("a2").line == 4  # blank first line counted


def test_column_names_are_matched_whatever_their_case_and_spacing(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    header = HEADER.replace("name_latin", " Name Latin ").replace("vpn_groups", "VPN-Groups")
    roster = load_roster(write_file(f"{header}\n{GOOD_ROW}\n"), reference, today=TODAY)
    assert roster.by_id("z9").name_latin == "Zineb Fassi"


def test_a_quoted_value_spanning_two_lines_is_refused_on_its_row_start_line(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    text = (
        f'{HEADER},eligible_tasks\n{GOOD_ROW},"Saisie\net contrôle"\n'
        "b2,B,ب,b2@example.gov.ma,nowhere,partial,mon,2026-09-01,DSI,laptop:b2,staff,active,x\n"
    )
    path = write_file(text)
    assert _errors(path, reference) == [
        f"{path}:2: eligible_tasks: contains U+000A: write the value on one line, "
        "without control, line-separator or bidi characters",
        f"{path}:4: unit: unknown unit 'nowhere' (declared: dsi, finance)",
    ]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            "a!,X,س,x@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,laptop:x1,staff,active",
            "id: 'a!' is not an id",
        ),
        (
            ",X,س,x@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,laptop:x1,staff,active",
            "id: missing value",
        ),
        (
            "x1,,س,x@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,laptop:x1,staff,active",
            "name_latin: missing value",
        ),
        (
            "x1,X,Xavier,x@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,laptop:x1,staff,active",
            "name_arabic: 'Xavier' is not written in Arabic script",
        ),
        (
            "x1,X,س,x@@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,laptop:x1,staff,active",
            "email: 'x@@example.gov.ma' is not an e-mail address",
        ),
        (
            "x1,X,س,x@gmail.com,dsi,partial,mon,2026-09-01,DSI,laptop:x1,staff,active",
            "email: x@gmail.com is not in the administration's mail domains (example.gov.ma) (M2)",
        ),
        (
            "x1,X,س,x@example.gov.ma,legal,partial,mon,2026-09-01,DSI,laptop:x1,staff,active",
            "unit: unknown unit 'legal' (declared: dsi, finance)",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,sometimes,mon,2026-09-01,DSI,laptop:x1,staff,active",
            "mode: 'sometimes' is not one of partial, full",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,partial,lundi,2026-09-01,DSI,laptop:x1,staff,active",
            "schedule: 'lundi' is not a day",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,partial,,2026-09-01,DSI,laptop:x1,staff,active",
            "schedule: partial telework needs a schedule of days or hours (C2)",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,partial,mon-fri,2026-09-01,DSI,laptop:x1,staff,active",
            "schedule: covers every working day in full: that is mode full (C1)",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,full,mon,2026-09-01,DSI,laptop:x1,staff,active",
            "schedule: mode is full but the schedule does not cover every working day (C1)",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,partial,sat,2026-09-01,DSI,laptop:x1,staff,active",
            "schedule: sat not a working day",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,partial,mon,,DSI,laptop:x1,staff,active",
            "approved_on: missing approval date: telework needs prior approval (E1)",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,partial,mon,2026-09-01,,laptop:x1,staff,active",
            "approved_by: missing approver: telework needs prior approval (E1)",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,partial,mon,2026-31-12,DSI,laptop:x1,staff,active",
            "approved_on: '2026-31-12' is not a date",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,partial,mon,2027-01-05,DSI,laptop:x1,staff,active",
            "approved_on: 2027-01-05 is in the future",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,tablet:x1,staff,active",
            "equipment: 'tablet' is not a device kind",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,lt-x1,staff,active",
            "equipment: 'lt-x1' is not KIND:NAME",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,laptop:a_b,staff,active",
            "equipment: 'a_b' is not a device name",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,laptop:x1,staff hr,active",
            "vpn_groups: unknown group(s) hr (declared: finance, staff)",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,laptop:x1,staff,on",
            "status: 'on' is not one of active, revoked",
        ),
        (
            "Z9,X,س,x@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,laptop:x1,staff,active",
            "id: z9 already used on line 2",
        ),
        (
            "x1,X,س,ZINEB@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,laptop:x1,staff,active",
            "email: zineb@example.gov.ma already used on line 2",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,laptop:LT-9,staff,active",
            "equipment: lt-9 already used on line 2",
        ),
        (
            "x1,X\x07,س,x@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,laptop:x1,staff,active",
            "name_latin: contains U+0007: write the value on one line",
        ),
        (
            "x1,X,س,x@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,laptop:x1,staff,active,extra",
            "-: 13 values for 12 columns",
        ),
    ],
)
def test_each_kind_of_error_names_the_file_line_and_field(
    write_file: Callable[..., Path], reference: Reference, row: str, expected: str
) -> None:
    assert _one_error(write_file, reference, row).startswith(expected)


def test_every_error_of_a_file_is_reported_at_once(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    text = (
        f"{HEADER}\n"
        "x1,X,س,bad,dsi,partial,mon,2026-09-01,DSI,laptop:x1,staff,active\n"
        "x2,X,س,x2@example.gov.ma,nope,partial,mon,2026-09-01,DSI,laptop:x2,staff,active\n"
    )
    path = write_file(text)
    assert _errors(path, reference) == [
        f"{path}:2: email: 'bad' is not an e-mail address",
        f"{path}:3: unit: unknown unit 'nope' (declared: dsi, finance)",
    ]


def test_a_revoked_teleworker_needs_no_approval_or_device(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    row = "r1,R,ر,r1@example.gov.ma,dsi,partial,mon,,,,,revoked"
    roster = load_roster(write_file(f"{HEADER}\n{row}\n"), reference, today=TODAY)
    assert roster.by_id("r1").status is Status.REVOKED
    assert roster.warnings == ()


def test_m7_an_active_teleworker_without_device_is_a_warning_not_an_error(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    row = "w1,W,و,w1@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,,staff,active"
    path = write_file(f"{HEADER}\n{row}\n")
    roster = load_roster(path, reference, today=TODAY)
    assert [str(w) for w in roster.warnings] == [
        f"{path}:2: equipment: warning: no device: this teleworker cannot connect to the VPN (M7)"
    ]


def test_c7_an_empty_eligible_tasks_column_is_a_warning(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    path = write_file(f"{HEADER},eligible_tasks\n{GOOD_ROW},\n")
    roster = load_roster(path, reference, today=TODAY)
    assert [w.field for w in roster.warnings] == ["eligible_tasks"]


def test_more_active_teleworkers_than_a_units_staff_is_an_error(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    rows = [
        f"f{i},F,ف,f{i}@example.gov.ma,finance,partial,mon,2026-09-01,C,,staff,active"
        for i in range(5)
    ]
    path = write_file("\n".join([HEADER, *rows]) + "\n")
    assert _errors(path, reference) == [
        f"{path}:6: unit: more active teleworkers in finance than its staff (4)"
    ]


def test_a_missing_column_is_reported_on_the_header_line(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    path = write_file(HEADER.replace(",status", "") + "\n")
    assert _errors(path, reference) == [f"{path}:1: status: required column is missing"]


def test_a_column_given_twice_is_reported(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    path = write_file(HEADER + ",email\n")
    assert _errors(path, reference) == [f"{path}:1: email: column appears twice"]


def test_an_empty_file_is_reported(write_file: Callable[..., Path], reference: Reference) -> None:
    path = write_file("\n\n")
    assert _errors(path, reference)[0].startswith(f"{path}:1: -: empty file")


def test_a_file_not_in_utf8_names_the_line_and_the_fix(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    text = f"{HEADER}\n{GOOD_ROW}\n" + GOOD_ROW.replace("Zineb", "Zinéb").replace("z9", "z8")
    path = write_file(text.replace("زينب الفاسي", "x"), encoding="latin-1")
    assert _errors(path, reference) == [
        f"{path}:3: -: not UTF-8 (byte 0xe9); export the sheet as 'CSV UTF-8'"
    ]


def test_a_missing_file_is_an_input_error(tmp_path: Path, reference: Reference) -> None:
    errors = _errors(tmp_path / "absent.csv", reference)
    assert errors == [f"{tmp_path / 'absent.csv'}:1: -: cannot read: No such file or directory"]


def test_the_lab_roster_shipped_in_the_repository_is_valid() -> None:
    roster = load_environment_roster(REPO / "inventories" / "lab", today=TODAY)
    assert len(roster.active()) >= 3
    assert {t.unit for t in roster.teleworkers} <= set(roster.reference.units)
