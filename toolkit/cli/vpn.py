"""``toolkit vpn``: client bundles for personal computers and phones (M7, M9, A12)."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.cli.common import inventory_options, out
from toolkit.roster import load_environment_roster
from toolkit.vpn import make_bundle


@click.group()
def vpn() -> None:
    """The teleworkers' VPN (role vpn_gateway)."""


@vpn.command()
@inventory_options
@click.argument("teleworker_id", metavar="ID")
@click.argument("device")
@click.option("--gateway", help="Gateway to use when the inventory has several.")
@click.option("--rotate", is_flag=True, help="Replace the device's existing keys.")
def bundle(
    inventory: Path, teleworker_id: str, device: str, gateway: str | None, rotate: bool
) -> None:
    """WireGuard configuration and QR code for DEVICE (a personal computer or a phone) of
    teleworker ID, with keys made for it. Files are 0600 under <inventory>/.vpn/bundles/;
    the device becomes a peer on the gateway's next run. Exits 4 (nothing written) for an
    unknown ID or device, a revoked or unapproved teleworker or a managed laptop."""
    roster = load_environment_roster(inventory)
    made = make_bundle(inventory, roster, teleworker_id, device, gateway=gateway, rotate=rotate)
    out.print(f"{made.teleworker} {made.device}: address {made.address}", markup=False)
    out.print(f"configuration: {made.config}", markup=False)
    out.print(f"QR code:       {made.qr_code}", markup=False)
    out.print(
        "next: apply the peer on the gateway (ansible-playbook playbooks/vpn_gateway.yml "
        "--limit vpn_gateways, or toolkit roster sync), then hand the files over in person",
        markup=False,
    )
