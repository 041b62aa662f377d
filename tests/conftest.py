"""Shared fixtures: reference data, roster files written the way HR exports them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from tests.lanes import GroupIds, Lanes, check_distribution
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


def pytest_configure(config: pytest.Config) -> None:
    """The suite's lanes (pytest-xdist groups) and its end-of-run table of times."""
    check_distribution(config)
    config.pluginmanager.register(Lanes(config), "telework-lanes")
    config.pluginmanager.register(GroupIds(), "telework-lanes-group-ids")
