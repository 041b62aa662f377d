"""How a lab host's probe address reaches the audit: ``toolkit lab up`` writes each host's
container address as ``audit_address`` into the lab's inventory (host_vars), and the audit
reads it from the inventory like any host's variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from toolkit.adapters.ansible import InventoryHost
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.targets import plan
from toolkit.lab import addresses
from toolkit.lab.lab import Lab, LabHost
from toolkit.lab.labels import HOST_LABEL, LAB_LABEL


class FakePodman:
    """Answers ``ps`` and ``container inspect`` as podman does for two lab containers."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def containers(self, label: str) -> list[dict[str, Any]]:
        self.calls.append(("ps", label))
        return [{"Id": "c1"}, {"Id": "c2"}]

    def json(self, *args: str) -> list[dict[str, Any]]:
        self.calls.append(args)
        return [
            {
                "Config": {"Labels": {HOST_LABEL: "gateway", LAB_LABEL: "t-lab"}},
                "NetworkSettings": {"Networks": {"t-lab": {"IPAddress": "10.89.7.2"}}},
            },
            {
                "Config": {"Labels": {HOST_LABEL: "mail", LAB_LABEL: "t-lab"}},
                "NetworkSettings": {"Networks": {"podman": {"IPAddress": "10.88.0.9"}}},
            },
        ]


def _lab(inventory: Path) -> Lab:
    hosts = tuple(
        LabHost(name, port, frozenset({"servers"}), "bookworm", "t-lab")
        for name, port in (("gateway", 2201), ("mail", 2203))
    )
    return Lab("t-lab", inventory, hosts)


def test_lab_up_writes_each_containers_lab_network_address_as_its_audit_address(
    tmp_path: Path,
) -> None:
    podman = FakePodman()
    written = addresses.record(podman, _lab(tmp_path))  # type: ignore[arg-type]
    gateway = tmp_path / "host_vars" / "gateway" / "lab-address.yml"
    assert written == [gateway]
    assert yaml.safe_load(gateway.read_text()) == {"audit_address": "10.89.7.2"}
    assert ("ps", f"{LAB_LABEL}=t-lab") in podman.calls
    # mail's container is on no network of the lab: no address, no file
    assert not (tmp_path / "host_vars" / "mail").exists()


def test_lab_down_removes_the_address_files_and_the_folders_left_empty(tmp_path: Path) -> None:
    addresses.write_addresses(_lab(tmp_path), {"gateway": "10.89.7.2", "mail": "10.89.7.3"})
    kept = tmp_path / "host_vars" / "mail" / "tracked.yml"
    kept.write_text("---\nsomething: kept\n")
    removed = addresses.remove_addresses(tmp_path)
    assert len(removed) == 2
    assert not (tmp_path / "host_vars" / "gateway").exists()
    assert kept.read_text() == "---\nsomething: kept\n"


def test_the_audit_probes_audit_address_from_the_inventory_else_ansible_host(
    catalogue: Catalogue,
) -> None:
    hosts = [
        InventoryHost(
            "gateway",
            {"ansible_host": "127.0.0.1", "lab_name": "t-lab", "audit_address": "10.89.7.2"},
            frozenset({"servers"}),
        ),
        InventoryHost("mail", {"ansible_host": "127.0.0.1"}, frozenset({"servers"})),
    ]
    plans = {p.name: p for p in plan(catalogue, hosts, Path("/inv"))}
    assert plans["gateway"].address == "10.89.7.2"
    assert plans["mail"].address == "127.0.0.1"
