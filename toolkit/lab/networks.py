"""The lab's networks and static addresses, as ``inventories/lab/hosts.yml`` states them.

A lab is laid out like an administration's network: an ``outside`` network (the VPN
gateway's public side and the teleworkers' devices) and an ``inside`` one (the servers and
the gateway's inside side). Each is a podman bridge created with netavark's ``isolate``
option, so no packet is forwarded from one bridge to the other: a device outside reaches
the inside only through the tunnel. The control node (this machine) holds each bridge's
gateway address and reaches both, as an auditor does.

Every host states its address on each network it joins (``lab_addresses``); the container
gets exactly those at every start, so restarts of a container or of the machine never move
a host. Each container's ``/etc/hosts`` is written from the inventory too (podman's is
turned off): every lab host resolves by the address it is reached at from there.

An inventory without ``lab_networks`` (a test lab of its own) keeps one network named after
the lab, with the addresses podman gives.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit.adapters.podman import Podman
from toolkit.errors import ToolkitError
from toolkit.lab.labels import LAB_LABEL

if TYPE_CHECKING:
    from toolkit.lab.lab import Lab

_KEY = re.compile(r"^[a-z][a-z0-9]{0,14}$")
#: Where the hosts file is written in every container (podman's own is off: --no-hosts).
HOSTS_FILE = "/etc/hosts"
HOSTS_HEADER = (
    "# Written by `toolkit lab up` from the lab's inventory (hosts.yml); do not edit.\n"
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
)


@dataclass(frozen=True)
class LabNetwork:
    """One podman bridge of the lab: ``key`` as the inventory names it (``inside``)."""

    key: str
    name: str
    subnet: str | None = None
    gateway: str | None = None

    @property
    def static(self) -> bool:
        return self.subnet is not None


Report = Callable[[str, str], None]  # (field, message) of an inventory problem


def parse_networks(lab_name: str, raw: Any, bad: Report) -> tuple[LabNetwork, ...]:
    """``lab_networks`` of the inventory: ``{key: {subnet: CIDR, gateway: ADDRESS}}``;
    none: the one network named after the lab, with podman's addresses."""
    if raw is None:
        return (LabNetwork("", lab_name),)
    if not isinstance(raw, Mapping) or not raw:
        bad("lab_networks", "a mapping of network names to {subnet, gateway} is needed")
        return (LabNetwork("", lab_name),)
    result: list[LabNetwork] = []
    seen: list[ipaddress.IPv4Network] = []
    for key, spec in raw.items():
        field = f"lab_networks.{key}"
        if not isinstance(key, str) or not _KEY.match(key):
            bad(field, "network names are lowercase letters and digits (at most 15)")
            continue
        fields = spec if isinstance(spec, Mapping) else {}
        try:
            subnet = ipaddress.IPv4Network(str(fields.get("subnet")))
            gateway = ipaddress.IPv4Address(str(fields.get("gateway")))
        except ValueError as exc:
            bad(field, f"subnet (IPv4 CIDR) and gateway (IPv4 address) are needed: {exc}")
            continue
        if gateway not in subnet or gateway in (subnet.network_address, subnet.broadcast_address):
            bad(f"{field}.gateway", f"{gateway} is not a host address of {subnet}")
            continue
        if any(subnet.overlaps(other) for other in seen):
            bad(f"{field}.subnet", f"{subnet} overlaps another lab network")
            continue
        seen.append(subnet)
        result.append(LabNetwork(key, f"{lab_name}-{key}", str(subnet), str(gateway)))
    return tuple(result) or (LabNetwork("", lab_name),)


def parse_addresses(
    host: str, raw: Any, networks: tuple[LabNetwork, ...], taken: dict[str, str], bad: Report
) -> tuple[tuple[str, str], ...]:
    """A host's ``lab_addresses`` (``{network key: address}``), checked against the
    networks and the addresses other hosts took; in the inventory's order."""
    static = {n.key: n for n in networks if n.static}
    field = f"{host}.lab_addresses"
    if not static:
        if raw is not None:
            bad(field, "lab_addresses needs lab_networks (the lab's subnets)")
        return ()
    if not isinstance(raw, Mapping) or not raw:
        bad(field, f"an address on at least one of {', '.join(static)} is needed")
        return ()
    result = []
    for key, value in raw.items():
        network = static.get(str(key))
        if network is None:
            bad(f"{field}.{key}", f"not a lab network ({', '.join(static)})")
            continue
        try:
            address = ipaddress.IPv4Address(str(value))
        except ValueError:
            bad(f"{field}.{key}", f"{value!r} is not an IPv4 address")
            continue
        subnet = ipaddress.IPv4Network(str(network.subnet))
        reserved = (subnet.network_address, subnet.broadcast_address)
        if address not in subnet or address in reserved or str(address) == network.gateway:
            bad(f"{field}.{key}", f"{address} is not a free host address of {subnet}")
            continue
        if str(address) in taken:
            bad(f"{field}.{key}", f"{address} already given to {taken[str(address)]}")
            continue
        taken[str(address)] = host
        result.append((str(key), str(address)))
    return tuple(result)


def create_networks(podman: Podman, lab_name: str, networks: tuple[LabNetwork, ...]) -> list[str]:
    """Create the lab's networks that are missing; a network whose subnet differs from the
    inventory is an error (``toolkit lab down`` first). The names created."""
    created = []
    for network in networks:
        if podman.network_exists(network.name):
            if network.static:
                info = podman.json("network", "inspect", network.name)[0]
                subnets = {str(s.get("subnet")) for s in info.get("subnets") or []}
                if network.subnet not in subnets:
                    raise ToolkitError(
                        f"network {network.name} has {', '.join(sorted(subnets))}, the "
                        f"inventory says {network.subnet}: run `toolkit lab down` first"
                    )
            continue
        args = ["network", "create", "--label", f"{LAB_LABEL}={lab_name}"]
        if network.static:
            # isolate: netavark forwards nothing between this bridge and the other lab ones
            args += ["--subnet", str(network.subnet), "--gateway", str(network.gateway)]
            args += ["--opt", "isolate=true"]
        podman(*args, network.name)
        created.append(network.name)
    return created


def network_args(
    host: str, addresses: tuple[tuple[str, str], ...], networks: tuple[LabNetwork, ...]
) -> list[str]:
    """``podman create`` arguments that attach a host to its networks."""
    if not addresses:
        return ["--network", networks[0].name, "--network-alias", host]
    names = {n.key: n.name for n in networks}
    args = ["--no-hosts"]
    for key, address in addresses:
        args += ["--network", f"{names[key]}:ip={address},alias={host}"]
    return args


def hosts_file(host: str, everyone: Mapping[str, tuple[tuple[str, str], ...]]) -> str:
    """``/etc/hosts`` of a host: itself, then every other lab host by the address it is
    reached at from here (on a network both join, else its first address)."""
    mine = dict(everyone[host])
    lines = [HOSTS_HEADER, f"{everyone[host][0][1]}\t{host}\n"] if mine else [HOSTS_HEADER]
    for other, addresses in sorted(everyone.items()):
        if other == host or not addresses:
            continue
        shared = [address for key, address in addresses if key in mine]
        lines.append(f"{(shared or [addresses[0][1]])[0]}\t{other}\n")
    return "".join(lines)


def attached(info: Mapping[str, Any]) -> dict[str, str]:
    """Network name -> static address of a container, from ``podman container inspect``."""
    found = {}
    for name, net in (info.get("NetworkSettings", {}).get("Networks") or {}).items():
        address = str(net.get("IPAddress") or "")
        found[str(name)] = address
    return found


def settle(podman: Podman, lab: Lab, step: Callable[[str], None]) -> None:
    """Give each running container of a static lab the inventory's addresses (a host the
    inventory moved keeps its disk: its network is reconnected at the new address) and
    write its ``/etc/hosts`` from the inventory when it differs."""
    static = [h for h in lab.hosts if h.addresses]
    names = {n.key: n.name for n in lab.networks}
    everyone = {h.name: h.addresses for h in lab.hosts}
    for host in static:
        now = attached(podman.json("container", "inspect", host.container)[0])
        wanted = {names[key]: address for key, address in host.addresses}
        for name in sorted(set(now) - set(wanted)):
            step(f"{host.container}: leaving network {name}")
            podman("network", "disconnect", name, host.container)
        for name, address in wanted.items():
            if now.get(name) == address:
                continue
            step(f"{host.container}: address {address} on {name} (was {now.get(name) or 'none'})")
            if name in now:
                podman("network", "disconnect", name, host.container)
            podman(
                "network", "connect", "--ip", address, "--alias", host.name, name, host.container
            )  # fmt: skip
        text = hosts_file(host.name, everyone)
        current = podman("exec", host.container, "cat", HOSTS_FILE, check=False).stdout
        if current != text:
            podman(
                "exec", "-i", host.container, "sh", "-c",
                f"cat > {HOSTS_FILE}.lab && mv {HOSTS_FILE}.lab {HOSTS_FILE}",
                input_bytes=text.encode(),
            )  # fmt: skip
