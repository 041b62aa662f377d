"""`toolkit roster revoke` ends one teleworker's telework in the roster (C5): one row
changes, the file keeps its shape, the reason is journaled, bad input changes nothing."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import TODAY
from toolkit.errors import InvalidInputError
from toolkit.roster import Reference, load_roster
from toolkit.roster.model import Status
from toolkit.roster.revoke import JOURNAL_FILE, revoke


@pytest.mark.parametrize("bom", [False, True], ids=["no-bom", "bom"])
@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_revoking_changes_only_the_status_of_that_row_and_keeps_bom_and_line_ends(
    write_file: Callable[..., Path],
    reference: Reference,
    good_roster_text: str,
    bom: bool,
    crlf: bool,
) -> None:
    text = good_roster_text.replace(",", ";").replace('"mon;thu"', '"mon,thu"')
    path = write_file(text, bom=bom, crlf=crlf)
    before = path.read_bytes()

    done = revoke(path, reference, "A2", "Fin de la période de télétravail", today=TODAY)

    after = path.read_bytes()
    assert done.id == "a2" and not done.already_revoked
    assert [str(d) for d in done.equipment] == ["laptop:lt-2", "phone:ph-2"]
    assert after.startswith(b"\xef\xbb\xbf") is bom
    assert (b"\r\n" in after) is crlf
    changed = [
        (old, new)
        for old, new in zip(before.splitlines(), after.splitlines(), strict=True)
        if old != new
    ]
    assert changed == [
        (
            "a2;Youssef Idrissi;يوسف الإدريسي;youssef@example.gov.ma;finance;partial;"
            "tue 08:30-12:30|fri;01/09/2026;Chef;laptop:lt-2 phone:ph-2;staff finance;active".encode(),
            "a2;Youssef Idrissi;يوسف الإدريسي;youssef@example.gov.ma;finance;partial;"
            "tue 08:30-12:30|fri;01/09/2026;Chef;laptop:lt-2 phone:ph-2;staff finance;revoked".encode(),
        )
    ]
    assert load_roster(path, reference, today=TODAY).by_id("a2").status is Status.REVOKED


def test_the_reason_and_the_equipment_to_return_go_to_the_journal_beside_the_roster(
    write_file: Callable[..., Path], reference: Reference, good_roster_text: str
) -> None:
    path = write_file(good_roster_text)
    revoke(path, reference, "a2", "Demande de l'agent; retour au bureau", today=TODAY)
    revoke(path, reference, "a1", "Fin de mission", today=TODAY)

    with (path.parent / JOURNAL_FILE).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert [(r["id"], r["action"], r["reason"]) for r in rows] == [
        ("a2", "revoke", "Demande de l'agent; retour au bureau"),
        ("a1", "revoke", "Fin de mission"),
    ]
    assert rows[0]["equipment_to_return"] == "laptop:lt-2 phone:ph-2"
    assert rows[0]["when"].endswith("+00:00") and rows[0]["operator"]


def test_a_row_whose_quoted_value_holds_the_separator_is_rewritten_whole(
    write_file: Callable[..., Path], reference: Reference, good_roster_text: str
) -> None:
    # A value may no longer span lines (it is refused): a quoted separator is what is left.
    lines = good_roster_text.splitlines()
    lines[0] += ",eligible_tasks"
    lines[1] += ',"Exploitation, supervision"'
    path = write_file("\n".join(lines) + "\n")

    revoke(path, reference, "a1", "Fin de mission", today=TODAY)

    roster = load_roster(path, reference, today=TODAY)
    assert roster.by_id("a1").status is Status.REVOKED
    assert roster.by_id("a1").eligible_tasks == "Exploitation, supervision"
    assert [t.id for t in roster.active()] == ["a2", "a3"]


def test_revoking_twice_is_harmless_and_journals_once(
    write_file: Callable[..., Path], reference: Reference, good_roster_text: str
) -> None:
    path = write_file(good_roster_text)
    revoke(path, reference, "a3", "Fin de mission", today=TODAY)
    before = path.read_bytes()

    again = revoke(path, reference, "a3", "Fin de mission", today=TODAY)

    assert again.already_revoked
    assert path.read_bytes() == before
    journal = (path.parent / JOURNAL_FILE).read_text(encoding="utf-8").splitlines()
    assert len(journal) == 2  # header and one revocation


@pytest.mark.parametrize(
    ("ident", "reason", "expected"),
    [
        ("zz9", "Fin de mission", ":1: id: no teleworker 'zz9' in the roster"),
        ("a1", "   ", ":1: reason: give the reason telework ends (C5)"),
    ],
    ids=["unknown-id", "empty-reason"],
)
def test_bad_input_is_one_clear_error_and_the_roster_is_left_as_it_was(
    write_file: Callable[..., Path],
    reference: Reference,
    good_roster_text: str,
    ident: str,
    reason: str,
    expected: str,
) -> None:
    path = write_file(good_roster_text)
    before = path.read_bytes()
    with pytest.raises(InvalidInputError) as caught:
        revoke(path, reference, ident, reason, today=TODAY)
    assert [str(p) for p in caught.value.problems] == [f"{path}{expected}"]
    assert path.read_bytes() == before
    assert not (path.parent / JOURNAL_FILE).exists()


def test_an_invalid_roster_is_refused_before_any_edit(
    write_file: Callable[..., Path], reference: Reference, good_roster_text: str
) -> None:
    path = write_file(good_roster_text.replace("amina@example.gov.ma", "amina-at-example"))
    before = path.read_bytes()
    with pytest.raises(InvalidInputError) as caught:
        revoke(path, reference, "a2", "Fin de mission", today=TODAY)
    assert [p.field for p in caught.value.problems] == ["email"]
    assert path.read_bytes() == before
