"""``toolkit vpn bundle``: a WireGuard configuration and QR code for a personal computer or
phone, private files, keys handed to the gateway; bad input refused with exit code 4."""

from __future__ import annotations

import json
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests import wireguard
from toolkit.byod.store import Approval, save_approval
from toolkit.cli.main import cli
from toolkit.exitcodes import ExitCode
from toolkit.roster.model import Device, DeviceKind, Mode, Status, Teleworker
from toolkit.roster.schedule import parse_schedule
from toolkit.vpn.bundle import render_config
from toolkit.vpn.keys import KEY_PATTERN, KeyPair, public_key_of

GATEWAY = {
    "gateway": "gateway",
    "endpoint": "vpn.example.gov.ma",
    "port": 51820,
    "public_key": "G" * 42 + "A=",
    "mtu": 1420,
    "keepalive": 25,
    "dns": ["10.89.0.53", "lab.telework.test"],
    "allowed_ips": ["10.77.0.0/20", "10.89.0.0/24"],
    "support_contact": "Support DSI, 05 37 00 00 00",
    "network_v4": "10.77.0.0/20",
    "network_v6": "",
    "devices": {
        "ph-2": {"teleworker": "a2", "kind": "phone", "address_v4": "10.77.0.5", "address_v6": ""},
        "pc-3": {
            "teleworker": "a3",
            "kind": "personal",
            "address_v4": "10.77.0.6",
            "address_v6": "",
        },
    },
}


@pytest.fixture
def inventory(env_dir: Path) -> Path:
    folder = env_dir / ".vpn" / "gateways"
    folder.mkdir(parents=True)
    (folder / "gateway.json").write_text(json.dumps(GATEWAY))
    return env_dir


def bundle(inventory: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["vpn", "bundle", "-i", str(inventory), *args])


def test_a_phone_bundle_holds_its_own_keys_the_gateway_and_the_support_contact(
    inventory: Path,
) -> None:
    result = bundle(inventory, "a2", "ph-2")
    assert result.exit_code == 0, result.output
    conf = inventory / ".vpn" / "bundles" / "a2-ph-2.conf"
    text = conf.read_text()
    private = next(
        line.split(" = ", 1)[1] for line in text.splitlines() if line.startswith("PrivateKey")
    )
    public = (inventory / ".vpn" / "keys" / "ph-2.pub").read_text().strip()
    psk = (inventory / ".vpn" / "keys" / "ph-2.psk").read_text().strip()
    assert public_key_of(private) == public
    assert KEY_PATTERN.match(psk) and f"PresharedKey = {psk}" in text
    assert "Address = 10.77.0.5/32" in text
    assert "DNS = 10.89.0.53, lab.telework.test" in text
    assert "Endpoint = vpn.example.gov.ma:51820" in text
    assert "# Support: Support DSI, 05 37 00 00 00" in text
    assert conf.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    for path in (conf, conf.with_suffix(".png"), inventory / ".vpn" / "keys" / "ph-2.psk"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_second_bundle_needs_rotate_and_then_gives_new_keys(inventory: Path) -> None:
    # A personal computer needs the security unit's current approval first (M10).
    now = datetime.now(UTC)
    save_approval(
        inventory,
        Approval(
            teleworker="a3",
            device="pc-3",
            approved_by="unit",
            approved_at=now - timedelta(days=1),
            expires_at=now + timedelta(days=30),
            report_sha256="0" * 64,
            token_id="0" * 16,
            review="-",
        ),
    )
    assert bundle(inventory, "a3", "pc-3").exit_code == 0
    first = (inventory / ".vpn" / "keys" / "pc-3.pub").read_text()
    again = bundle(inventory, "a3", "pc-3")
    assert again.exit_code == ExitCode.INVALID_INPUT
    assert "--rotate" in again.stderr
    assert bundle(inventory, "a3", "pc-3", "--rotate").exit_code == 0
    assert (inventory / ".vpn" / "keys" / "pc-3.pub").read_text() != first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["zz9", "ph-2"], "zz9: no such teleworker"),
        (["a4", "lt-4"], "a4: telework revoked (C5)"),
        (["a2", "ph-9"], "a2: no device ph-9 (devices: laptop:lt-2, phone:ph-2)"),
        (["a2", "lt-2"], "is a managed laptop"),
        (["a1", "lt-1"], "is a managed laptop"),
    ],
)
def test_bad_input_is_one_clear_error_exit_4_and_nothing_written(
    inventory: Path, args: list[str], message: str
) -> None:
    result = bundle(inventory, *args)
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert message in result.stderr
    assert not (inventory / ".vpn" / "bundles").exists()


def test_a_device_the_gateway_has_not_addressed_yet_is_refused(inventory: Path) -> None:
    data = dict(GATEWAY, devices={})
    (inventory / ".vpn" / "gateways" / "gateway.json").write_text(json.dumps(data))
    result = bundle(inventory, "a2", "ph-2")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "has no address on gateway gateway yet" in result.stderr


def test_without_a_gateway_run_the_bundle_says_what_to_run_first(env_dir: Path) -> None:
    result = bundle(env_dir, "a2", "ph-2")
    assert result.exit_code == ExitCode.ERROR
    assert "run playbooks/vpn_gateway.yml first" in result.stderr


HOSTILE_NAME = "Ali\n[Interface]\nPostUp = touch /tmp/x #"


def _teleworker(name_latin: str) -> Teleworker:
    """A teleworker built directly, as if the validator had been bypassed."""
    return Teleworker(
        id="a2",
        name_latin=name_latin,
        name_arabic="علي",
        email="a2@example.gov.ma",
        unit="dsi",
        mode=Mode.FULL,
        schedule=parse_schedule(""),
        approved_on=date(2026, 9, 1),
        approved_by="DSI",
        equipment=(Device(DeviceKind.PHONE, "ph-2"),),
        vpn_groups=("staff",),
        status=Status.ACTIVE,
    )


def _render(worker: Teleworker, gateway: dict[str, Any] = GATEWAY) -> str:
    entry = gateway["devices"]["ph-2"]
    keys = KeyPair(private="P" * 42 + "A=", public="Q" * 42 + "A=")
    return render_config(worker, "ph-2", entry, gateway, keys=keys, psk="S" * 42 + "A=")


def test_a_name_that_bypassed_the_validator_cannot_inject_a_section_or_postup() -> None:
    text = _render(_teleworker(HOSTILE_NAME))
    assert wireguard.sections(text) == ["[Interface]", "[Peer]"]
    assert "postup" not in wireguard.keys(text)
    assert text.splitlines()[0] == (
        "# Telework VPN: a2 Ali [Interface] PostUp = touch /tmp/x #, phone ph-2"
    )


@pytest.mark.parametrize(
    "breaker", ["\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\u202e"]
)
def test_every_line_of_a_bundle_stays_one_line_for_any_reader(breaker: str) -> None:
    gateway = dict(GATEWAY, support_contact=f"Support{breaker}[Interface]{breaker}PostUp = x")
    text = _render(_teleworker(f"Ali{breaker}[Peer]{breaker}PostDown = y"), gateway)
    assert not wireguard.read_as_more_lines_elsewhere(text)
    assert breaker not in text
    assert wireguard.sections(text) == ["[Interface]", "[Peer]"]
    assert not {"postup", "postdown"} & set(wireguard.keys(text))
