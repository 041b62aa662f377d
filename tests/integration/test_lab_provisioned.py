"""The shared lab provisioned (tests/integration/lab_environment.py): an administration's
environment that `toolkit init` made for the lab's machines, its secrets in Ansible Vault,
on Debian 13. `toolkit provision`, a restore drill of every backed-up server and the
continuity plan run once, as ./run lab does, then one audit: it finds nothing on any host
(every platform is built, backed up and its restore proven; any finding is a regression).
The tests below look at what that run left, then use the platform as its users do."""

from __future__ import annotations

import fnmatch
import json
import re
import stat
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.integration.lab_environment import (
    CLEAR_FILES,
    LAB,
    LAB_WAIVERS,
    Environment,
    platform_hosts,
)
from tests.integration.lab_helpers import LAB_HOSTS, assert_every_host_goes, toolkit
from tests.integration.lab_probes import (
    addresses,
    exec_on,
    handshake_after,
    probe_from,
    write_on,
)
from toolkit.adapters.podman import Podman
from toolkit.lab import firewall
from toolkit.lab.image import image_ref
from toolkit.secrets import VAULT_HEADER, read_secret

pytestmark = pytest.mark.lab


def test_the_environment_holds_every_lab_host_in_its_lab_groups(
    lab_inventory: Path, environment: Environment
) -> None:
    groups = {(g, h) for g, h, _ in platform_hosts(lab_inventory)}
    assert {(g, h) for g, h, _ in platform_hosts(environment.path)} == groups
    assert {h for _, h in groups} == set(LAB_HOSTS)


def test_the_provisioned_environment_audits_go_on_every_host_as_the_lab_does(
    provisioned_audit: Path, provisioned: dict[str, str]
) -> None:
    assert_every_host_goes(provisioned_audit, LAB_HOSTS)
    assert provisioned == dict.fromkeys(LAB_HOSTS, "go")


def test_nothing_is_waived_but_what_the_lab_waives_for_its_containers(
    provisioned_audit: Path,
) -> None:
    lab = {w["control"] for w in yaml.safe_load(LAB_WAIVERS.read_text())["waivers"]}
    report = json.loads((provisioned_audit / "report.json").read_text())
    waived = {
        h["host"]: {r["control"] for r in h["results"] if r.get("waiver")} for h in report["hosts"]
    }
    assert lab == {"LNX-08", "LNX-09", "LAP-01"}
    assert {h: w for h, w in waived.items() if not w <= lab} == {}


def _secrets(env: Path, vault: Path) -> set[str]:
    """Every secret value the environment holds: each value of the decrypted vault, and
    each file under .credentials/ (decrypted when vaulted)."""
    view = subprocess.run(
        [str(REPO / ".venv/bin/ansible-vault"), "view", "--vault-password-file", str(vault),
         str(env / "group_vars/all/vault.yml")],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    values = set(re.findall(r"^vault_[a-z0-9_]+: (\S+)$", view, flags=re.M))
    for path in (env / ".credentials").rglob("*"):
        if path.is_file():
            values.add(read_secret(path, vault).decode().strip())
    return values


def test_no_secret_is_in_clear_in_the_environment_but_where_the_runbook_says(
    environment: Environment, provisioned_audit: Path
) -> None:
    env, vault = environment.path, environment.vault
    values = _secrets(env, vault)
    # the vault's sudo password, the audit's copy of it, the roles' generated ones
    assert len(values) >= 10 and all(len(v) >= 16 for v in values), sorted(map(len, values))
    leaks = {}
    for path in (p for p in env.rglob("*") if p.is_file()):
        relative = str(path.relative_to(env))
        if any(fnmatch.fnmatch(relative, pattern) for pattern in CLEAR_FILES):
            continue
        data = path.read_bytes()
        if found := [v for v in values if v.encode() in data]:
            leaks[relative] = len(found)
    assert leaks == {}
    docs = (REPO / "docs" / "production.md").read_text(encoding="utf-8")
    for pattern in CLEAR_FILES:
        assert f"`{pattern.removesuffix('*')}`" in docs, pattern


def test_the_vault_is_an_ansible_vault_file_and_its_password_lies_outside_the_environment(
    environment: Environment, provisioned_audit: Path
) -> None:
    env, vault = environment.path, environment.vault
    vault_file = env / "group_vars/all/vault.yml"
    assert vault_file.read_bytes().startswith(VAULT_HEADER)
    assert stat.S_IMODE(vault_file.stat().st_mode) == 0o600
    assert not vault.resolve().is_relative_to(env.resolve())
    become = env / ".credentials/become.password"
    assert become.read_bytes().startswith(VAULT_HEADER)


#: The servers the backup role backs up (every server but the backup host).
BACKED_UP = ("collab", "directory", "gateway", "logs", "mail", "visio")
#: Ports the inside servers may listen on: what a device outside might try to reach.
INSIDE_PORTS = (22, 25, 389, 443, 465, 587, 636, 993, 5349, 6514)
#: What laptop01's teleworker (ag0001: VPN groups staff and admins) may reach through the
#: tunnel (the environment's group_vars/vpn_gateways, as `toolkit init` maps them): mail, collaboration and
#: videoconference for staff, SSH (port 22) on every server for admins.
ALLOWED = {("mail", p) for p in (25, 465, 587, 993)} | {
    ("collab", 443),
    ("visio", 443),
    ("visio", 5349),
}


def test_laptop01_is_audited_as_a_managed_laptop_and_only_its_disk_encryption_is_waived(
    provisioned_audit: Path,
) -> None:
    """The laptops profile ran on laptop01 (role laptop applied by site.yml): LAP-01 is
    waived (a container has no disk to encrypt), every other LAP control holds."""
    report = json.loads((provisioned_audit / "report.json").read_text())
    laptop = next(h for h in report["hosts"] if h["host"] == "laptop01")
    results = {r["control"]: r for r in laptop["results"] if r["control"].startswith("LAP-")}
    assert sorted(results) == [f"LAP-{i:02d}" for i in range(1, 13)]
    assert results["LAP-01"]["waiver"], results["LAP-01"]
    held = {c: r["status"] for c, r in results.items() if c != "LAP-01"}
    assert set(held.values()) <= {"pass", "warn"}, {
        c: results[c]["summary"] for c, status in held.items() if status not in ("pass", "warn")
    }


def test_two_probe_accounts_met_on_visio_and_their_media_went_through_it(
    provisioned_audit: Path,
) -> None:
    """VC-06 (M6) ran for real (./run's Debian packages include chromium): the directory's
    two probe accounts joined one room in headless Chromium, the second decoded the
    first's video from visio's address, and the application logged both joins (M13)."""
    report = json.loads((provisioned_audit / "report.json").read_text())
    visio = next(h for h in report["hosts"] if h["host"] == "visio")
    vc06 = next(r for r in visio["results"] if r["control"] == "VC-06")
    assert vc06["status"] == "pass", vc06["summary"]
    assert "audit-probe-2 decoded" in vc06["summary"]
    joins = exec_on("visio", "journalctl", "-t", "telework-visio", "-o", "cat", "--no-pager")
    for probe in ("audit-probe", "audit-probe-2"):
        assert re.search(rf"^join user={probe} room=audit-vc06-[0-9a-f]{{8}} ", joins, re.M)


def test_every_server_was_backed_up_at_provisioning_and_its_restore_proven(
    provisioned_audit: Path,
) -> None:
    """A9, A5: each server's first backup came with site.yml, and its drill restored it in a
    scratch container: the directory's entries loaded into a slapd, the groupware's
    database into a PostgreSQL, every file matching the archive's manifest."""
    for host in BACKED_UP:
        status = json.loads(exec_on(host, "cat", "/var/lib/telework-backup/status.json"))
        assert status["result"] == "ok" and status["backup_server"] == "backup", host
        drill = json.loads(exec_on(host, "cat", "/var/lib/telework-backup/last-drill.json"))
        assert drill["result"] == "passed" and drill["files_verified"] > 0, host
        assert drill["archive"] == status["archive"], host
        assert drill["rto_seconds"] is not None, host
        checks = {c["name"]: c["passed"] for c in drill["checks"]}
        assert all(checks.values()), (host, checks)
        if host == "directory":  # its data and its configuration (cn=config), each loaded
            assert {f"directory {dump}.ldif: LDAP entries loaded into a scratch slapd"
                    for dump in ("data", "config")} <= set(checks), checks  # fmt: skip
        if host == "collab":
            assert any("PostgreSQL dump restored" in name for name in checks), checks


def _inside_targets(inventory: Path) -> dict[str, tuple[str, int]]:
    """ADDRESS:PORT -> (host, port) for every inside-only server and port."""
    return {
        f"{a['inside']}:{port}": (host, port)
        for host, a in addresses(inventory).items()
        if set(a) == {"inside"}
        for port in INSIDE_PORTS
    }


def _tear_down_another_isolated_network() -> None:
    podman = Podman()
    name = "ttk-test-isolated-probe"
    podman("network", "create", "--opt", "isolate=true", "--subnet", "10.61.250.0/24", name)
    try:
        podman("run", "--rm", "--network", name, image_ref("bookworm"), "true", timeout=120)
    finally:
        podman("network", "rm", "--force", name)


def test_laptop01_reaches_no_inside_service_with_the_tunnel_down_and_exactly_its_groups_with_it_up(
    lab_inventory: Path, provisioned: dict[str, str]
) -> None:
    targets = _inside_targets(lab_inventory)
    # The gateway forwards the tunnel's packets from its inside address (masquerade): what it
    # reaches itself is what a device may reach, then the access policy (A13) narrows it.
    open_to_gateway = probe_from("gateway", list(targets))
    allowed = {t for t in open_to_gateway if targets[t] in ALLOWED or targets[t][1] == 22}
    assert ("mail", 993) in {targets[t] for t in allowed}
    assert ("directory", 636) in {targets[t] for t in open_to_gateway - allowed}
    # Another isolated podman network used and removed on this machine (another lab taken
    # down): netavark then drops the isolation jump that every isolated network shares. The
    # lab's own nftables table must still keep the outside from the inside.
    _tear_down_another_isolated_network()
    assert firewall.holds(LAB)
    exec_on("laptop01", "systemctl", "stop", "wg-quick@wg0")
    try:
        assert probe_from("laptop01", list(targets)) == set()
    finally:
        since = int(time.time())
        exec_on("laptop01", "systemctl", "start", "wg-quick@wg0")
    handshake_after(since)
    assert probe_from("laptop01", list(targets)) == allowed


def test_vpn05_fails_when_laptop01_routes_nothing_through_the_tunnel(
    lab_inventory: Path, environment: Environment, provisioned: dict[str, str], tmp_path: Path
) -> None:
    conf = "/etc/wireguard/wg0.conf"
    original = exec_on("laptop01", "cat", conf)
    tunnel_only = re.sub(r"(?m)^AllowedIPs = .*$", "AllowedIPs = 10.77.0.0/20", original)
    assert tunnel_only != original
    write = f"cat > {conf} && systemctl restart wg-quick@wg0"
    write_on("laptop01", write, tunnel_only)
    try:
        verdicts = environment.verdicts(tmp_path, "--limit", "laptop01", "--control", "VPN-05")
        report = json.loads((tmp_path / "report.json").read_text())
        summary = report["hosts"][0]["results"][0]["summary"]
        assert verdicts == {"laptop01": "no-go"}
        mail = addresses(lab_inventory)["mail"]["inside"]
        assert f"allowed {mail}:993 is not reachable" in summary
    finally:
        write_on("laptop01", write, original)


def _newest_log_on_collector(host: str) -> int:
    """Unix time of the newest day file the collector keeps for ``host`` (0: none)."""
    listing = exec_on("logs", "find", f"/var/log/remote/{host}", "-name", "*.log", "-printf",
                    "%T@\\n")  # fmt: skip
    return max((int(float(t)) for t in listing.split()), default=0)


def test_log01_fails_for_the_one_host_whose_forwarding_stopped_and_passes_once_it_sends_again(
    environment: Environment, provisioned: dict[str, str], tmp_path: Path
) -> None:
    # `backup` stops forwarding (its rsyslog stops); a day passes for its folder on the
    # collector, as if the audit ran a day later (its files' times are set 25 h back).
    exec_on("backup", "systemctl", "stop", "rsyslog.service", "syslog.socket")
    try:
        exec_on("logs", "sh", "-c", "find /var/log/remote/backup -name '*.log' "
              "-exec touch -d '25 hours ago' {} +")  # fmt: skip
        assert _newest_log_on_collector("backup") < time.time() - 24 * 3600
        verdicts = environment.verdicts(
            tmp_path / "silent", "--limit", "logs", "--control", "LOG-01"
        )
        result = json.loads((tmp_path / "silent" / "report.json").read_text())["hosts"][0]
        summary = result["results"][0]["summary"]
        assert verdicts == {"logs": "no-go"}
        assert re.search(r"sent nothing in the last 24 h: backup$", summary), summary
    finally:
        exec_on("backup", "systemctl", "start", "rsyslog.service")
    # It sends again: a line logged on `backup` reaches the collector, LOG-01 passes.
    since = time.time()
    deadline = since + 60
    while _newest_log_on_collector("backup") < since - 1:
        assert time.time() < deadline, "backup's logs did not reach the collector in 60 s"
        exec_on("backup", "logger", "-t", "telework-test", "forwarding is back")
        time.sleep(2)
    back = environment.verdicts(tmp_path / "back", "--limit", "logs", "--control", "LOG-01")
    assert back == {"logs": "go"}


def test_load_vpn_carries_its_devices_on_the_gateway_then_takes_its_peers_away(
    environment: Environment, provisioned: dict[str, str], tmp_path: Path
) -> None:
    """A20, M7: `toolkit load vpn` registers a peer for each simulated device on the
    gateway, each makes real WireGuard handshakes with it, and the peers are gone after."""
    before = sorted(exec_on("gateway", "wg", "show", "wg0", "peers").split())
    result_file = tmp_path / "vpn.json"
    done = toolkit("load", "vpn", *environment.options, "--profile", "flood",
                   "--steps", "5,20", "--step-seconds", "5", "-o", str(result_file),
                   timeout=600)  # fmt: skip
    said = " ".join(done.stdout.split())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "vpn: carries 20 peers handshaking back to back" in said
    assert "cleanup: 22 load peers removed from gateway" in said
    steps = json.loads(result_file.read_text())["steps"]
    top = next(r for r in steps[-1]["requests"] if r["name"] == "handshake")
    assert top["count"] > 20 and top["failures"] == 0, top
    assert sorted(exec_on("gateway", "wg", "show", "wg0", "peers").split()) == before
    ceilings = json.loads((environment.path / "capacity" / "ceilings.json").read_text())
    assert ceilings["ceilings"]["vpn"]["rates"]["handshake"] > 0


def test_load_tunnel_measures_laptop01_s_tunnel_both_ways_and_leaves_iperf3_s_port_closed(
    environment: Environment, provisioned: dict[str, str], tmp_path: Path
) -> None:
    """A20, M3: `toolkit load tunnel` runs iperf3 from laptop01 through its tunnel to the
    gateway, into the site and out of it, and saves both figures. The gateway's iperf3 port
    is closed to the tunnel before and after: only the measurement opens it."""
    export = json.loads((environment.path / ".vpn" / "gateways" / "gateway.json").read_text())
    gateway, port = export["address_v4"], export["throughput"]["port"]
    # An iperf3 that listens on the gateway outside a measurement is not reachable.
    exec_on("gateway", "sh", "-c", f"timeout 8 iperf3 -s -1 -B {gateway} -p {port} "
            ">/dev/null 2>&1 &")  # fmt: skip

    def listening() -> bool:
        return bool(exec_on("gateway", "ss", "-Hltn", f"sport = :{port}").strip())

    deadline = time.monotonic() + 8
    while not listening():
        assert time.monotonic() < deadline, "iperf3 did not listen on the gateway in 8 s"
        time.sleep(0.2)
    assert probe_from("laptop01", [f"{gateway}:{port}"]) == set()
    deadline = time.monotonic() + 15
    while listening():  # it stops by itself (timeout 8)
        assert time.monotonic() < deadline, "the gateway's iperf3 did not stop"
        time.sleep(0.5)
    result_file = tmp_path / "tunnel.json"
    done = toolkit("load", "tunnel", *environment.options, "--seconds", "3",
                   "--require-mbps", "1", "-o", str(result_file), timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(result_file.read_text())
    assert result["client"] == "laptop01" and result["target"] == gateway
    assert result["into_site_mbps"] > 1 and result["out_of_site_mbps"] > 1, result
    assert "throughput through laptop01's tunnel to gateway" in " ".join(done.stdout.split())
    opened = exec_on("gateway", "nft", "list", "set", "inet", "telework_vpn", "throughput_v4")
    assert "elements" not in opened, opened
    ceilings = json.loads((environment.path / "capacity" / "ceilings.json").read_text())
    rates = ceilings["ceilings"]["vpn_tunnel"]["rates"]
    assert rates == {"into site Mbit/s": result["into_site_mbps"],
                     "out of site Mbit/s": result["out_of_site_mbps"]}  # fmt: skip
