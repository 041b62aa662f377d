"""telework-wg-apply --check: the gateway's WireGuard configuration is checked before
Ansible installs it, the way wg-quick and wg read it, and more strictly than
`wg-quick strip` (which passes any unknown line through)."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest

from tests.unit.test_wg_apply import wg_apply


def key(n: int) -> str:
    return base64.b64encode(bytes([n]) * 32).decode()


def config(*peers: str, interface: str = "") -> str:
    """A configuration shaped like the role's template (comments, wg-quick's own keys)."""
    head = (
        "# Ansible managed\n[Interface]\nAddress = 10.99.0.1/22, fd42:99::1/64\n"
        f"ListenPort = 51820\nMTU = 1420\nPrivateKey = {key(1)}\n{interface}"
    )
    return head + "".join(peers)


def peer(n: int, allowed: str = "", extra: str = "") -> str:
    allowed = allowed or f"10.99.0.{n}/32, fd42:99::{n}/128"
    return (
        f"\n[Peer]\n# a{n:04d} laptop lt-{n}\nPublicKey = {key(n)}\n"
        f"PresharedKey = {key(100 + n)}\nAllowedIPs = {allowed}\n{extra}"
    )


def test_the_configuration_the_role_writes_passes() -> None:
    assert wg_apply.check_config(config(peer(2), peer(3))) == []


def test_a_gateway_with_no_peer_yet_passes() -> None:
    assert wg_apply.check_config(config()) == []


def test_a_key_that_is_not_32_bytes_of_base64_is_refused_with_its_line() -> None:
    short = config(peer(2)).replace(key(2), base64.b64encode(b"x" * 31).decode())
    assert wg_apply.check_config(short) == ["line 10: PublicKey: not 32 bytes of base64"]
    garbage = config(peer(2)).replace(key(102), "not-base64!")
    assert wg_apply.check_config(garbage) == ["line 11: PresharedKey: not 32 bytes of base64"]


def test_a_key_wg_does_not_know_is_refused_though_wg_quick_strip_would_pass_it() -> None:
    problems = wg_apply.check_config(config(peer(2, extra="AllowedIP = 10.99.0.9/32\n")))
    assert problems == ["line 13: 'AllowedIP' is not a key of [Peer]"]
    problems = wg_apply.check_config(config(interface="PublicKey = " + key(5) + "\n"))
    assert problems == ["line 7: 'PublicKey' is not a key of [Interface]"]


def test_a_peer_given_twice_or_without_public_key_is_refused() -> None:
    assert wg_apply.check_config(config(peer(2), peer(2))) == [
        "line 16: peer " + key(2) + " is already on line 10"
    ]
    nameless = config(peer(2)).replace(f"PublicKey = {key(2)}\n", "")
    assert wg_apply.check_config(nameless) == ["the last [Peer] has no PublicKey"]


def test_addresses_that_do_not_parse_are_refused() -> None:
    problems = wg_apply.check_config(config(peer(2, allowed="10.99.0.2/32, 10.99.0.300/32")))
    assert problems == ["line 12: AllowedIPs: '10.99.0.300/32' is not an address or network"]


def test_an_interface_without_private_key_or_given_twice_is_refused() -> None:
    keyless = config().replace(f"PrivateKey = {key(1)}\n", "")
    assert wg_apply.check_config(keyless) == ["no PrivateKey in [Interface]"]
    assert wg_apply.check_config(config() + config()) == ["2 [Interface] sections (one is needed)"]


def test_lines_outside_a_section_or_without_a_value_are_refused() -> None:
    assert wg_apply.check_config("ListenPort = 1\n" + config()) == [
        "line 1: 'ListenPort' before any [Interface] or [Peer]"
    ]
    assert wg_apply.check_config(config(peer(2, extra="Endpoint\n"))) == [
        "line 13: 'Endpoint' is not Key = Value"
    ]


def test_the_command_exits_0_on_a_good_file_and_1_naming_each_problem_on_a_bad_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good, bad, binary = tmp_path / "good.conf", tmp_path / "bad.conf", tmp_path / "bin.conf"
    good.write_text(config(peer(2)), encoding="utf-8")
    bad.write_text(config(peer(2), peer(2)).replace(key(1), "short"), encoding="utf-8")
    binary.write_bytes(b"\xff\xfe[Interface]\n")
    with caplog.at_level(logging.ERROR):
        assert wg_apply.main(["--check", str(good), "wg0"]) == 0
        assert caplog.messages == []
        assert wg_apply.main(["--check", str(bad), "wg0"]) == 1
        assert wg_apply.main(["--check", str(binary), "wg0"]) == 1
    assert caplog.messages == [
        f"{bad}: line 6: PrivateKey: not 32 bytes of base64",
        f"{bad}: line 16: peer {key(2)} is already on line 10",
        f"{bad}: no PrivateKey in [Interface]",
        f"{binary}: not UTF-8 text",
    ]
