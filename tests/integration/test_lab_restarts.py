"""The shared lab (tests/integration/lab_environment.py) once provisioned, broken as
production breaks: a server lost, every machine restarted, the gateway and a service moved,
a host killed in the middle of an install; each time the platform comes back to the
verdicts it had. Last, `toolkit lab down` leaves nothing behind."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.integration.lab_environment import LAB, Environment
from tests.integration.lab_helpers import TOOLKIT, toolkit
from tests.integration.lab_probes import (
    addresses,
    assert_on_inventory_networks,
    containers,
    exec_on,
    handshake_after,
    probe_from,
    write_on,
)
from toolkit.adapters.podman import Podman
from toolkit.cli.main import cli

pytestmark = pytest.mark.lab


def test_a_server_whose_container_is_gone_is_restored_from_the_inventory_alone(
    lab_inventory: Path, environment: Environment, provisioned: dict[str, str]
) -> None:
    """A9, A5: the disaster a backup is for. The groupware host is down (its container
    stopped: no SSH, no status file to read); its drill finds the repository from the
    inventory, restores it in a scratch container, loads its PostgreSQL dump and verifies
    every file. The next test starts every container again."""
    Podman()("stop", "--time", "10", f"{LAB}-collab", timeout=120)
    try:
        done = toolkit("backup", "drill", *environment.options, "collab")
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-4000:]
        said = " ".join(output.split())  # as one line, whatever the console's width
        assert "collab cannot be reached" in said
        assert "backup:/srv/backup/collab from the inventory" in said
        evidence = json.loads(
            Path(re.findall(r"evidence (\S+\.json)", done.stdout)[-1]).read_text()
        )
        assert evidence["result"] == "passed" and evidence["host_reachable"] is False
        assert evidence["files_verified"] > 0
        assert any("PostgreSQL dump restored" in c["name"] and c["passed"]
                   for c in evidence["checks"])  # fmt: skip
    finally:
        CliRunner().invoke(cli, ["lab", "up", "-i", str(lab_inventory)])


def test_after_every_container_restarts_the_lab_comes_back_with_the_same_verdicts(
    lab_inventory: Path, environment: Environment, provisioned: dict[str, str], tmp_path: Path
) -> None:
    # as after a reboot of the machine: every container stops, `toolkit lab up` starts them
    names = [str(c["Names"][0]) for c in containers()]  # type: ignore[index]
    Podman()("stop", "--time", "10", *names, timeout=300)
    since = int(time.time())
    up = CliRunner().invoke(cli, ["lab", "up", "-i", str(lab_inventory)])
    assert up.exit_code == 0, up.output
    assert_on_inventory_networks(lab_inventory)
    assert handshake_after(since) <= 60
    assert environment.verdicts(tmp_path) == provisioned


def test_laptop01_follows_the_gateway_to_its_new_address_by_itself(
    lab_inventory: Path, environment: Environment, provisioned: dict[str, str]
) -> None:
    # The laptop's tunnel came up while `gateway` named an address nobody answers at (as
    # when the gateway moved, or the laptop roamed to a network whose DNS was stale) ...
    hosts = exec_on("laptop01", "cat", "/etc/hosts")
    gateway = addresses(lab_inventory)["gateway"]["outside"]
    elsewhere = gateway.rsplit(".", 1)[0] + ".250"
    stale = hosts.replace(f"{gateway}\tgateway", f"{elsewhere}\tgateway")
    assert stale != hosts
    write = "cat > /etc/hosts && systemctl restart wg-quick@wg0"
    write_on("laptop01", write, stale)
    endpoints = exec_on("laptop01", "wg", "show", "wg0", "endpoints")
    assert f"{elsewhere}:" in endpoints
    # ... then the name resolves right again: the re-resolving timer follows it, no restart
    since = int(time.time())
    up = CliRunner().invoke(cli, ["lab", "up", "-i", str(lab_inventory)])
    assert up.exit_code == 0, up.output
    assert handshake_after(since, limit=90) <= 90
    assert f"{gateway}:" in exec_on("laptop01", "wg", "show", "wg0", "endpoints")
    journal = exec_on("laptop01", "journalctl", "-t", "telework-wg-reresolve", "--no-pager")
    assert f"gateway:51820 now resolves to {gateway}:51820 (was {elsewhere}:51820)" in journal


def test_a_moved_service_host_is_used_at_once_by_the_rules_the_routes_and_a_new_bundle(
    lab_inventory: Path, environment: Environment, provisioned: dict[str, str]
) -> None:
    old = addresses(lab_inventory)["mail"]["inside"]
    new = old.rsplit(".", 1)[0] + ".23"
    hosts_file = lab_inventory / "hosts.yml"
    assert hosts_file.read_text().count(old) == 1
    hosts_file.write_text(hosts_file.read_text().replace(old, new))
    # ... and the sysadmin writes its new address into the environment
    env_hosts = environment.path / "hosts.yml"
    at_old = re.compile(rf"(?<![\d.]){re.escape(old)}(?![\d.])")
    assert at_old.search(env_hosts.read_text())
    env_hosts.write_text(at_old.sub(new, env_hosts.read_text()))
    up = CliRunner().invoke(cli, ["lab", "up", "-i", str(lab_inventory)])
    assert up.exit_code == 0, up.output
    assert_on_inventory_networks(lab_inventory)
    # only what uses the address: the gateway's policy and export, the laptops' routes
    done = toolkit("provision", *environment.options, "--limit", "vpn_gateways:laptops")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    policy = exec_on("gateway", "nft", "list", "table", "inet", "telework_vpn")
    assert new in policy
    assert old not in policy
    # the laptops route the environment's internal network (toolkit init's
    # --internal-network) through the tunnel: the new address with it
    assert " dev wg0 " in exec_on("laptop01", "ip", "-4", "route", "get", new)
    bundle = toolkit("vpn", "bundle", *environment.options, "ag0002", "ph-0002")
    assert bundle.returncode == 0, bundle.stdout + bundle.stderr
    config = next((environment.path / ".vpn" / "bundles").glob("*ph-0002*.conf")).read_text()
    allowed_ips = next(ln for ln in config.splitlines() if ln.startswith("AllowedIPs"))
    routed = [ipaddress.ip_network(n.strip()) for n in allowed_ips.split("=", 1)[1].split(",")]
    assert any(ipaddress.ip_address(new) in network for network in routed), allowed_ips
    assert probe_from("laptop01", [f"{new}:993"]) == {f"{new}:993"}


def test_a_host_killed_while_dpkg_installs_converges_on_the_next_run_to_the_same_verdict(
    lab_inventory: Path, environment: Environment, provisioned: dict[str, str], tmp_path: Path
) -> None:
    victim, container = "backup", f"{LAB}-backup"
    podman = Podman()
    # the baseline installs fail2ban: take it away so that the next run installs it again
    podman("exec", container, "apt-get", "purge", "-y", "-q", "fail2ban", timeout=300)
    run = subprocess.Popen(
        [str(TOOLKIT), "provision", *environment.options, "--limit", victim],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # In the container: as soon as dpkg's journal holds an update (a package half
        # unpacked), kill dpkg, then the whole container (a host lost mid-install).
        watch = (
            "i=0; while [ $i -lt 6000 ]; do "
            "if ls -A /var/lib/dpkg/updates | grep -q '^[0-9]'; then pkill -9 -x dpkg; exit 0; fi; "
            "i=$((i+1)); sleep 0.05; done; exit 1"
        )
        podman("exec", container, "sh", "-c", watch, timeout=330)
        podman("kill", container)
    finally:
        run.wait(timeout=300)
    assert run.returncode != 0
    up = CliRunner().invoke(cli, ["lab", "up", "-i", str(lab_inventory)])
    assert up.exit_code == 0, up.output
    # dpkg's journal still holds the update it was writing: apt refuses to run until repaired
    journal = podman("exec", container, "ls", "/var/lib/dpkg/updates").stdout.split()
    assert any(name.isdigit() for name in journal), journal
    done = toolkit("provision", *environment.options, "--limit", victim)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    log = re.search(r"ansible-playbook log: (\S+)", done.stdout)
    assert log is not None, done.stdout
    assert f"Repaired what an interrupted run left on {victim}: dpkg was interrupted" in (
        " ".join(Path(log.group(1)).read_text().split())
    )
    assert "ii" in exec_on(victim, "dpkg-query", "-W", "-f=${db:Status-Abbrev}", "fail2ban")
    assert environment.verdicts(tmp_path, "--limit", victim) == {victim: provisioned[victim]}


def test_lab_down_leaves_no_container_or_network(lab_inventory: Path) -> None:
    result = CliRunner().invoke(cli, ["lab", "down", "-i", str(lab_inventory)])
    assert result.exit_code == 0, result.output
    assert containers() == []
    for network in (f"{LAB}-inside", f"{LAB}-outside"):
        assert not Podman().network_exists(network)
