"""Shared fixtures: reference data, roster files written the way HR exports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from toolkit.roster import Reference, load_reference

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent
TODAY = date(2026, 11, 23)

HEADER = (
    "id,name_latin,name_arabic,email,unit,mode,schedule,approved_on,approved_by,"
    "equipment,vpn_groups,status"
)


@pytest.fixture
def reference() -> Reference:
    return load_reference(FIXTURES / "telework.yml")


@pytest.fixture
def good_roster_text() -> str:
    return (FIXTURES / "roster-good.csv").read_text(encoding="utf-8")


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """Write text to a file in tmp_path with a given encoding, BOM and line ends."""

    def write(
        text: str,
        name: str = "roster.csv",
        *,
        bom: bool = False,
        crlf: bool = False,
        encoding: str = "utf-8",
    ) -> Path:
        if crlf:
            text = text.replace("\n", "\r\n")
        data = text.encode(encoding)
        if bom:
            data = b"\xef\xbb\xbf" + data
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


@pytest.fixture
def env_dir(tmp_path: Path, good_roster_text: str) -> Path:
    """An inventory folder with hosts, reference data and a good roster."""
    inv = tmp_path / "inventory"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "group_vars" / "all" / "telework.yml").write_text(
        (FIXTURES / "telework.yml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (inv / "hosts.yml").write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
    )
    (inv / "roster.csv").write_text(good_roster_text, encoding="utf-8")
    return inv


# The time of every slow test (Molecule scenarios, lab tests), printed at the end of the
# run so the CI budget (60 of CI's 90 minutes on 2 cores) can be followed scenario by
# scenario as roles are added.
_SLOW_MARKERS = ("molecule", "lab")


@dataclass
class _Timing:
    outcome: str = "passed"
    seconds: float = 0.0


_slow_times: dict[str, _Timing] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Adds up setup, call and teardown (a lab's bring-up sits in a fixture's setup)."""
    if not any(m in report.keywords for m in _SLOW_MARKERS):
        return
    timing = _slow_times.setdefault(report.nodeid, _Timing())
    timing.seconds += report.duration
    if report.outcome != "passed" and timing.outcome == "passed":
        timing.outcome = report.outcome


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _slow_times:
        return
    terminalreporter.section("time of each Molecule scenario and lab test")
    width = max(len(n) for n in _slow_times)
    rows = [(n, t.outcome, t.seconds) for n, t in _slow_times.items()]
    rows.append(("total", "", sum(t.seconds for t in _slow_times.values())))
    for name, outcome, seconds in rows:
        minutes, secs = divmod(round(seconds), 60)
        terminalreporter.write_line(f"{name:<{width}}  {outcome:<7} {minutes:3d} min {secs:02d} s")
