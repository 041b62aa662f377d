"""Role vpn_gateway's peer plan (filter vpn_gateway_peer_plan): the whole per-peer work of
tasks/peers.yml in one call, given back as the text of the files it writes. A revoked
teleworker's devices leave the WireGuard configuration and the access sets (C5) while
their addresses stay reserved; the files are what Ansible's own JSON filter writes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from ansible.plugins.filter.core import to_nice_json

from tests.unit.test_vpn_allocation import NET, F, worker

TABLE = "telework_vpn"


def keys(folder: Path, *devices: str) -> str:
    for i, device in enumerate(devices):
        (folder / f"{device}.pub").write_text(f"{chr(65 + i)}" * 42 + "A=\n")
        (folder / f"{device}.psk").write_text(f"{chr(97 + i)}" * 42 + "A=\n")
    return str(folder)


def plan(roster: list[dict[str, Any]], keys_dir: str, state: str = "") -> dict[str, Any]:
    return F.peer_plan(  # type: ignore[no-any-return]
        roster,
        state,
        keys_dir=keys_dir,
        network_v4=NET,
        network_v6="",
        today="2026-11-25",
        groups=["staff", "finance"],
        table=TABLE,
    )


def as_slurp(allocation_json: str) -> str:
    return base64.b64encode(allocation_json.encode()).decode()


def test_a_revoked_teleworkers_key_leaves_the_configuration_and_the_sets(tmp_path: Path) -> None:
    folder = keys(tmp_path, "lt-1", "lt-2")
    before = plan([worker("a1", "lt-1"), worker("a2", "lt-2")], folder)
    assert before["peers"] == 2
    revoked = [worker("a1", "lt-1"), worker("a2", "lt-2", status="revoked")]
    after = plan(revoked, folder, as_slurp(before["allocation_json"]))
    lt2_key = "B" * 42 + "A="
    assert lt2_key in before["peers_conf"]
    assert lt2_key not in after["peers_conf"]
    assert after["peers"] == 1
    assert "add element inet telework_vpn peers_staff_v4 { 10.77.0.2 }" in after["sets_nft"]
    assert "10.77.0.3" not in after["sets_nft"]
    kept = json.loads(after["allocation_json"])["devices"]["lt-2"]
    assert kept == {"index": 3, "teleworker": "a2", "state": "retired", "changed_on": "2026-11-25"}


def test_each_peer_has_its_preshared_key_address_and_a_one_line_comment(tmp_path: Path) -> None:
    folder = keys(tmp_path, "lt-1")
    text = plan([worker("a1\u2028[Interface]", "lt-1")], folder)["peers_conf"]
    assert text == (
        "\n[Peer]\n# a1 [Interface] lt-1 (laptop; groups: staff)\n"
        f"PublicKey = {'A' * 42}A=\nPresharedKey = {'a' * 42}A=\nAllowedIPs = 10.77.0.2/32\n"
    )


def test_a_group_without_peers_is_flushed_and_gets_no_element(tmp_path: Path) -> None:
    sets = plan([worker("a1", "lt-1")], keys(tmp_path, "lt-1"))["sets_nft"]
    assert sets.splitlines() == [
        "table inet telework_vpn {",
        "  set peers_finance_v4 { type ipv4_addr; }",
        "  set peers_finance_v6 { type ipv6_addr; }",
        "  set peers_staff_v4 { type ipv4_addr; }",
        "  set peers_staff_v6 { type ipv6_addr; }",
        "}",
        "flush set inet telework_vpn peers_finance_v4",
        "flush set inet telework_vpn peers_finance_v6",
        "flush set inet telework_vpn peers_staff_v4",
        "flush set inet telework_vpn peers_staff_v6",
        "add element inet telework_vpn peers_staff_v4 { 10.77.0.2 }",
    ]


def test_devices_without_keys_wait_and_get_no_peer(tmp_path: Path) -> None:
    result = plan([worker("a1", "lt-1"), worker("a2", "lt-9")], keys(tmp_path, "lt-1"))
    assert result["waiting"] == ["lt-9"]
    assert result["peers"] == 1


def test_the_files_are_written_as_ansibles_to_nice_json_writes_them(tmp_path: Path) -> None:
    result = plan([worker("a1", "lt-1")], keys(tmp_path, "lt-1"))
    allocation = json.loads(result["allocation_json"])
    assert result["allocation_json"] == to_nice_json(allocation)
    settings = {"gateway": "gw1", "port": 51820, "dns": ["10.0.0.53"]}
    export = F.export_json(settings, result["devices_json"])
    assert export == to_nice_json({**settings, "devices": json.loads(result["devices_json"])})
    assert json.loads(export)["devices"]["lt-1"]["address_v4"] == "10.77.0.2"


def test_a_second_run_on_the_kept_allocation_gives_the_same_files(tmp_path: Path) -> None:
    folder = keys(tmp_path, "lt-1", "lt-2")
    roster = [worker("a1", "lt-1"), worker("a2", "lt-2")]
    first = plan(roster, folder)
    assert plan(roster, folder, as_slurp(first["allocation_json"])) == first


def test_an_allocation_that_is_not_json_is_refused(tmp_path: Path) -> None:
    with pytest.raises(F.AnsibleFilterError, match="not JSON"):
        plan([worker("a1", "lt-1")], str(tmp_path), as_slurp("{broken"))
