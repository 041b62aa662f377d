"""The lab's networks and static addresses come from its inventory (toolkit.lab.networks):
each problem names the inventory field, podman gets each host's networks and addresses, and
each host's /etc/hosts names every other host by the address it reaches it at."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.errors import InvalidInputError
from toolkit.lab import addresses, networks
from toolkit.lab.lab import load_lab
from toolkit.lab.networks import LabNetwork

REPO = Path(__file__).resolve().parents[2]
NETS = {
    "outside": {"subnet": "10.70.1.0/24", "gateway": "10.70.1.1"},
    "inside": {"subnet": "10.70.2.0/24", "gateway": "10.70.2.1"},
}


def _problems() -> tuple[list[tuple[str, str]], networks.Report]:
    found: list[tuple[str, str]] = []
    return found, lambda field, message: found.append((field, message))


def test_two_networks_are_read_with_their_subnets_and_podman_names() -> None:
    found, bad = _problems()
    parsed = networks.parse_networks("lab", NETS, bad)
    assert found == []
    assert parsed == (
        LabNetwork("outside", "lab-outside", "10.70.1.0/24", "10.70.1.1"),
        LabNetwork("inside", "lab-inside", "10.70.2.0/24", "10.70.2.1"),
    )


def test_an_inventory_without_networks_keeps_one_network_named_after_the_lab() -> None:
    found, bad = _problems()
    assert networks.parse_networks("lab", None, bad) == (LabNetwork("", "lab"),)
    assert found == []


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"Out": NETS["outside"]}, "lab_networks.Out", "lowercase"),
        ({"outside": {"subnet": "10.70.1.0/33", "gateway": "10.70.1.1"}}, "lab_networks.outside",
         "subnet"),
        ({"outside": {"subnet": "10.70.1.0/24", "gateway": "10.70.9.1"}},
         "lab_networks.outside.gateway", "not a host address"),
        ({"a": NETS["outside"], "b": {"subnet": "10.70.1.128/25", "gateway": "10.70.1.129"}},
         "lab_networks.b.subnet", "overlaps"),
        ([1, 2], "lab_networks", "mapping"),
    ],
)  # fmt: skip
def test_a_bad_network_is_reported_by_its_field(raw: object, field: str, words: str) -> None:
    found, bad = _problems()
    networks.parse_networks("lab", raw, bad)
    assert [f for f, _ in found] == [field]
    assert words in found[0][1]


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        (None, "h.lab_addresses", "at least one"),
        ({"dmz": "10.70.1.5"}, "h.lab_addresses.dmz", "not a lab network"),
        ({"inside": "10.70.1.5"}, "h.lab_addresses.inside", "not a free host address"),
        ({"inside": "10.70.2.1"}, "h.lab_addresses.inside", "not a free host address"),
        ({"inside": "10.70.2.255"}, "h.lab_addresses.inside", "not a free host address"),
        ({"inside": "10.70.2.9"}, "h.lab_addresses.inside", "already given to other"),
        ({"inside": "ten"}, "h.lab_addresses.inside", "IPv4"),
    ],
)
def test_a_bad_address_is_reported_by_its_field(raw: object, field: str, words: str) -> None:
    found, bad = _problems()
    parsed = networks.parse_networks("lab", NETS, bad)
    networks.parse_addresses("h", raw, parsed, {"10.70.2.9": "other"}, bad)
    assert [f for f, _ in found] == [field]
    assert words in found[0][1]


def test_podman_attaches_a_host_to_each_network_at_its_address_with_its_name() -> None:
    _, bad = _problems()
    parsed = networks.parse_networks("lab", NETS, bad)
    addresses = (("inside", "10.70.2.2"), ("outside", "10.70.1.2"))
    assert networks.network_args("gateway", addresses, parsed) == [
        "--no-hosts",
        "--network",
        "lab-inside:ip=10.70.2.2,alias=gateway",
        "--network",
        "lab-outside:ip=10.70.1.2,alias=gateway",
    ]
    assert networks.network_args("gateway", (), (LabNetwork("lab", "lab"),)) == [
        "--network",
        "lab",
        "--network-alias",
        "gateway",
    ]


def test_each_host_file_names_the_others_by_the_address_reached_from_there() -> None:
    everyone = {
        "gateway": (("inside", "10.70.2.2"), ("outside", "10.70.1.2")),
        "mail": (("inside", "10.70.2.13"),),
        "laptop": (("outside", "10.70.1.101"),),
    }
    laptop = networks.hosts_file("laptop", everyone).splitlines()
    assert laptop[-3:] == ["10.70.1.101\tlaptop", "10.70.1.2\tgateway", "10.70.2.13\tmail"]
    mail = networks.hosts_file("mail", everyone).splitlines()
    assert mail[-3:] == ["10.70.2.13\tmail", "10.70.2.2\tgateway", "10.70.1.101\tlaptop"]
    assert "127.0.0.1\tlocalhost" in laptop


def test_the_lab_inventory_puts_servers_inside_the_laptop_outside_and_the_gateway_on_both() -> None:
    lab = load_lab(REPO / "inventories" / "lab")
    assert {n.key for n in lab.networks} == {"inside", "outside"}
    sides = {h.name: {key for key, _ in h.addresses} for h in lab.hosts}
    assert sides.pop("gateway") == {"inside", "outside"}
    assert sides.pop("laptop01") == {"outside"}
    assert set(map(frozenset, sides.values())) == {frozenset({"inside"})}


def test_a_lab_inventory_with_a_bad_address_is_refused_naming_the_file_and_field(
    tmp_path: Path,
) -> None:
    (tmp_path / "group_vars" / "all").mkdir(parents=True)
    (tmp_path / "group_vars" / "all" / "lab.yml").write_text(
        "lab_name: t-lab\nansible_host: 127.0.0.1\n"
    )
    (tmp_path / "hosts.yml").write_text(
        "all:\n  vars:\n    lab_networks:\n"
        "      inside: {subnet: 10.70.2.0/24, gateway: 10.70.2.1}\n"
        "  hosts:\n"
        "    a: {ansible_port: 2301, lab_addresses: {inside: 10.70.2.5}}\n"
        "    b: {ansible_port: 2302, lab_addresses: {inside: 10.70.2.5}}\n"
    )
    with pytest.raises(InvalidInputError) as caught:
        load_lab(tmp_path)
    text = str(caught.value)
    assert "hosts.yml" in text
    assert "b.lab_addresses.inside" in text
    assert "already given to a" in text


class NoPodman:
    """A lab whose addresses the inventory states never asks podman for them."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"podman was asked: {name}")


def test_the_audit_probes_a_static_host_at_its_first_inventory_address(tmp_path: Path) -> None:
    lab = load_lab(REPO / "inventories" / "lab")
    lab = type(lab)(lab.name, tmp_path, lab.hosts, lab.networks)
    written = addresses.record(NoPodman(), lab)  # type: ignore[arg-type]
    assert len(written) == len(lab.hosts)
    gateway = (tmp_path / "host_vars" / "gateway" / "lab-address.yml").read_text()
    assert gateway.endswith("audit_address: 10.60.2.2\n")
    mail = (tmp_path / "host_vars" / "mail" / "lab-address.yml").read_text()
    assert mail.endswith("audit_address: 10.60.2.13\n")
