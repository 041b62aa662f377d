"""``toolkit vpn``: client bundles for personal computers and phones (M7, M9, A12), and a
lost device's second factor reset on the teleworker portal (A4)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from toolkit.cli.common import inventory_options, out
from toolkit.roster import load_environment_roster
from toolkit.text import printable
from toolkit.vpn import make_bundle, portal


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


@vpn.command("reset-second-factor")
@inventory_options
@click.argument("ident", metavar="ID")
@click.option("--reason", required=True, help="Why (a lost device); kept in the roster journal.")
@click.option("--gateway", help="Only this host of vpn_gateways (default: every one).")
def reset_second_factor(inventory: Path, ident: str, reason: str, gateway: str | None) -> None:
    """Lost device (A4): reset teleworker ID's second factor on the VPN gateways' portal.
    Their TOTP secret and recovery codes are deleted (they enrol again from the office)
    and their open working sessions end; the reset is journaled in roster-journal.csv.
    A gateway without the portal is reported and skipped. Exits 4 (nothing run) for an
    unknown ID or an empty reason, 1 when a gateway failed or none has the portal, 5 when
    a gateway could not be reached."""
    done = portal.reset_second_factor(inventory, ident, reason, gateway=gateway)
    table = Table(
        title=f"second factor of {escape(printable(done.id))} ({escape(printable(done.name))})"
    )
    for name in ("gateway", "result", "sessions ended"):
        table.add_column(name, justify="right" if name == "sessions ended" else "left")
    styles = {
        portal.Outcome.RESET: "green",
        portal.Outcome.NO_PORTAL: "yellow",
        portal.Outcome.FAILED: "bold red",
        portal.Outcome.UNREACHABLE: "bold red",
    }
    for g in done.gateways:
        outcome = g.outcome.value + (" (second factor gone)" if g.reset and g.detail else "")
        table.add_row(
            escape(printable(g.gateway)),
            f"[{styles[g.outcome]}]{escape(outcome)}[/]",
            str(g.ended) if g.outcome is portal.Outcome.RESET else "-",
        )
    out.print(table)
    if done.journal is not None:
        out.print(
            f"{printable(done.id)}: enrol again from the office; reset journaled in "
            f"{printable(done.journal)}",
            markup=False,
        )
    failure = done.failure()
    if failure is not None:
        raise failure
