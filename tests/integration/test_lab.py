"""The lab for real: podman system containers reached over SSH on 127.0.0.1.

The machines of the shared lab (tests/integration/lab_environment.py): a copy of
inventories/lab under another lab name, other ports and other subnets, so a lab a person
has running is left alone. Brought up here; test_lab_provisioned.py provisions them and
test_lab_restarts.py ends by taking them down."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.integration.lab_environment import LAB
from tests.integration.lab_probes import (
    addresses,
    assert_on_inventory_networks,
    containers,
    probe_from,
    probe_from_here,
)
from toolkit.adapters.ansible import ansible_env, tool
from toolkit.adapters.podman import Podman
from toolkit.adapters.process import run
from toolkit.cli.main import cli

pytestmark = pytest.mark.lab


def test_lab_up_starts_every_inventory_host_with_ssh_login(lab_inventory: Path) -> None:
    result = CliRunner().invoke(cli, ["lab", "up", "-i", str(lab_inventory)])
    assert result.exit_code == 0, result.output
    names = sorted(str(c["Names"][0]) for c in containers())  # type: ignore[index]
    assert names == [
        f"{LAB}-{h}"
        for h in ("backup", "collab", "directory", "gateway", "laptop01", "logs", "mail", "visio")
    ]


def test_every_lab_host_answers_an_ansible_ping_over_ssh(lab_inventory: Path) -> None:
    proc = run(
        [tool("ansible"), "all", "-i", str(lab_inventory), "-m", "ansible.builtin.ping"],
        env=ansible_env(
            {
                "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
                "ANSIBLE_CALLBACKS_ENABLED": "toolkit_events",
                "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
            }
        ),
        timeout=180,
    )
    hosts = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]
    assert len(hosts) == 8
    assert {h: r.get("ping") for h, r in hosts.items()} == dict.fromkeys(hosts, "pong")


def test_lab_hosts_get_net_admin_tun_only_where_needed_and_never_privileges() -> None:
    podman = Podman()
    for info in containers():
        inspect = podman.json("container", "inspect", str(info["Id"]))[0]
        host = inspect["Config"]["Labels"]["io.telework.host"]
        caps = set(inspect["EffectiveCaps"] or [])
        devices = [d["PathOnHost"] for d in inspect["HostConfig"]["Devices"] or []]
        assert inspect["HostConfig"]["Privileged"] is False, host
        assert {"CAP_NET_ADMIN", "CAP_DAC_READ_SEARCH", "CAP_AUDIT_WRITE"} <= caps, host
        assert "CAP_AUDIT_CONTROL" not in caps, host
        assert ("/dev/net/tun" in devices) == (host in ("gateway", "laptop01")), host
        assert inspect["HostConfig"]["PortBindings"]["22/tcp"][0]["HostIp"] == "127.0.0.1"


def test_each_host_is_on_its_inventory_networks_at_its_inventory_addresses(
    lab_inventory: Path,
) -> None:
    assert_on_inventory_networks(lab_inventory)
    assert set(addresses(lab_inventory)["gateway"]) == {"inside", "outside"}
    assert set(addresses(lab_inventory)["laptop01"]) == {"outside"}


def test_lab_hosts_resolve_each_other_by_the_address_they_reach_them_at(
    lab_inventory: Path,
) -> None:
    at = addresses(lab_inventory)
    laptop = Podman()("exec", f"{LAB}-laptop01", "getent", "hosts", "gateway", "mail").stdout
    gateway, mail = at["gateway"]["outside"], at["mail"]["inside"]
    assert laptop.split() == [gateway, "gateway", mail, "mail"]
    server = Podman()("exec", f"{LAB}-mail", "getent", "hosts", "gateway").stdout
    assert server.split() == [at["gateway"]["inside"], "gateway"]


def test_no_packet_crosses_between_outside_and_inside_but_the_gateway_and_auditor_reach_both(
    lab_inventory: Path,
) -> None:
    at = addresses(lab_inventory)
    inside = [f"{a['inside']}:22" for a in at.values() if "inside" in a]
    outside = [f"{a['outside']}:22" for a in at.values() if "outside" in a]
    # every host's sshd listens on 22: a refused connection would still be a reached host
    assert probe_from("laptop01", inside) == set()
    assert probe_from("laptop01", outside) == set(outside)
    assert probe_from("gateway", inside) == set(inside)
    assert probe_from("mail", outside) == set()  # the inside meets the gateway inside only
    assert probe_from_here(inside + outside) == set(inside + outside)


def test_lab_status_shows_every_host_running_with_ssh(lab_inventory: Path) -> None:
    result = CliRunner().invoke(cli, ["lab", "status", "-i", str(lab_inventory), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 8
    assert {(r["state"], r["ssh"]) for r in rows} == {("running", "ok")}


def test_a_second_lab_up_changes_nothing(lab_inventory: Path) -> None:
    before = {c["Id"] for c in containers()}
    result = CliRunner().invoke(cli, ["lab", "up", "-i", str(lab_inventory)])
    assert result.exit_code == 0, result.output
    assert {c["Id"] for c in containers()} == before


def test_the_same_lab_from_another_checkout_is_refused_not_taken_over(
    lab_inventory: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-checkout"
    shutil.copytree(lab_inventory, other, ignore=shutil.ignore_patterns(".lab"))
    before = {c["Id"] for c in containers()}
    result = CliRunner().invoke(cli, ["lab", "up", "-i", str(other)])
    assert result.exit_code == 1
    assert "was started from another inventory" in result.stderr
    assert {c["Id"] for c in containers()} == before


def test_ssh_refuses_a_host_key_other_than_the_pinned_one(lab_inventory: Path) -> None:
    known = lab_inventory / ".lab" / "ssh" / "known_hosts"
    original = known.read_text()
    lines = original.splitlines()
    # give the gateway's port the key of another host
    swapped = [lines[0].split()[0] + " " + " ".join(lines[1].split()[1:]), *lines[1:]]
    known.write_text("\n".join(swapped) + "\n")
    try:
        result = CliRunner().invoke(cli, ["lab", "status", "-i", str(lab_inventory), "--json"])
        rows = {r["host"]: r["ssh"] for r in json.loads(result.stdout)}
        first_host = sorted(rows)[0]
        assert result.exit_code == 5
        assert rows[first_host] != "ok"
    finally:
        known.write_text(original)
