"""M17, A19: the roster's optional charter_signed_on column, the warning about an active
teleworker without a signed charter, and writing the dates back into the file as it was."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import HEADER, TODAY
from toolkit.errors import InvalidInputError
from toolkit.roster import Reference, load_roster
from toolkit.roster.charterdate import record_signatures

ROW_A = "a1,Amina,أمينة,a1@example.gov.ma,dsi,partial,mon,2026-09-01,DSI,laptop:a1,staff,active"
ROW_B = "b1,Badr,بدر,b1@example.gov.ma,dsi,partial,tue,2026-09-01,DSI,laptop:b1,staff,active"
ROW_R = "r1,Rita,ريتا,r1@example.gov.ma,dsi,partial,mon,,,,,revoked"


def test_an_active_teleworker_without_a_signed_charter_is_a_warning(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    path = write_file(f"{HEADER},charter_signed_on\n{ROW_A},2026-10-02\n{ROW_B},\n{ROW_R},\n")
    roster = load_roster(path, reference, today=TODAY)
    assert roster.by_id("a1").charter_signed_on == date(2026, 10, 2)
    assert [str(w) for w in roster.warnings] == [
        f"{path}:3: charter_signed_on: warning: no signed charter (M17, A19): "
        "`toolkit roster charter` makes and signs it"
    ]


def test_a_signature_date_in_the_future_is_an_error(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    path = write_file(f"{HEADER},charter_signed_on\n{ROW_A},2030-01-01\n")
    with pytest.raises(InvalidInputError, match="charter_signed_on: 2030-01-01 is in the future"):
        load_roster(path, reference, today=TODAY)


def test_recording_adds_the_column_and_keeps_every_other_byte(
    write_file: Callable[..., Path], reference: Reference
) -> None:
    path = write_file(f"{HEADER}\n{ROW_A}\n\n{ROW_B}\n{ROW_R}\n", bom=True, crlf=True)
    record_signatures(path, reference, {"b1": date(2026, 11, 20)}, today=TODAY)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig") == (
        f"{HEADER},charter_signed_on\r\n{ROW_A},\r\n\r\n{ROW_B},2026-11-20\r\n{ROW_R},\r\n"
    )
    record_signatures(path, reference, {"A1": date(2026, 11, 21)}, today=TODAY)
    roster = load_roster(path, reference, today=TODAY)
    assert roster.by_id("a1").charter_signed_on == date(2026, 11, 21)
    assert roster.by_id("b1").charter_signed_on == date(2026, 11, 20)
    assert roster.warnings == ()
