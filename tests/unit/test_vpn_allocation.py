"""Role vpn_gateway's address allocation (its filter plugin): addresses never move when
other devices come and go, revoked devices keep theirs reserved, only active and approved
teleworkers' devices get one."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import REPO
from tests.loading import load_module
from toolkit.roster.model import Device, DeviceKind, Mode, Status, Teleworker
from toolkit.roster.schedule import parse_schedule

NET = "10.77.0.0/20"


def _plugin() -> ModuleType:
    path = REPO / "roles" / "vpn_gateway" / "filter_plugins" / "vpn_gateway.py"
    return load_module(path, "vpn_gateway_filters")


F = _plugin()


def worker(
    ident: str,
    *devices: str,
    status: str = "active",
    approved: bool = True,
    schedule: str = "",
    groups: tuple[str, ...] = ("staff",),
) -> dict[str, Any]:
    """A row as the telework_roster vars plugin exports it: ``eligible`` decided by the
    roster model from the status and the approval."""
    return Teleworker(
        id=ident,
        name_latin=ident,
        name_arabic="",
        email=f"{ident}@lab.telework.test",
        unit="dsi",
        mode=Mode.FULL,
        schedule=parse_schedule(schedule),
        approved_on=date(2026, 9, 1) if approved else None,
        approved_by="DSI" if approved else "",
        equipment=tuple(Device(DeviceKind.LAPTOP, d) for d in devices),
        vpn_groups=groups,
        status=Status(status),
    ).as_vars()


def test_the_role_trusts_the_models_eligible_flag_and_not_status_or_approval() -> None:
    looks_fine = {**worker("a1", "lt-1"), "eligible": False}
    not_exported = {k: v for k, v in worker("a2", "lt-2").items() if k != "eligible"}
    decided = {**worker("a3", "lt-3", status="revoked"), "eligible": True}
    assert [d["device"] for d in F.devices([looks_fine, not_exported, decided])] == ["lt-3"]


def addresses(state: dict[str, Any]) -> dict[str, str]:
    return {
        name: F.address(entry["index"], NET)
        for name, entry in state["devices"].items()
        if entry["state"] == "active"
    }


def test_only_devices_of_active_and_approved_teleworkers_are_listed() -> None:
    roster = [
        worker("a1", "lt-1", "ph-1"),
        worker("a2", "lt-2", status="revoked"),
        worker("a3", "lt-3", approved=False),
    ]
    assert [d["device"] for d in F.devices(roster)] == ["lt-1", "ph-1"]


def test_addresses_do_not_move_when_devices_are_added_or_removed() -> None:
    first = F.allocate({}, F.devices([worker("a1", "lt-1"), worker("a2", "lt-2")]), NET)
    before = addresses(first)
    second = F.allocate(
        first, F.devices([worker("a0", "aa-new"), worker("a2", "lt-2")]), NET, today="2026-11-23"
    )
    after = addresses(second)
    assert after["lt-2"] == before["lt-2"]
    assert after["aa-new"] not in before.values()
    assert second["devices"]["lt-1"] == {
        **first["devices"]["lt-1"],
        "state": "retired",
        "changed_on": "2026-11-23",
    }


def test_a_returning_device_gets_its_old_address_back() -> None:
    first = F.allocate({}, F.devices([worker("a1", "lt-1"), worker("a2", "lt-2")]), NET)
    gone = F.allocate(first, F.devices([worker("a2", "lt-2")]), NET)
    back = F.allocate(gone, F.devices([worker("a1", "lt-1"), worker("a2", "lt-2")]), NET)
    assert addresses(back) == addresses(first)


def test_the_gateway_keeps_the_first_address_and_the_same_input_gives_the_same_state() -> None:
    wanted = F.devices([worker("a1", "lt-1", "ph-1")])
    state = F.allocate({}, wanted, NET)
    assert F.address(1, NET) == "10.77.0.1"
    assert sorted(addresses(state).values()) == ["10.77.0.2", "10.77.0.3"]
    assert F.allocate(state, wanted, NET) == state


def test_a_full_network_reuses_the_longest_retired_address_then_refuses() -> None:
    small = "10.9.0.0/29"  # indexes 2..6
    state = F.allocate({}, F.devices([worker("a1", *[f"d{i}" for i in range(5)])]), small)
    state = F.allocate(
        state, F.devices([worker("a1", "d1", "d2", "d3", "d4")]), small, today="2026-01-01"
    )
    state = F.allocate(
        state, F.devices([worker("a1", "d1", "d2", "d3", "d4", "e9")]), small, today="2026-02-01"
    )
    assert state["devices"]["e9"]["index"] == 2
    assert "d0" not in state["devices"]
    with pytest.raises(F.AnsibleFilterError, match="is full"):
        F.allocate(state, F.devices([worker("a1", "d1", "d2", "d3", "d4", "e9", "f1")]), small)


def test_client_keys_keep_only_devices_with_two_valid_keys(tmp_path: Path) -> None:
    good = "k" * 42 + "A="
    (tmp_path / "lt-1.pub").write_text(good + "\n")
    (tmp_path / "lt-1.psk").write_text(good + "\n")
    (tmp_path / "lt-2.pub").write_text(good + "\n")  # no preshared key
    (tmp_path / "lt-3.pub").write_text("not a key\n")
    (tmp_path / "lt-3.psk").write_text(good + "\n")
    wanted = F.devices([worker("a1", "lt-1", "lt-2", "lt-3")])
    assert F.client_keys(wanted, str(tmp_path)) == {"lt-1": {"public": good, "psk": good}}
