"""One rule and one folder for the teleworkers' VPN: who is eligible (active and approved)
is decided by the roster model alone, and the devices' keys folder is one variable that
every user of it reads."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from toolkit.roster.model import Mode, Status, Teleworker
from toolkit.roster.schedule import parse_schedule
from toolkit.vpn.layout import KEYS_DIR, KEYS_DIR_VARIABLE

ROLE_KEYS_DIRS = {"vpn_gateway": "vpn_gateway_keys_dir", "vpn_client": "vpn_client_keys_dir"}


def teleworker(status: Status, approved_on: date | None, approved_by: str) -> Teleworker:
    return Teleworker(
        id="a1",
        name_latin="A",
        name_arabic="",
        email="a1@lab.telework.test",
        unit="dsi",
        mode=Mode.FULL,
        schedule=parse_schedule(""),
        approved_on=approved_on,
        approved_by=approved_by,
        equipment=(),
        vpn_groups=(),
        status=status,
    )


@pytest.mark.parametrize(
    ("status", "approved_on", "approved_by", "refusal"),
    [
        (Status.ACTIVE, date(2026, 9, 1), "DSI", None),
        (Status.REVOKED, date(2026, 9, 1), "DSI", "telework revoked (C5)"),
        (Status.ACTIVE, None, "DSI", "no approval in the roster (E1)"),
        (Status.ACTIVE, date(2026, 9, 1), "", "no approval in the roster (E1)"),
    ],
)
def test_only_an_active_and_approved_teleworker_is_eligible_and_ansible_gets_the_verdict(
    status: Status, approved_on: date | None, approved_by: str, refusal: str | None
) -> None:
    worker = teleworker(status, approved_on, approved_by)
    assert worker.refusal() == refusal
    assert worker.eligible is (refusal is None)
    assert worker.as_vars()["eligible"] is (refusal is None)


def test_every_role_reads_the_keys_folder_from_the_one_variable_the_toolkit_names() -> None:
    fallback = f"{{{{ {KEYS_DIR_VARIABLE} | default(inventory_dir ~ '/{KEYS_DIR}') }}}}"
    for role, variable in ROLE_KEYS_DIRS.items():
        defaults = yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text())
        assert defaults[variable] == fallback, role


def test_no_python_file_spells_the_keys_folder_itself() -> None:
    users = [REPO / "toolkit" / "vpn" / "bundle.py", REPO / "toolkit" / "controls" / "vpn.py"]
    for path in users:
        text = path.read_text(encoding="utf-8")
        assert "KEYS_DIR" in text
        assert '".vpn"' not in text and "'.vpn'" not in text, path
    assert Path(".vpn/keys") == KEYS_DIR
