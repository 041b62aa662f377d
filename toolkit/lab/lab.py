"""Bringing a lab up and down: one systemd container per inventory host.

The inventory (``inventories/lab/hosts.yml``) is the only description of the lab: its
hosts are the containers, its groups decide the devices a container needs, each host's
``ansible_port`` is where its sshd is published on 127.0.0.1, and ``lab_networks`` with
each host's ``lab_addresses`` lay out its networks (toolkit.lab.networks).
"""

from __future__ import annotations

import functools
import logging
import re
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import paramiko

from toolkit.adapters.ansible import load_inventory
from toolkit.adapters.podman import Podman
from toolkit.errors import InvalidInputError, Problem, ToolkitError
from toolkit.lab import addresses, firewall, keys, networks
from toolkit.lab.hostlimits import ensure_inotify_instances
from toolkit.lab.image import ADMIN_USER, RELEASES, apt_cache_volumes, build_image, image_ref
from toolkit.lab.labels import HOST_LABEL, LAB_LABEL, STATE_LABEL
from toolkit.lab.networks import LabNetwork

log = logging.getLogger(__name__)

#: Capabilities every lab host gets beyond podman's defaults: NET_ADMIN for nftables in
#: the container's own namespace; DAC_READ_SEARCH and AUDIT_WRITE because AIDE's checks
#: run as _aide with them (neither changes the host). Never AUDIT_CONTROL (docs/lab.md).
CAPABILITIES = ("NET_ADMIN", "DAC_READ_SEARCH", "AUDIT_WRITE")
#: Groups whose hosts run WireGuard and need the TUN device (wireguard-go; docs/lab.md).
TUN_GROUPS = frozenset({"vpn_gateways", "laptops"})
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
SSH_WAIT = 90.0


@dataclass(frozen=True)
class LabHost:
    name: str
    port: int
    groups: frozenset[str]
    release: str
    lab: str
    #: (network key, address) pairs, in the inventory's order; empty: podman's address.
    addresses: tuple[tuple[str, str], ...] = ()

    @property
    def container(self) -> str:
        return f"{self.lab}-{self.name}"

    @property
    def needs_tun(self) -> bool:
        return bool(self.groups & TUN_GROUPS)


@dataclass(frozen=True)
class Lab:
    name: str
    inventory: Path
    hosts: tuple[LabHost, ...]
    networks: tuple[LabNetwork, ...] = ()

    @property
    def state(self) -> Path:
        """Git-ignored folder of the lab's keys and known_hosts, inside its inventory."""
        return self.inventory / ".lab"

    @property
    def network(self) -> str:
        """The podman network of a lab without ``lab_networks`` (named after the lab)."""
        return self.name

    @property
    def all_networks(self) -> tuple[LabNetwork, ...]:
        return self.networks or (LabNetwork("", self.name),)

    def host(self, name: str) -> LabHost:
        for host in self.hosts:
            if host.name == name:
                return host
        raise ToolkitError(
            f"{name}: not a host of lab {self.name} ({', '.join(h.name for h in self.hosts)})"
        )


@dataclass(frozen=True)
class HostStatus:
    host: LabHost
    state: str  # running, exited, created, ..., or absent
    image: str = ""
    ssh: str = ""  # "ok", or why SSH login did not work

    @property
    def ok(self) -> bool:
        return self.state == "running" and self.ssh == "ok"


def _line_of_host(source: Path, name: str) -> int:
    """Line where ``name:`` is declared in the hosts file (1 when not found)."""
    pattern = re.compile(rf"^\s*{re.escape(name)}\s*:")
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 1
    return next((n for n, line in enumerate(lines, 1) if pattern.match(line)), 1)


#: Ports the Molecule scenarios publish on 127.0.0.1 (roles/*/molecule/*/molecule.yml):
#: a test lab never takes one, since a scenario may start beside it (the suite's two lanes).
SCENARIO_PORTS = range(42000, 46000)


def free_local_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on 127.0.0.1 right now (for test and bench labs),
    none of them among SCENARIO_PORTS."""
    socks: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            if len(socks) >= count + 1000:
                raise OSError(f"no {count} free ports outside {SCENARIO_PORTS} on 127.0.0.1")
            sock = socket.socket()
            socks.append(sock)
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            if port not in SCENARIO_PORTS:
                ports.append(port)
        return ports
    finally:
        for sock in socks:
            sock.close()


def load_lab(inventory: Path) -> Lab:
    """Read the lab's hosts from its inventory; every problem names the inventory field."""
    hosts = load_inventory(inventory, with_roster=False)
    hosts_file = inventory / "hosts.yml"
    problems: list[Problem] = []

    def bad(host: str, field: str, message: str) -> None:
        line = _line_of_host(hosts_file, host) if host else 1
        problems.append(Problem(str(hosts_file), line, field, message))

    names = {str(h.vars.get("lab_name", "")) for h in hosts.values()}
    if len(names) != 1 or not _NAME.match(next(iter(names))):
        found = ", ".join(sorted(names)) or "none"
        bad("", "lab_name", f"one name like 'telework-lab' for every host is needed ({found})")
    lab_name = sorted(names)[0] if names else ""
    first = next(iter(hosts.values()), None)
    lab_networks = networks.parse_networks(
        lab_name, first.vars.get("lab_networks") if first else None, lambda f, m: bad("", f, m)
    )
    taken: dict[str, str] = {}
    result: list[LabHost] = []
    ports: dict[int, str] = {}
    for name, host in hosts.items():
        port, release = host.vars.get("ansible_port"), host.vars.get("lab_release", "bookworm")
        if not _NAME.match(name):
            bad(name, name, "host names are lowercase letters, digits and '-'")
        if host.vars.get("ansible_host") not in ("127.0.0.1", "localhost"):
            bad(name, f"{name}.ansible_host", "lab hosts are reached on 127.0.0.1 only")
        if release not in RELEASES:
            bad(name, f"{name}.lab_release", f"{release!r} is not one of {', '.join(RELEASES)}")
        if not isinstance(port, int) or not 1024 <= port <= 65535:
            bad(name, f"{name}.ansible_port", f"{port!r} is not a port between 1024 and 65535")
            continue
        if port in ports:
            bad(name, f"{name}.ansible_port", f"{port} already used by {ports[port]}")
        ports[port] = name
        static = networks.parse_addresses(
            name,
            host.vars.get("lab_addresses"),
            lab_networks,
            taken,
            functools.partial(bad, name),
        )
        result.append(LabHost(name, port, host.groups, str(release), lab_name, static))
    if not hosts:
        bad("", "hosts", "the inventory has no hosts")
    if problems:
        raise InvalidInputError(problems)
    return Lab(lab_name, inventory.resolve(), tuple(result), lab_networks)


def _create(podman: Podman, lab: Lab, host: LabHost) -> None:
    args = [
        "create",
        "--name",
        host.container,
        "--hostname",
        host.name,
        *networks.network_args(host.name, host.addresses, lab.all_networks),
        "--publish",
        f"127.0.0.1:{host.port}:22",
        "--cap-add",
        ",".join(CAPABILITIES),
        "--systemd",
        "always",
        "--stop-timeout",
        "10",
        "--label",
        f"{LAB_LABEL}={lab.name}",
        "--label",
        f"{HOST_LABEL}={host.name}",
        "--label",
        f"{STATE_LABEL}={lab.state}",
    ]
    for volume in apt_cache_volumes(host.release):
        args += ["--volume", volume]
    if host.needs_tun:
        args += ["--device", "/dev/net/tun"]
    podman(*args, image_ref(host.release), "/sbin/init")
    key = keys.host_key(lab.state, host.name)
    podman("cp", str(key), f"{host.container}:/etc/ssh/ssh_host_ed25519_key")
    podman(
        "cp", str(key.with_suffix(".pub")), f"{host.container}:/etc/ssh/ssh_host_ed25519_key.pub"
    )
    authorized = keys.admin_key(lab.state).with_suffix(".pub")
    podman("cp", str(authorized), f"{host.container}:/home/{ADMIN_USER}/.ssh/authorized_keys")


def _wait_for_banner(port: int, deadline: float) -> str:
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
                sock.settimeout(3)
                banner = sock.recv(64)
                if banner.startswith(b"SSH-2.0"):
                    return "ok"
                last = f"unexpected banner {banner[:20]!r}"
        except OSError as exc:
            last = exc.strerror or str(exc)
        time.sleep(0.3)
    return last


def ssh_login(lab: Lab, host: LabHost, timeout: float = 10.0) -> str:
    """Log in as the admin with the lab key, the host key checked; "ok" or the reason."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(keys.known_hosts_file(lab.state)))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            "127.0.0.1",
            port=host.port,
            username=ADMIN_USER,
            key_filename=str(keys.admin_key(lab.state)),
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            allow_agent=False,
            look_for_keys=False,
        )
        _, stdout, _ = client.exec_command("true", timeout=timeout)
        code = stdout.channel.recv_exit_status()
        return "ok" if code == 0 else f"`true` exited {code}"
    except (OSError, paramiko.SSHException) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()


def status(lab: Lab) -> list[HostStatus]:
    """State of every host's container and whether the admin can log in over SSH."""
    podman = Podman()
    found = {c["Labels"].get(HOST_LABEL): c for c in podman.containers(f"{LAB_LABEL}={lab.name}")}

    def one(host: LabHost) -> HostStatus:
        info = found.get(host.name)
        if info is None:
            return HostStatus(host, "absent")
        state = str(info.get("State", "unknown"))
        login = ssh_login(lab, host) if state == "running" else ""
        return HostStatus(host, state, str(info.get("Image", "")), login)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, lab.hosts))


def up(lab: Lab, step: Callable[[str], None] = lambda _msg: None) -> list[HostStatus]:
    """Start every host of the lab; what already runs is left as it is."""
    podman = Podman()
    ensure_inotify_instances()
    for release in sorted({h.release for h in lab.hosts}):
        step(f"image for Debian {release}")
        build_image(release, step=step)
    keys.admin_key(lab.state)
    keys.write_known_hosts(lab.state, {h.name: h.port for h in lab.hosts})
    for name in networks.create_networks(podman, lab.name, lab.all_networks):
        step(f"network {name}")
    existing = {
        c["Labels"].get(HOST_LABEL): c for c in podman.containers(f"{LAB_LABEL}={lab.name}")
    }
    foreign = {str(c["Labels"].get(STATE_LABEL)) for c in existing.values()} - {str(lab.state)}
    if foreign:
        raise ToolkitError(
            f"lab {lab.name} was started from another inventory ({', '.join(sorted(foreign))}) "
            "with other SSH keys: run `toolkit lab down` there, or give this lab another "
            "lab_name and other ports"
        )
    wanted = {h.name for h in lab.hosts}
    for name, stale in existing.items():
        if name not in wanted:
            step(f"removing {stale['Names'][0]} (no longer in the inventory)")
            podman.remove(stale["Id"])
    password = keys.admin_password(lab.state).read_text().strip()
    for host in lab.hosts:
        info = existing.get(host.name)
        if info is None:
            step(f"creating {host.container}")
            _create(podman, lab, host)
        if info is None or info.get("State") != "running":
            step(f"starting {host.container}")
            podman("start", host.container)
        if info is None:
            # the admin's sudo password, never on a command line
            podman(
                "exec",
                "-i",
                host.container,
                "chpasswd",
                input_bytes=f"{ADMIN_USER}:{password}\n".encode(),
            )
    networks.settle(podman, lab, step)
    if firewall.isolate(podman, lab.name, lab.networks):
        step("no forwarding between the lab's networks (nftables)")
    step("waiting for sshd on every host")
    deadline = time.monotonic() + SSH_WAIT
    with ThreadPoolExecutor(max_workers=8) as pool:
        banners = dict(
            zip(
                lab.hosts,
                pool.map(lambda h: _wait_for_banner(h.port, deadline), lab.hosts),
                strict=True,
            )
        )
    late = [f"{h.name}: {why}" for h, why in banners.items() if why != "ok"]
    if late:
        raise ToolkitError("sshd did not answer in time on " + "; ".join(late))
    addresses.record(podman, lab)
    return status(lab)


def down(lab: Lab) -> list[str]:
    """Remove every container and the network of the lab; the names removed."""
    podman = Podman()
    removed = []
    for info in podman.containers(f"{LAB_LABEL}={lab.name}"):
        podman.remove(info["Id"])
        removed.append(str(info["Names"][0]))
    firewall.release(lab.name)
    for network in lab.all_networks:
        if podman.network_exists(network.name):
            podman("network", "rm", "--force", network.name)
            removed.append(f"network {network.name}")
    keys.known_hosts_file(lab.state).unlink(missing_ok=True)
    addresses.remove_addresses(lab.inventory)
    return removed
