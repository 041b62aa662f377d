"""The WireGuard configurations the roles write stay safe on their own: a value from the
roster or the gateway's export that holds a line break (of any kind) or a bidi override
lands on one comment line and can add no section or PostUp (roles/vpn_gateway and
roles/vpn_client render them without the toolkit package)."""

from __future__ import annotations

import base64
from types import ModuleType
from typing import Any

import jinja2
import pytest
from ansible.plugins.filter.core import FilterModule

from tests import wireguard
from tests.conftest import REPO
from tests.loading import load_module

KEY = "K" * 42 + "A="


def _filters() -> ModuleType:
    path = REPO / "roles" / "vpn_gateway" / "filter_plugins" / "vpn_gateway.py"
    return load_module(path, "vpn_gateway_filters")


FILTERS = _filters()
BREAKERS = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\u202e", "\t"]


def _render(role: str, **variables: Any) -> str:
    folder = REPO / "roles" / role / "templates"
    env = jinja2.Environment(  # noqa: S701 (config files, not HTML; as Ansible renders them)
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,  # Ansible's template module default
    )
    env.filters.update(FilterModule().filters())
    env.tests["contains"] = lambda seq, value: value in seq
    return env.get_template("etc/wireguard/wg.conf.j2").render(
        ansible_managed="Ansible managed", **variables
    )


def _gateway(teleworker: str, group: str) -> str:
    peer = {
        "teleworker": teleworker,
        "device": "ph-2",
        "kind": "phone",
        "groups": ["staff", group],
        "public_key": KEY,
        "address_v4": "10.77.0.5",
        "address_v6": "",
    }
    return _render(
        "vpn_gateway",
        __vpn_gateway_address_v4="10.77.0.1",
        __vpn_gateway_prefix_v4="20",
        __vpn_gateway_ipv6=False,
        vpn_gateway_port=51820,
        vpn_gateway_mtu=1420,
        __vpn_gateway_state={"private_key": KEY},
        __vpn_gateway_plan={"peers_conf": FILTERS.peer_section(peer, KEY, ipv6=False)},
    )


def _client(support: str, gateway: str) -> str:
    settings = {
        "gateway": gateway,
        "support_contact": support,
        "devices": {"lt-1": {"address_v4": "10.77.0.6", "address_v6": ""}},
        "mtu": 1420,
        "dns": [],
        "public_key": KEY,
        "endpoint": "vpn.example.gov.ma",
        "port": 51820,
        "allowed_ips": ["10.77.0.0/20"],
        "keepalive": 25,
    }
    key = {"content": base64.b64encode(KEY.encode()).decode()}
    return _render(
        "vpn_client",
        vpn_client_device="lt-1",
        vpn_client_apply_dns=False,
        __vpn_client_gateway=settings,
        __vpn_client_keys={"results": [key, key]},
    )


@pytest.mark.parametrize("breaker", BREAKERS, ids=[f"U+{ord(b):04X}" for b in BREAKERS])
def test_the_gateway_peer_comment_cannot_add_a_section_or_postup(breaker: str) -> None:
    text = _gateway(f"ag1{breaker}[Interface]{breaker}PostUp = x #", f"fin{breaker}PostDown = y")
    assert wireguard.sections(text) == ["[Interface]", "[Peer]"]
    assert not {"postup", "postdown"} & set(wireguard.keys(text))
    assert not wireguard.read_as_more_lines_elsewhere(text)
    assert breaker == "\n" or breaker not in text  # the file itself has LF line ends
    assert "# ag1 [Interface] PostUp = x # ph-2 (phone; groups: staff fin PostDown = y)" in text


@pytest.mark.parametrize("breaker", BREAKERS, ids=[f"U+{ord(b):04X}" for b in BREAKERS])
def test_the_client_comments_cannot_add_a_section_or_postup(breaker: str) -> None:
    text = _client(f"Support{breaker}[Interface]{breaker}PostUp = x", f"gw{breaker}PreUp = z")
    assert wireguard.sections(text) == ["[Interface]", "[Peer]"]
    assert not {"postup", "preup"} & set(wireguard.keys(text))
    assert not wireguard.read_as_more_lines_elsewhere(text)
    assert breaker == "\n" or breaker not in text  # the file itself has LF line ends
    assert "# Support: Support [Interface] PostUp = x" in text


def test_ordinary_values_are_written_unchanged() -> None:
    assert "# ag1 ph-2 (phone; groups: staff finance)\n" in _gateway("ag1", "finance")
    text = _client("Support DSI, 05 37 00 00 00", "gateway")
    assert "# Support: Support DSI, 05 37 00 00 00\n" in text
    assert "to the administration's VPN gateway gateway (M7).\n" in text
