"""``toolkit load tunnel``: the throughput one teleworker's tunnel carries, with iperf3
(the logic is in toolkit.load.tunnel)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from toolkit.capacity.inputs import save_ceiling
from toolkit.cli.common import inventory_options, out
from toolkit.exitcodes import ExitCode
from toolkit.load import tunnel as tunnel_test
from toolkit.load.settings import vpn_gateway
from toolkit.text import printable


@click.command()
@inventory_options
@click.option(
    "--client",
    help="Laptop of the inventory whose tunnel carries the test (default: the first of "
    "`laptops` that the gateway's export gives a tunnel address).",
)
@click.option("--target", help="VPN gateway of the inventory (default: the first).")
@click.option(
    "--seconds", type=click.IntRange(1, tunnel_test.MAX_SECONDS), default=10, show_default=True,
    help="Length of the test in each direction.",
)  # fmt: skip
@click.option(
    "--streams", type=click.IntRange(1, tunnel_test.MAX_STREAMS), default=4, show_default=True,
    help="Parallel TCP streams (iperf3 -P).",
)  # fmt: skip
@click.option(
    "--require-mbps", type=click.FloatRange(min=0), default=None,
    help="Exit 3 when either direction carries less (Mbit/s).",
)  # fmt: skip
@click.option(
    "--save/--no-save", default=True, show_default=True,
    help="Save the throughput to <inventory>/capacity/ceilings.json.",
)  # fmt: skip
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the result as JSON here.",
)  # fmt: skip
def tunnel(inventory: Path, **opts: Any) -> None:
    """Throughput through one teleworker's tunnel, with iperf3: from a laptop of the
    inventory to the gateway's tunnel address, into the site (the laptop sends) then out of
    it (the gateway sends). The gateway's iperf3 port is opened to that laptop's tunnel
    address only, for a limited time (role vpn_gateway's throughput sets), and closed
    after. The figures feed the `vpn` platform of `toolkit capacity plan` (one tunnel: a
    lower bound of what the gateway carries)."""
    gateway, _ = vpn_gateway(inventory, opts["target"])
    plan = tunnel_test.make_plan(inventory, gateway, opts["client"])
    out.print(
        f"iperf3 from {plan.client.name} ({plan.client_address}) through its tunnel to {gateway} "
        f"({plan.gateway_address} port {plan.port}), {opts['seconds']} s each way",
        markup=False,
    )
    result = tunnel_test.measure(plan, seconds=opts["seconds"], streams=opts["streams"])
    table = Table(title=f"throughput through {result.client}'s tunnel to {gateway}")
    for name in ("direction", "Mbit/s", "TCP retransmits"):
        table.add_column(name, justify="left" if name == "direction" else "right")
    for name, mbps in result.rates.items():
        direction = name.removesuffix(" Mbit/s")
        table.add_row(direction, f"{mbps:.1f}", str(result.retransmits[name]))
    out.print(table)
    if opts["save"]:
        saved = save_ceiling(inventory, result.ceiling())
        out.print(f"throughput saved: {printable(saved)}", markup=False)
    if opts["output"]:
        opts["output"].write_text(result.model_dump_json(indent=2), encoding="utf-8")
    if opts["require_mbps"] is not None and min(result.rates.values()) < opts["require_mbps"]:
        raise click.exceptions.Exit(int(ExitCode.CHECK_FAILED))
