"""The lab for real: podman system containers reached over SSH on 127.0.0.1.

A copy of inventories/lab under another lab name and other ports, so a lab a person has
running is left alone."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.conftest import REPO
from toolkit.adapters.ansible import ansible_env, tool
from toolkit.adapters.podman import Podman
from toolkit.adapters.process import run
from toolkit.cli.main import cli
from toolkit.lab.lab import LAB_LABEL, free_local_ports

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab_inventory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    inv = tmp_path_factory.mktemp("lab") / "lab"
    shutil.copytree(REPO / "inventories" / "lab", inv, ignore=shutil.ignore_patterns(".lab"))
    hosts_file = inv / "hosts.yml"
    data = yaml.safe_load(hosts_file.read_text())
    ports = iter(free_local_ports(20))

    def renumber(group: dict[str, object]) -> None:
        for host_vars in (group.get("hosts") or {}).values():  # type: ignore[union-attr]
            if host_vars is not None:  # None: a host listed again in another group
                host_vars["ansible_port"] = next(ports)
        for child in (group.get("children") or {}).values():  # type: ignore[union-attr]
            renumber(child)

    renumber(data["all"])
    hosts_file.write_text(yaml.safe_dump(data))
    lab_vars = inv / "group_vars" / "all" / "lab.yml"
    lab_vars.write_text(
        lab_vars.read_text().replace("lab_name: telework-lab", "lab_name: ttk-test-lab")
    )
    yield inv
    CliRunner().invoke(cli, ["lab", "down", "-i", str(inv)])


def _containers() -> list[dict[str, object]]:
    return Podman().containers(f"{LAB_LABEL}=ttk-test-lab")


def test_lab_up_starts_every_inventory_host_with_ssh_login(lab_inventory: Path) -> None:
    result = CliRunner().invoke(cli, ["lab", "up", "-i", str(lab_inventory)])
    assert result.exit_code == 0, result.output
    names = sorted(str(c["Names"][0]) for c in _containers())  # type: ignore[index]
    assert names == [
        f"ttk-test-lab-{h}"
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
    for info in _containers():
        inspect = podman.json("container", "inspect", str(info["Id"]))[0]
        host = inspect["Config"]["Labels"]["io.telework.host"]
        caps = set(inspect["EffectiveCaps"] or [])
        devices = [d["PathOnHost"] for d in inspect["HostConfig"]["Devices"] or []]
        assert inspect["HostConfig"]["Privileged"] is False, host
        assert {"CAP_NET_ADMIN", "CAP_DAC_READ_SEARCH", "CAP_AUDIT_WRITE"} <= caps, host
        assert "CAP_AUDIT_CONTROL" not in caps, host
        assert ("/dev/net/tun" in devices) == (host in ("gateway", "laptop01")), host
        assert inspect["HostConfig"]["PortBindings"]["22/tcp"][0]["HostIp"] == "127.0.0.1"


def test_lab_hosts_reach_each_other_by_name(lab_inventory: Path) -> None:
    result = Podman()("exec", "ttk-test-lab-laptop01", "getent", "hosts", "gateway")
    assert "gateway" in result.stdout


def test_lab_status_shows_every_host_running_with_ssh(lab_inventory: Path) -> None:
    result = CliRunner().invoke(cli, ["lab", "status", "-i", str(lab_inventory), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 8
    assert {(r["state"], r["ssh"]) for r in rows} == {("running", "ok")}


def test_a_second_lab_up_changes_nothing(lab_inventory: Path) -> None:
    before = {c["Id"] for c in _containers()}
    result = CliRunner().invoke(cli, ["lab", "up", "-i", str(lab_inventory)])
    assert result.exit_code == 0, result.output
    assert {c["Id"] for c in _containers()} == before


def test_the_same_lab_from_another_checkout_is_refused_not_taken_over(
    lab_inventory: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-checkout"
    shutil.copytree(lab_inventory, other, ignore=shutil.ignore_patterns(".lab"))
    before = {c["Id"] for c in _containers()}
    result = CliRunner().invoke(cli, ["lab", "up", "-i", str(other)])
    assert result.exit_code == 1
    assert "was started from another inventory" in result.stderr
    assert {c["Id"] for c in _containers()} == before


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


def test_lab_down_leaves_no_container_or_network(lab_inventory: Path) -> None:
    result = CliRunner().invoke(cli, ["lab", "down", "-i", str(lab_inventory)])
    assert result.exit_code == 0, result.output
    assert _containers() == []
    assert not Podman().network_exists("ttk-test-lab")
