"""The reference data in group_vars/all/telework.yml: errors name the file, line and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from toolkit.errors import InvalidInputError
from toolkit.roster import load_reference
from toolkit.roster.schedule import Span


def _problems(path: Path) -> list[str]:
    with pytest.raises(InvalidInputError) as caught:
        load_reference(path)
    return [str(p) for p in caught.value.problems]


def test_defaults_are_monday_to_friday_office_hours(write_file: Callable[..., Path]) -> None:
    path = write_file("telework_units:\n  dsi: {name: DSI, staff: 3, min_onsite: 1}\n", "t.yml")
    ref = load_reference(path)
    assert ref.workdays == ("mon", "tue", "wed", "thu", "fri")
    assert ref.office_span == Span(510, 990)
    assert ref.units["dsi"].min_onsite == 1


def test_c3_a_minimum_above_the_staff_is_reported_on_its_line(
    write_file: Callable[..., Path],
) -> None:
    path = write_file(
        "---\ntelework_units:\n  dsi:\n    name: DSI\n    staff: 3\n    min_onsite: 1\n"
        "  rh:\n    name: RH\n    staff: 2\n    min_onsite: 5\n",
        "t.yml",
    )
    assert _problems(path) == [f"{path}:7: telework_units.rh: min_onsite (5) exceeds staff (2)"]


def test_a_wrong_value_and_an_unknown_key_name_their_lines(
    write_file: Callable[..., Path],
) -> None:
    path = write_file(
        "telework_workdays: [mon, lundi]\n"
        "telework_units:\n  dsi: {name: DSI, staff: zero, min_onsite: 1}\n"
        "telework_vpn_group: {}\n",
        "t.yml",
    )
    assert _problems(path) == [
        f"{path}:1: telework_workdays: unknown day(s) lundi; use mon, tue, wed, thu, fri, sat, sun",
        f"{path}:3: telework_units.dsi.staff: Input should be a valid integer, unable to parse "
        "string as an integer",
        f"{path}:4: telework_vpn_group: Extra inputs are not permitted",
    ]


def test_office_hours_must_be_one_span(write_file: Callable[..., Path]) -> None:
    path = write_file("telework_office_hours: 8-16\ntelework_units: {}\n", "t.yml")
    assert _problems(path)[0].startswith(f"{path}:1: telework_office_hours: '8-16' is not a time")


def test_broken_yaml_names_its_line(write_file: Callable[..., Path]) -> None:
    path = write_file("telework_units:\n  dsi: [\n", "t.yml")
    assert _problems(path)[0].startswith(f"{path}:3: -: YAML:")


def test_the_units_are_required(write_file: Callable[..., Path]) -> None:
    path = write_file("telework_workdays: [mon]\n", "t.yml")
    assert _problems(path) == [f"{path}:1: telework_units: Field required"]
