"""``toolkit vpn bundle``: a WireGuard configuration and its QR code for a personal computer
or a phone of an active, approved teleworker (M7, M9), with the support contact (A12).

The flow: role vpn_gateway gives every device of the roster an address and exports its
settings to ``<inventory>/.vpn/gateways/<gateway>.json``; this module makes the device's
keys on the controller, writes the configuration and the QR code to
``<inventory>/.vpn/bundles/`` (0600) and the public key and preshared key to
``<inventory>/.vpn/keys/`` where the gateway reads them: the device becomes a peer on the
gateway's next run (playbooks/vpn_gateway.yml, or ``toolkit roster sync``).
Managed laptops are refused: their keys are made on the laptop by role vpn_client.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import segno

from toolkit.byod.store import current_approval
from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.roster.model import DeviceKind, Roster, Teleworker
from toolkit.secrets import write_secret
from toolkit.text import one_line
from toolkit.vpn.keys import KeyPair, generate_keypair, generate_psk
from toolkit.vpn.layout import BUNDLES_DIR, GATEWAYS_DIR, KEYS_DIR

log = logging.getLogger(__name__)


class BundleError(ToolkitError):
    """The bundle cannot be made for this input; nothing was written."""

    exit_code = ExitCode.INVALID_INPUT


@dataclass(frozen=True)
class Bundle:
    teleworker: str
    device: str
    address: str
    config: Path
    qr_code: Path
    public_key_file: Path


def load_gateway(inventory: Path, gateway: str | None = None) -> dict[str, Any]:
    """The settings role vpn_gateway exported (one gateway, or the one named)."""
    folder = inventory / GATEWAYS_DIR
    found = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if gateway is not None:
        found = [p for p in found if p.stem == gateway]
    if not found:
        raise ToolkitError(
            f"no settings exported by a VPN gateway{f' named {gateway}' if gateway else ''} in "
            f"{folder}: run playbooks/vpn_gateway.yml first",
            exit_code=ExitCode.ERROR,
        )
    if len(found) > 1:
        names = ", ".join(p.stem for p in found)
        raise ToolkitError(
            f"several VPN gateways ({names}): name one with --gateway", exit_code=ExitCode.USAGE
        )
    data: dict[str, Any] = json.loads(found[0].read_text(encoding="utf-8"))
    return data


def _find(roster: Roster, teleworker_id: str, device_name: str) -> Teleworker:
    worker = next((t for t in roster.teleworkers if t.id == teleworker_id), None)
    if worker is None:
        raise BundleError(f"{teleworker_id}: no such teleworker in {roster.path}")
    refusal = worker.refusal()
    if refusal is not None:
        raise BundleError(f"{teleworker_id}: {refusal}; no VPN access is given")
    device = next((d for d in worker.equipment if d.name == device_name), None)
    if device is None:
        known = ", ".join(str(d) for d in worker.equipment) or "none"
        raise BundleError(f"{teleworker_id}: no device {device_name} (devices: {known})")
    if device.kind is DeviceKind.LAPTOP:
        raise BundleError(
            f"{teleworker_id}: {device} is a managed laptop: its keys are made on the laptop "
            "by role vpn_client (playbooks/vpn_gateway.yml), not in a bundle"
        )
    return worker


def _check_approved(inventory: Path, worker: Teleworker, device: str) -> None:
    """M9, M10: a personal computer gets a bundle only while the security unit's approval
    of its check is current (toolkit byod review, docs/byod.md)."""
    kind = next(d.kind for d in worker.equipment if d.name == device)
    now = datetime.now(UTC)
    if kind is DeviceKind.PERSONAL and current_approval(inventory, worker.id, device, now) is None:
        raise BundleError(
            f"{worker.id}: personal computer {device} has no current approval of the security "
            f"unit (M9, M10): toolkit byod enrol {worker.id} {device}, run the collector on "
            "the computer, then toolkit byod review REPORT"
        )


def _line(value: object) -> str:
    """A value as it may appear on one line of the configuration (see toolkit.text)."""
    return one_line(str(value))


def _list(values: Any) -> str:
    return ", ".join(_line(v) for v in values)


def render_config(
    worker: Teleworker,
    device: str,
    entry: dict[str, Any],
    gw: dict[str, Any],
    *,
    keys: KeyPair,
    psk: str,
) -> str:
    """The device's wg-quick configuration.

    Safe on its own, whatever the roster or the gateway's export holds: every value goes
    through :func:`toolkit.text.one_line`, so none can end its line and add a section or
    a ``PostUp`` that wg-quick would run as root."""
    addresses = [f"{_line(entry['address_v4'])}/32"]
    if entry.get("address_v6"):
        addresses.append(f"{_line(entry['address_v6'])}/128")
    lines = [
        f"# Telework VPN: {_line(worker.id)} {_line(worker.name_latin)}, "
        f"{_line(entry['kind'])} {_line(device)}"
    ]
    if gw.get("support_contact"):
        lines.append(f"# Support: {_line(gw['support_contact'])}")
    lines += ["", "[Interface]", f"PrivateKey = {_line(keys.private)}"]
    lines.append(f"Address = {', '.join(addresses)}")
    if gw.get("dns"):
        lines.append(f"DNS = {_list(gw['dns'])}")
    lines.append(f"MTU = {_line(gw['mtu'])}")
    lines += [
        "",
        "[Peer]",
        f"PublicKey = {_line(gw['public_key'])}",
        f"PresharedKey = {_line(psk)}",
        f"Endpoint = {_line(gw['endpoint'])}:{_line(gw['port'])}",
        f"AllowedIPs = {_list(gw['allowed_ips'])}",
    ]
    if int(gw.get("keepalive") or 0) > 0:
        lines.append(f"PersistentKeepalive = {_line(gw['keepalive'])}")
    return "\n".join(lines) + "\n"


def make_bundle(
    inventory: Path,
    roster: Roster,
    teleworker_id: str,
    device: str,
    *,
    gateway: str | None = None,
    rotate: bool = False,
) -> Bundle:
    """Make the device's keys, write its configuration and QR code (0600) and hand its
    public key and preshared key to the gateway's next run. Refuses (nothing written) an
    unknown teleworker or device, a revoked or unapproved teleworker, a managed laptop, a
    personal computer without a current approval of its check (M10), a device the
    gateway gave no address yet, and an existing bundle unless ``rotate``."""
    worker = _find(roster, teleworker_id, device)
    _check_approved(inventory, worker, device)
    gw = load_gateway(inventory, gateway)
    entry = (gw.get("devices") or {}).get(device)
    if entry is None or entry.get("teleworker") != worker.id:
        raise BundleError(
            f"{teleworker_id}: {device} has no address on gateway {gw.get('gateway')} yet: run "
            "playbooks/vpn_gateway.yml (or toolkit roster sync) after the roster change"
        )
    config = inventory / BUNDLES_DIR / f"{worker.id}-{device}.conf"
    qr_code = config.with_suffix(".png")
    public_file = inventory / KEYS_DIR / f"{device}.pub"
    if (config.exists() or public_file.exists()) and not rotate:
        raise BundleError(
            f"{teleworker_id}: {device} already has keys ({public_file}); --rotate makes new "
            "ones (the old configuration stops working on the gateway's next run)"
        )
    keys, psk = generate_keypair(), generate_psk()
    text = render_config(worker, device, entry, gw, keys=keys, psk=psk)
    png = io.BytesIO()
    segno.make(text, error="l", micro=False).save(png, kind="png", scale=4, border=4)
    write_secret(config, text.encode())
    write_secret(qr_code, png.getvalue())
    write_secret(inventory / KEYS_DIR / f"{device}.psk", f"{psk}\n".encode())
    write_secret(public_file, f"{keys.public}\n".encode())
    log.info("bundle for %s %s written to %s", worker.id, device, config)
    return Bundle(worker.id, device, str(entry["address_v4"]), config, qr_code, public_file)
