"""Where the audit probes a lab host's services, written into the lab's inventory.

The lab publishes only SSH on 127.0.0.1; a host's other services (TLS, HTTP, WireGuard)
answer on its container's address on the lab's podman network. ``toolkit lab up`` writes
that address as the inventory variable ``audit_address`` of each host, in
``<inventory>/host_vars/<host>/lab-address.yml`` (git-ignored), so ``toolkit audit`` reads
it from the inventory like any host's; ``toolkit lab down`` removes those files. A host
with ``lab_addresses`` in the inventory is probed at the first of them (the gateway's
public side, a server's inside address); the control node reaches every lab network.
Without them a container gets a new address when it is started again: ``toolkit lab up``
(idempotent) rewrites the files.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.adapters.podman import Podman
from toolkit.errors import ToolkitError
from toolkit.lab.labels import HOST_LABEL, LAB_LABEL

if TYPE_CHECKING:
    from toolkit.lab.lab import Lab

log = logging.getLogger(__name__)

#: File name of the generated host variables, under ``host_vars/<host>/``.
ADDRESS_FILE = "lab-address.yml"
HEADER = (
    "---\n"
    "# Written by `toolkit lab up`, removed by `toolkit lab down`; git-ignored, do not edit.\n"
    "# Where `toolkit audit` probes this lab host's services: its container's address on\n"
    "# a lab network (the lab publishes only SSH on 127.0.0.1).\n"
)


def address_file(inventory: Path, host: str) -> Path:
    return inventory / "host_vars" / host / ADDRESS_FILE


def container_addresses(podman: Podman, lab_name: str, network: str) -> dict[str, str]:
    """Inventory host -> address of its lab container on the lab's network."""
    ids = [str(c["Id"]) for c in podman.containers(f"{LAB_LABEL}={lab_name}")]
    infos = podman.json("container", "inspect", *ids) if ids else []
    found = {}
    for info in infos:
        host = (info.get("Config", {}).get("Labels") or {}).get(HOST_LABEL)
        networks = info.get("NetworkSettings", {}).get("Networks") or {}
        address = (networks.get(network) or {}).get("IPAddress")
        if host and address:
            found[str(host)] = str(address)
    return found


def write_addresses(lab: Lab, addresses: dict[str, str]) -> list[Path]:
    """Write each lab host's ``audit_address``; remove the file of a host without one."""
    written = []
    for host in lab.hosts:
        path = address_file(lab.inventory, host.name)
        address = addresses.get(host.name)
        if address is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{HEADER}audit_address: {address}\n", encoding="utf-8")
        written.append(path)
    return written


def remove_addresses(inventory: Path) -> list[Path]:
    """Remove every generated address file of the inventory (and host folders left empty)."""
    removed = []
    for path in sorted((inventory / "host_vars").glob(f"*/{ADDRESS_FILE}")):
        path.unlink(missing_ok=True)
        removed.append(path)
        if not any(path.parent.iterdir()):
            path.parent.rmdir()
    return removed


def record(podman: Podman, lab: Lab) -> list[Path]:
    """Write the addresses the lab's containers have now (a warning when podman cannot
    say: the audit then probes ``ansible_host``)."""
    if all(h.addresses for h in lab.hosts):
        return write_addresses(lab, {h.name: h.addresses[0][1] for h in lab.hosts})
    try:
        addresses = container_addresses(podman, lab.name, lab.network)
    except ToolkitError as exc:
        log.warning("lab %s: container addresses unknown (%s)", lab.name, exc)
        return []
    return write_addresses(lab, addresses)
