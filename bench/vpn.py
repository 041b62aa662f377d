"""Figures of the teleworkers' VPN (roles/vpn_gateway) on the project's own containers.

    .venv/bin/python bench/vpn.py [--seconds 5] [--peers 5000] [--keep]

Starts three containers on a podman network of its own (bench-vpn-gw, bench-vpn-svc,
bench-vpn-cl), applies playbooks/vpn_gateway.yml to them, then prints:

1. iperf3 throughput from the client to the internal host through the role's tunnel
   (per-group policy, sets, masquerade) and through a minimal hand-made wg-quick tunnel
   between the same containers, and the ratio (goal >= 0.9);
2. with ``--peers`` peers configured, the time to apply one added and one revoked peer
   (goal < 2 s) the way the role applies them (``telework-wg-apply``: one ``wg set`` with
   the peers that differ; new set elements), compared with ``wg syncconf``, while the
   client keeps a TCP stream running through the tunnel (its empty intervals during each
   change are printed), and the wall time of the whole ``peers.yml`` run through Ansible;
3. ``toolkit roster revoke`` end to end with ``--peers`` teleworkers in the inventory's
   roster.csv (goal < 10 s): the path before (the roster edited, then the whole
   ``playbooks/roster_sync.yml``) and ``toolkit roster revoke ID`` as it is now, each on
   a different teleworker, with Ansible's slowest tasks of each; then it checks that both
   revoked keys are gone from ``wg show`` and that a whole sync afterwards changes nothing
   on the gateway (the narrow run left what a whole sync would).

``--revoke-only`` runs the third part alone (no iperf3).

Bounded: iperf3 runs ``--seconds`` (at most 30), at most 10,000 peers, every command has a
timeout, nothing is aimed anywhere but these containers. The containers and the network
are removed at the end (``--keep`` leaves them).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from toolkit.adapters.podman import Podman
from toolkit.adapters.process import run
from toolkit.lab.image import apt_cache
from toolkit.paths import project_root
from toolkit.vpn.keys import generate_keypair, generate_psk
from toolkit.vpn.layout import KEYS_DIR

NETWORK = "bench-vpn"
GW, SVC, CL = "bench-vpn-gw", "bench-vpn-svc", "bench-vpn-cl"
IMAGE = "localhost/telework-debian:12"
NEW_PEER = "10.76.63.250"
podman = Podman(timeout=300)


def sh(container: str, script: str, timeout: float = 300, check: bool = True) -> str:
    """Run a bash script in a container (argv list: the script is one argument)."""
    return podman("exec", container, "bash", "-c", script, timeout=timeout, check=check).stdout


def start(iperf: bool = True) -> None:
    if podman("network", "exists", NETWORK, check=False).returncode != 0:
        podman("network", "create", NETWORK)
    cache = apt_cache("bookworm")
    for name in (GW, SVC, CL):
        podman("rm", "-f", "-t", "0", name, check=False)
        args = ["run", "-d", "--name", name, "--hostname", name, "--network", NETWORK]
        args += ["--cap-add", "NET_ADMIN", "-v", f"{cache}:/var/cache/apt/archives:O"]
        if name != SVC:
            args += ["--device", "/dev/net/tun"]
        podman(*args, IMAGE, "/sbin/init")
    for name in (GW, SVC, CL):
        sh(name, "systemctl is-system-running --wait > /dev/null 2>&1; true", 60)
        if not iperf:
            continue
        sh(
            name,
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
            "--no-install-recommends iperf3 > /dev/null",
            600,
        )
    if iperf:
        sh(SVC, "systemd-run --unit=iperf3-bench iperf3 -s", 30)


def address(container: str) -> str:
    return sh(container, "hostname -I").split()[0]


def _worker(ident: str, device: str) -> dict[str, Any]:
    """A roster row as the telework_roster vars plugin exports it (``eligible`` is the
    roster model's verdict, which role vpn_gateway follows)."""
    return {
        "id": ident,
        "status": "active",
        "eligible": True,
        "approved_on": "2026-09-01",
        "approved_by": "bench",
        "equipment": [{"kind": "laptop", "name": device}],
        "vpn_groups": ["staff"],
    }


def inventory(folder: Path, peers: int) -> Path:
    """An inventory of the three containers (podman connection) and a roster of ``peers``
    teleworkers: the client's laptop and others whose keys are made here."""
    svc = address(SVC)
    roster: list[dict[str, Any]] = [_worker("bench0", CL)]
    keys = folder / KEYS_DIR
    keys.mkdir(parents=True, exist_ok=True)
    for i in range(1, peers):
        device = f"dev{i:05d}"
        roster.append(_worker(f"bench{i}", device))
        if not (keys / f"{device}.pub").exists():
            (keys / f"{device}.pub").write_text(generate_keypair().public + "\n")
            (keys / f"{device}.psk").write_text(generate_psk() + "\n")
    gateway_vars = {
        "vpn_gateway_endpoint": GW,
        "vpn_gateway_network_v4": "10.76.0.0/18",
        "vpn_gateway_services": {"iperf": {"addresses": [svc], "proto": "tcp", "ports": [5201]}},
        "vpn_gateway_group_services": {"staff": ["iperf"]},
    }
    data = {
        "all": {
            "vars": {
                # Ansible's short name: Mitogen's strategy (the toolkit's default) runs its
                # own podman transport for it, as it does for ssh on real gateways; the
                # collection's full name would keep Ansible's per-task round trips.
                "ansible_connection": "podman",
                "ansible_python_interpreter": "/usr/bin/python3",
                "telework_vpn_groups": {"staff": {"description": "bench"}},
                "telework_roster": roster,
            },
            "children": {
                "vpn_gateways": {"hosts": {GW: None}, "vars": gateway_vars},
                "laptops": {"hosts": {CL: None}, "vars": {"vpn_client_apply_dns": False}},
            },
        }
    }
    path = folder / "hosts.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def playbook(hosts: Path, name: Path, *extra: str) -> float:
    """Run a playbook on the bench inventory; its wall time."""
    root = project_root()
    env = dict(podman.env, ANSIBLE_ROLES_PATH=str(root / "roles"))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(hosts)]
    began = time.monotonic()
    run([*command, str(name), *extra], env=env, timeout=1800, cwd=str(root))
    return time.monotonic() - began


def iperf(seconds: int) -> float:
    out = sh(CL, f"iperf3 -c {address(SVC)} -t {seconds} -J", timeout=seconds + 30)
    return float(json.loads(out)["end"]["sum_received"]["bits_per_second"])


def hand_made_tunnel() -> None:
    """wg-quick between the same containers: no policy, no sets, one masquerade rule."""
    gw, cl = generate_keypair(), generate_keypair()
    gw_conf = "\n".join(
        [
            "[Interface]",
            "Address = 10.98.0.1/24",
            "ListenPort = 51821",
            f"PrivateKey = {gw.private}",
            "[Peer]",
            f"PublicKey = {cl.public}",
            "AllowedIPs = 10.98.0.2/32",
            "",
        ]
    )
    cl_conf = "\n".join(
        [
            "[Interface]",
            "Address = 10.98.0.2/32",
            f"PrivateKey = {cl.private}",
            "[Peer]",
            f"PublicKey = {gw.public}",
            f"Endpoint = {address(GW)}:51821",
            f"AllowedIPs = {address(SVC)}/32",
            "",
        ]
    )
    nat = (
        "nft add table ip bench_nat && nft 'add chain ip bench_nat post "
        "{ type nat hook postrouting priority srcnat; }' && "
        "nft add rule ip bench_nat post ip saddr 10.98.0.0/24 masquerade"
    )
    install = "umask 077 && cat > /etc/wireguard/wgh0.conf && wg-quick up wgh0"
    podman("exec", "-i", GW, "bash", "-c", install, input_bytes=gw_conf.encode(), timeout=60)
    sh(GW, nat, 30)
    sh(CL, "systemctl stop wg-quick@wg0", 60)
    podman("exec", "-i", CL, "bash", "-c", install, input_bytes=cl_conf.encode(), timeout=60)


def remove_hand_made_tunnel() -> None:
    sh(CL, "wg-quick down wgh0; systemctl start wg-quick@wg0", 60)
    sh(GW, "wg-quick down wgh0; nft delete table ip bench_nat", 60)


# Runs on the gateway: the last peer of the role's configuration is revoked and a new one
# added (what a roster change gives the template), then applied as peers.yml applies it.
CHANGE = """set -e
python3 - "$1" "$2" <<'PY'
import sys
text = open('/etc/wireguard/wg0.conf').read()
head = text.rpartition('[Peer]')[0]
new = f"[Peer]\\nPublicKey = {sys.argv[1]}\\nPresharedKey = {sys.argv[2]}\\nAllowedIPs = NEW/32\\n"
open('/run/wg0.next', 'w').write(head + new)
PY
install -m 600 /run/wg0.next /etc/wireguard/wg0.conf
start=$(date +%s.%N)
/usr/local/sbin/telework-wg-apply wg0 >/dev/null
nft add element inet telework_vpn peers_staff_v4 '{ NEW }'
end=$(date +%s.%N)
echo "$start $end"
""".replace("NEW", NEW_PEER)


def apply_change(hosts: Path, peers: int) -> None:
    print(f"\n== {peers} peers: one added, one revoked ==")
    playbook(hosts, project_root() / "playbooks" / "vpn_gateway.yml", "--limit", GW)
    print(f"peers configured: {sh(GW, 'wg show wg0 peers | wc -l').strip()}")
    # A TCP stream the policy allows (ICMP to the internal host is not), 0.5 s intervals.
    stream = f"iperf3 -c {address(SVC)} -t 90 -b 2M -i 0.5 -J > /run/bench-stream.json"
    sh(CL, f"systemd-run --unit=bench-stream --collect bash -c {json.dumps(stream)}", 30)
    time.sleep(3)
    new = generate_keypair()
    out = podman(
        "exec", GW, "bash", "-c", CHANGE, "change", new.public, generate_psk(), timeout=120
    ).stdout
    started, ended = map(float, out.split())
    print(
        f"apply one added + one revoked peer as the role does (telework-wg-apply + set "
        f"element): {ended - started:.3f} s (goal < 2)"
    )
    time.sleep(2)
    whole = "s=$(date +%s.%N); wg syncconf wg0 <(wg-quick strip wg0); e=$(date +%s.%N); echo $s $e"
    began, done = map(float, sh(GW, whole, 60).split())
    print(f"for comparison, `wg syncconf` of the same configuration: {done - began:.3f} s")
    time.sleep(2)
    peers_yml = hosts.parent / "peers.yml"
    peers_yml.write_text(
        "- name: Peers from the roster\n  hosts: vpn_gateways\n  gather_facts: false\n"
        "  tasks:\n    - name: Apply the peers\n      ansible.builtin.include_role:\n"
        "        name: vpn_gateway\n        tasks_from: peers\n"
    )
    ansible_began = time.time()
    wall = playbook(hosts, peers_yml)
    print(f"peers.yml through Ansible back to the roster (podman connection): {wall:.1f} s")
    phases = {
        "telework-wg-apply": (started, ended),
        "wg syncconf": (began, done),
        "peers.yml": (ansible_began, ansible_began + wall),
    }
    sh(CL, "while systemctl -q is-active bench-stream; do sleep 1; done", 120)
    report = json.loads(sh(CL, "cat /run/bench-stream.json", 10))
    if "error" in report:
        print(f"client TCP stream through the tunnel: ERROR {report['error']}")
        return
    origin = float(report["start"]["timestamp"]["timesecs"])
    intervals = [
        (origin + i["sum"]["start"], origin + i["sum"]["end"], i["sum"]["bytes"])
        for i in report["intervals"]
    ]
    stalled = sum(1 for *_, b in intervals if b == 0)
    print(
        f"client TCP stream through the tunnel: {len(intervals)} intervals of 0.5 s, "
        f"{stalled} without data, one connection throughout"
    )
    inside: set[int] = set()
    for name, (low, high) in phases.items():
        # Intervals that overlap the phase or the second after it (queued packets drain).
        touched = [i for i, (a, z, _) in enumerate(intervals) if z >= low and a <= high + 1]
        inside.update(touched)
        empty = sum(1 for i in touched if intervals[i][2] == 0)
        print(f"  during {name}: {len(touched)} intervals, {empty} without data")
    # The rate of empty intervals while nothing changes (wireguard-go on a busy 2-core
    # machine): what the phases above are to be compared with.
    quiet = [b for i, (*_, b) in enumerate(intervals) if i not in inside]
    print(
        f"  while nothing changes: {len(quiet)} intervals, "
        f"{sum(1 for b in quiet if b == 0)} without data"
    )


REFERENCE = """\
telework_workdays: [mon, tue, wed, thu, fri]
telework_office_hours: "08:30-16:30"
telework_mail_domains: [bench.gov.ma]
telework_units:
  bench: {name: Bench, staff: 100000, min_onsite: 1}
telework_vpn_groups:
  staff: {description: everyone}
"""
HEADER = (
    "id;name_latin;name_arabic;email;unit;mode;schedule;approved_on;approved_by;"
    "equipment;vpn_groups;status;eligible_tasks"
)


def roster_inventory(folder: Path, peers: int) -> Path:
    """An inventory folder whose roster.csv has ``peers`` teleworkers (the vars plugin
    gives it to Ansible, as in production): the client's laptop and others whose keys are
    made here."""
    hosts = inventory(folder, peers)
    data = yaml.safe_load(hosts.read_text())
    del data["all"]["vars"]["telework_roster"], data["all"]["vars"]["telework_vpn_groups"]
    hosts.write_text(yaml.safe_dump(data))
    (folder / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    (folder / "group_vars" / "all" / "telework.yml").write_text(REFERENCE)
    rows = [HEADER]
    for i in range(peers):
        device = CL if i == 0 else f"dev{i:05d}"
        rows.append(
            f"bench{i};Agent {i};الموظف {i};agent{i}@bench.gov.ma;bench;full;;2026-09-01;bench;"
            f"laptop:{device};staff;active;Dossiers"
        )
    (folder / "roster.csv").write_text("\n".join(rows) + "\n")
    return folder


def anchor_roles(folder: Path, ref: str) -> Path:
    """The roles as commit ``ref`` had them (the anchor of the revoke timing)."""
    tar = folder / "roles.tar"
    run(["git", "archive", "-o", str(tar), ref, "roles"], cwd=str(project_root()), timeout=120)
    run(["tar", "-xf", str(tar), "-C", str(folder)], timeout=120)
    return folder / "roles"


def install_anchor_check(roles: Path, folder: Path) -> None:
    """Put on the gateway the configuration check the anchor's peers.yml validates with
    (a shell script its main.yml installed; the role now checks with telework-wg-apply
    --check and removes it)."""
    template = roles / "vpn_gateway" / "templates" / "usr" / "local" / "sbin"
    text = (template / "telework-wg-check.j2").read_text(encoding="utf-8")
    script = folder / "telework-wg-check"
    script.write_text(
        "\n".join(line for line in text.splitlines() if "ansible_managed" not in line) + "\n",
        encoding="utf-8",
    )
    podman("cp", str(script), f"{GW}:/usr/local/sbin/telework-wg-check", timeout=60)
    sh(GW, "chmod 0755 /usr/local/sbin/telework-wg-check", 30)


def toolkit_cli(inventory_dir: Path, *args: str, roles: Path | None = None) -> float:
    """``toolkit ARGS -i INVENTORY``: its wall time (it fails the bench when it fails)."""
    env = dict(podman.env, ANSIBLE_ROLES_PATH=str(roles or project_root() / "roles"))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    command = [str(Path(sys.executable).parent / "toolkit"), *args, "-i", str(inventory_dir)]
    began, cpu = time.monotonic(), children_cpu()
    run(command, env=env, timeout=1800, cwd=str(project_root()))
    CPU.append(children_cpu() - cpu)
    return time.monotonic() - began


#: CPU seconds of each toolkit_cli call, in order (its process tree on the controller:
#: the toolkit, ansible-playbook and its workers, podman exec): unlike the wall time,
#: hardly changed by what else the machine runs.
CPU: list[float] = []


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


#: A line of profile_tasks' recap: the task's name, dashes, its seconds.
TIMED = re.compile(r" -+ \d+\.\d+s$")


def slowest_tasks(count: int = 5) -> str:
    """The slowest tasks of the newest roster_sync.yml log (profile_tasks' lines)."""
    logs = sorted((project_root() / ".cache" / "provision").glob("*-roster_sync.log"))
    if not logs:
        return "(no log)"
    timed = [line for line in logs[-1].read_text().splitlines() if TIMED.search(line)]
    return "\n".join(f"    {line.strip()}" for line in timed[:count])


def peer_keys() -> set[str]:
    return set(sh(GW, "wg show wg0 peers", 60).split())


#: The last commit before tasks/peers.yml planned the peers in one filter call: the anchor
#: of the revoke timing (the path before, measured in the same run).
ANCHOR = "ad5de1202ef023d45d355940b7d48f06ad5d6544"


def revoke_timing(folder: Path, peers: int, anchor: str = ANCHOR) -> None:
    print(f"\n== toolkit roster revoke with {peers} teleworkers (goal < 10 s) ==")
    inv = roster_inventory(folder / "roster-inventory", peers)
    playbook(inv / "hosts.yml", project_root() / "playbooks" / "vpn_gateway.yml")
    before = peer_keys()
    print(f"peers configured: {len(before)}")
    keys = inv / KEYS_DIR
    old_key = (keys / "dev00001.pub").read_text().strip()
    new_key = (keys / "dev00002.pub").read_text().strip()
    edit = toolkit_cli(inv, "roster", "revoke", "bench1", "--reason", "bench", "--no-sync")
    # what `revoke` ran after the edit until now: the whole sync, with the roles as the
    # anchor commit had them (peers.yml templating every peer in Jinja)
    old_roles = anchor_roles(folder, anchor)
    install_anchor_check(old_roles, folder)
    sync = toolkit_cli(inv, "provision", "--playbook", "playbooks/roster_sync.yml", roles=old_roles)
    print(slowest_tasks())
    before_cpu = CPU[-1] + CPU[-2]
    print(
        f"before (roles of {anchor[:10]}): roster edit {edit:.1f} s + whole roster_sync.yml "
        f"{sync:.1f} s = {edit + sync:.1f} s (controller CPU {before_cpu:.1f} s)"
    )
    now = toolkit_cli(inv, "roster", "revoke", "bench2", "--reason", "bench")
    print(slowest_tasks())
    print(
        f"now: toolkit roster revoke bench2 end to end: {now:.1f} s (goal < 10 s; "
        f"controller CPU {CPU[-1]:.1f} s)"
    )
    print(
        f"ratio: {(edit + sync) / now:.1f}x in wall time, {before_cpu / CPU[-1]:.1f}x in "
        f"controller CPU; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    after = peer_keys()
    gone = old_key not in after and new_key not in after
    print(
        f"revoked keys gone from `wg show wg0 peers`: {'yes' if gone else 'NO'} "
        f"({len(before)} -> {len(after)} peers)"
    )
    conf = "sha256sum /etc/wireguard/wg0.conf /etc/telework/vpn_gateway/peer-sets.nft"
    narrow = sh(GW, conf, 30)
    whole = playbook(inv / "hosts.yml", project_root() / "playbooks" / "roster_sync.yml")
    same = sh(GW, conf, 30) == narrow and peer_keys() == after
    print(
        f"a whole roster_sync.yml afterwards ({whole:.1f} s): gateway files and peers "
        f"{'unchanged' if same else 'CHANGED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="iperf3 duration per run")
    parser.add_argument("--peers", type=int, default=5000, help="peers for the change timing")
    parser.add_argument("--keep", action="store_true", help="leave the containers running")
    parser.add_argument("--revoke-only", action="store_true", help="only the revoke timing")
    args = parser.parse_args()
    seconds, peers = min(args.seconds, 30), min(args.peers, 10000)
    start(iperf=not args.revoke_only)
    folder = Path(tempfile.mkdtemp(prefix="bench-vpn-"))
    try:
        if args.revoke_only:
            revoke_timing(folder, peers)
            return
        hosts = inventory(folder, 1)
        playbook(hosts, project_root() / "playbooks" / "vpn_gateway.yml")
        role = iperf(seconds)
        hand_made_tunnel()
        try:
            hand = iperf(seconds)
        finally:
            remove_hand_made_tunnel()
        print("== throughput client -> internal host (iperf3) ==")
        print(f"role tunnel (policy, sets, masquerade): {role / 1e6:8.1f} Mbit/s")
        print(f"hand-made wg-quick tunnel:              {hand / 1e6:8.1f} Mbit/s")
        print(f"ratio: {role / hand:.2f} (goal >= 0.9)")
        apply_change(inventory(folder, peers), peers)
        revoke_timing(folder, peers)
    finally:
        if not args.keep:
            for name in (GW, SVC, CL):
                podman("rm", "-f", "-t", "0", name, check=False)
            podman("network", "rm", NETWORK, check=False)


if __name__ == "__main__":
    main()
