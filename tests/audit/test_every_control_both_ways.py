"""Every control passes on a canned host that meets it and fails on one that does not,
for the reason its verdict names (tests/audit/canned/)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.audit.canned import Case, all_cases
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import Status

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_control_gives_its_verdict_on_the_canned_host(
    case: Case, catalogue: Catalogue, tmp_path: Path
) -> None:
    outcome = case.judge(catalogue, tmp_path)
    shown = "\n".join([outcome.summary, *outcome.details])
    assert outcome.status is case.expect, f"{case.control}: {outcome.status}: {shown}"
    assert case.says in shown


def test_every_control_of_the_catalogue_has_a_passing_and_a_failing_case(
    catalogue: Catalogue,
) -> None:
    covered = {(case.control, case.expect) for case in CASES}
    missing = [
        f"{control} {expect.value}"
        for control in sorted(catalogue.controls)
        for expect in (Status.PASS, Status.FAIL)
        if (control, expect) not in covered
    ]
    assert missing == []


def test_no_case_names_a_control_outside_the_catalogue_or_repeats_another(
    catalogue: Catalogue,
) -> None:
    assert {case.control for case in CASES} <= set(catalogue.controls)
    repeated = [name for name, count in Counter(case.id for case in CASES).items() if count > 1]
    assert repeated == []


def test_a_case_that_expects_a_warning_or_names_no_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="expects pass or fail"):
        Case("LNX-01", Status.WARN, "x", lambda _c, _p: None, "x")  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="names the text"):
        Case("LNX-01", Status.PASS, "x", lambda _c, _p: None, " ")  # type: ignore[arg-type,return-value]
