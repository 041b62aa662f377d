"""Role vpn_gateway's side of the teleworker portal (A4, E23, A13): the gate learns each
peer's owner, addresses, groups and schedule from the roster's export (the schedule as the
roster model gives it, never parsed again in Ansible), and the VPN's table lets a gated
group's traffic through only from devices in its open_ sets; the other groups keep the
policy they had. The rendered table is checked by nft itself (``nft -c``: nothing loaded)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jinja2
import pytest
from ansible.plugins.filter.core import FilterModule
from ansible.plugins.test.core import TestModule

from tests.conftest import REPO
from tests.unit.test_vpn_allocation import NET, F, worker
from tests.unit.test_vpn_peer_plan import keys


def test_the_gate_gets_each_peers_owner_addresses_groups_and_schedule(tmp_path: Path) -> None:
    folder = keys(tmp_path, "lt-1", "lt-2")
    roster = [
        worker("AG0001", "lt-1", schedule="tue 08:30-12:30|fri", groups=("staff", "finance")),
        worker("ag0002", "lt-2", schedule="2026-03-16..2026-04-30: mon-fri"),
        worker("ag0003", "lt-3", schedule="mon", groups=("finance",)),  # no key yet: not a peer
    ]
    plan = F.peer_plan(
        roster, "", keys_dir=folder, network_v4=NET, network_v6="fd77::/64",
        today="2026-11-25", groups=["staff", "finance"], table="telework_vpn",
    )  # fmt: skip
    peers = json.loads(plan["portal_peers_json"])
    assert peers == [
        {
            "user": "ag0001",
            "device": "lt-1",
            "groups": ["finance", "staff"],
            "address_v4": "10.77.0.2",
            "address_v6": "fd77::2",
            "schedule": {
                "regular": [
                    {"days": [1], "spans": [[510, 750]]},
                    {"days": [4], "spans": [[0, 1440]]},
                ],
                "overrides": [],
            },
        },
        {
            "user": "ag0002",
            "device": "lt-2",
            "groups": ["staff"],
            "address_v4": "10.77.0.3",
            "address_v6": "fd77::3",
            "schedule": {
                "regular": [],
                "overrides": [
                    {
                        "days": [0, 1, 2, 3, 4],
                        "spans": [[0, 1440]],
                        "start": "2026-03-16",
                        "end": "2026-04-30",
                    }
                ],
            },
        },
    ]
    assert "name_latin" not in plan["portal_peers_json"]  # nothing else about the person


def render_firewall(tmp_path: Path, **changes: Any) -> str:
    env = jinja2.Environment(  # noqa: S701 (an nft file, as Ansible renders it)
        loader=jinja2.FileSystemLoader(REPO / "roles/vpn_gateway/templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
    )
    env.filters.update(FilterModule().filters())
    env.tests.update(TestModule().tests())
    variables: dict[str, Any] = {
        "ansible_managed": "Ansible managed",
        "__vpn_gateway_table": "telework_vpn",
        "__vpn_gateway_groups": ["finance", "staff"],
        "__vpn_gateway_gated_groups": ["finance"],
        "__vpn_gateway_ipv6": True,
        "__vpn_gateway_address_v4": "10.77.0.1",
        "__vpn_gateway_address_v6": "fd77::1",
        "__vpn_gateway_sets_file": str(tmp_path / "peer-sets.nft"),
        "vpn_gateway_interface": "wg0",
        "vpn_gateway_group_services": {"finance": ["finance-app"], "staff": ["mail"]},
        "vpn_gateway_services": {
            "finance-app": {
                "addresses": ["192.0.2.10", "2001:db8::10"],
                "proto": "tcp",
                "ports": [8081],
            },
            "mail": {"addresses": ["192.0.2.20"], "proto": "tcp", "ports": [993]},
        },
        "vpn_gateway_throughput_port": 5201,
        "vpn_gateway_portal": True,
        "vpn_gateway_portal_port": 8443,
        "vpn_gateway_log_drops": True,
        "vpn_gateway_log_rate": "10/minute",
        "vpn_gateway_masquerade": False,
        "vpn_gateway_network_v4": "10.77.0.0/20",
        "vpn_gateway_network_v6": "fd77::/64",
    }
    text = env.get_template("etc/telework/vpn_gateway/firewall.nft.j2").render(
        **(variables | changes)
    )
    (tmp_path / "peer-sets.nft").write_text("")
    return text


def rule(text: str, comment: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if f'comment "{comment}"' in line]


def test_a_gated_group_passes_only_from_devices_with_an_open_working_session(
    tmp_path: Path,
) -> None:
    text = render_firewall(tmp_path)
    assert "set open_finance_v4 { type ipv4_addr; flags timeout; }" in text
    assert "set open_finance_v6 { type ipv6_addr; flags timeout; }" in text
    assert "open_staff" not in text
    assert rule(text, "finance: finance-app") == [
        "ip saddr @peers_finance_v4 ip saddr @open_finance_v4 ip daddr { 192.0.2.10 } "
        'tcp dport { 8081 } accept comment "finance: finance-app"',
        "ip6 saddr @peers_finance_v6 ip6 saddr @open_finance_v6 ip6 daddr { 2001:db8::10 } "
        'tcp dport { 8081 } accept comment "finance: finance-app"',
    ]
    assert rule(text, "staff: mail") == [
        "ip saddr @peers_staff_v4 ip daddr { 192.0.2.20 } "
        'tcp dport { 993 } accept comment "staff: mail"'
    ]
    assert rule(text, "teleworker portal") == [
        'ip daddr 10.77.0.1 tcp dport 8443 accept comment "teleworker portal"',
        'ip6 daddr fd77::1 tcp dport 8443 accept comment "teleworker portal"',
    ]


def test_without_the_portal_no_group_is_gated_and_its_port_stays_closed(tmp_path: Path) -> None:
    text = render_firewall(tmp_path, vpn_gateway_portal=False, __vpn_gateway_gated_groups=[])
    assert "@open_" not in text
    assert "set open_" not in text
    assert "teleworker portal" not in text
    assert rule(text, "finance: finance-app")[0].startswith(
        "ip saddr @peers_finance_v4 ip daddr { 192.0.2.10 }"
    )


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft is not installed")
def test_nft_accepts_the_gated_table(tmp_path: Path) -> None:
    path = tmp_path / "firewall.nft"
    path.write_text(render_firewall(tmp_path))
    checked = subprocess.run(
        ["nft", "-c", "-f", str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    assert checked.returncode == 0, checked.stderr
