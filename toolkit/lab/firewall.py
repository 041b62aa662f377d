"""The lab's own forwarding rule: nothing crosses between its networks through this machine.

A device outside must reach the inside only through the VPN tunnel. netavark's
``isolate`` option (set on every static lab network) is not enough to hold that: its
iptables driver drops the one ``FORWARD -> NETAVARK_ISOLATION`` jump shared by every
isolated network of the machine when *any* of them is torn down completely (its last
container stopped, or the network removed). Another lab taken down, a test lab of a
Molecule run, a ``podman network rm``, and every lab of the machine silently forwards from
one bridge to the other.

So the lab keeps a table of its own in nftables, written whole at every ``toolkit lab up``
and removed by ``toolkit lab down``: a ``forward`` chain hooked before the filter priority
that drops every packet entering by one of the lab's bridges and leaving by another. A drop
in any nftables base chain is final, whatever netavark writes or removes in its own tables
(its iptables rules also live in nftables on Debian 12 and 13). Traffic that stays on one
bridge (a laptop to the gateway's outside side) is switched, not forwarded, and the
containers' way out to Debian's mirrors leaves by the machine's own interface: neither is
touched.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence

from toolkit.adapters.podman import Podman
from toolkit.adapters.process import run
from toolkit.errors import ToolkitError
from toolkit.lab.networks import LabNetwork

log = logging.getLogger(__name__)

NFT_TIMEOUT = 30.0
#: Before the filter hooks (0) of netavark and iptables-nft: the lab's drop comes first.
PRIORITY = "filter - 10"
_IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")


def table_name(lab_name: str) -> str:
    """The nftables table of a lab: its name in the letters nft accepts, and a digest of
    the whole name (two labs whose names differ only by punctuation keep two tables)."""
    safe = re.sub(r"[^A-Za-z0-9_]", "_", lab_name)[:40]
    digest = hashlib.sha256(lab_name.encode()).hexdigest()[:8]
    return f"toolkit_lab_{safe}_{digest}"


def ruleset(lab_name: str, bridges: Sequence[str]) -> str:
    """The nft script that replaces the lab's table in one transaction: a drop for every
    ordered pair of two different bridges of the lab."""
    for bridge in bridges:
        if not _IFNAME.match(bridge):
            raise ToolkitError(f"lab {lab_name}: {bridge!r} is not a network interface name")
    table = table_name(lab_name)
    rules = [
        f'        iifname "{a}" oifname "{b}" counter drop comment "lab isolation"\n'
        for a in bridges
        for b in bridges
        if a != b
    ]
    return (
        f"table inet {table}\n"
        f"delete table inet {table}\n"
        f"table inet {table} {{\n"
        "    chain forward {\n"
        f"        type filter hook forward priority {PRIORITY}; policy accept;\n"
        + "".join(rules)
        + "    }\n"
        "}\n"
    )


def bridges(podman: Podman, networks: Sequence[LabNetwork]) -> list[str]:
    """The Linux bridge of each of the lab's networks, as podman names it."""
    found = []
    for network in networks:
        info = podman.json("network", "inspect", network.name)
        name = str((info[0] if info else {}).get("network_interface") or "")
        if not name:
            raise ToolkitError(f"podman network {network.name} has no bridge interface")
        found.append(name)
    return found


def isolate(podman: Podman, lab_name: str, networks: Sequence[LabNetwork]) -> bool:
    """Write the lab's table (a lab of one network has nothing to isolate: no table).
    True when the table holds drops."""
    names = bridges(podman, [n for n in networks if n.static])
    if len(names) < 2:
        release(lab_name)
        return False
    run(["nft", "-f", "-"], timeout=NFT_TIMEOUT, input_bytes=ruleset(lab_name, names).encode())
    log.info("lab %s: forwarding between %s dropped", lab_name, ", ".join(names))
    return True


def _listed(lab_name: str) -> str | None:
    """The lab's table as ``nft list`` prints it; None when there is none."""
    table = table_name(lab_name)
    proc = run(["nft", "list", "table", "inet", table], timeout=NFT_TIMEOUT, check=False)
    return proc.stdout if proc.returncode == 0 else None


def release(lab_name: str) -> None:
    """Remove the lab's table, if there is one."""
    if _listed(lab_name) is not None:
        run(["nft", "delete", "table", "inet", table_name(lab_name)], timeout=NFT_TIMEOUT)


def holds(lab_name: str) -> bool:
    """Whether the lab's table is in place with its drops (the lab tests ask)."""
    listed = _listed(lab_name)
    return listed is not None and " drop" in listed
