"""The day an audit judges on is one value of the host's context (Context.day): the ends
of life (LNX-02, VPN-01), a plan's age (BCK-05) and a personal computer's updates
(BYOD-*) are measured from it, so a report can be judged again as of a given day."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.audit.conftest import fake_context, params
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import Status
from toolkit.audit.registry import implementations

IMPL = implementations()
BOOKWORM = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


def lnx02_on(catalogue: Catalogue, day: date | None) -> tuple[Status, str]:
    ctx = fake_context({"os-release": BOOKWORM}, today=day)
    outcome = IMPL["LNX-02"].check(ctx, params(catalogue, "LNX-02"))
    return outcome.status, outcome.summary


def test_the_same_debian_12_passes_then_warns_then_fails_as_the_audits_day_moves_on(
    catalogue: Catalogue,
) -> None:
    assert lnx02_on(catalogue, date(2026, 11, 25))[0] is Status.PASS
    status, summary = lnx02_on(catalogue, date(2028, 6, 1))
    assert status is Status.WARN and summary.endswith("(29 days)")
    status, summary = lnx02_on(catalogue, date(2028, 7, 1))
    assert status is Status.FAIL and "reached its end of life on 2028-06-30" in summary


def test_a_context_without_a_day_judges_on_today_in_utc() -> None:
    assert fake_context({}).day() == datetime.now(UTC).date()
    assert fake_context({}, today=date(2027, 1, 2)).day() == date(2027, 1, 2)


def test_each_controls_view_of_the_host_keeps_the_audits_day() -> None:
    assert fake_context({}, today=date(2027, 1, 2)).for_control().day() == date(2027, 1, 2)
