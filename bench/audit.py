"""Speed of ``toolkit audit`` against lab containers, and of Lynis on one of them.

    .venv/bin/python bench/audit.py [--hosts N] [--containers C] [--workers W] [--no-lynis]
    .venv/bin/python bench/audit.py --inventory inventories/lab   # audit an existing lab

Starts a temporary lab of C Debian containers (lab name ``ttk-bench``, free ports on
127.0.0.1), audits N hosts (default 8) at once with the real controls and prints hosts per
second and the time per host; then audits one host alone, installs Debian's ``lynis`` in
that container (apt) and times ``lynis audit system
--quick`` there, and prints both times and their ratio. Goals: 100 hosts in under 60 s on
2 cores; one host at least 20 times faster than Lynis. Prints figures, asserts nothing.

C defaults to N up to 12: each systemd container takes inotify instances and this kernel
allows 128 per user (``fs.inotify.max_user_instances``), which about 16 containers use up
beside the project's lab. Beyond C, the N audited hosts are inventory entries spread over
the C containers (each host's own SSH login, commands and probes, on shared containers).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from toolkit.adapters.podman import Podman
from toolkit.audit import engine
from toolkit.audit.results import AuditReport
from toolkit.audit.runner import Limits
from toolkit.errors import ToolkitError
from toolkit.lab import lab as lab_ops
from toolkit.paths import project_root

LAB = "ttk-bench"


def _write(inv: Path, hosts: dict[str, dict[str, object]], group_vars: str) -> Path:
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "group_vars" / "all" / "vars.yml").write_text(group_vars)
    data = {"all": {"children": {"servers": {"children": {"directory_servers": {"hosts": hosts}}}}}}
    (inv / "hosts.yml").write_text(yaml.safe_dump(data))
    return inv


def make_lab(folder: Path, containers: int) -> Path:
    lab_vars = project_root() / "inventories" / "lab" / "group_vars" / "all" / "lab.yml"
    names: dict[str, dict[str, object]] = {
        f"srv{i:03d}": {"ansible_port": p}
        for i, p in enumerate(lab_ops.free_local_ports(containers))
    }
    text = lab_vars.read_text().replace("lab_name: telework-lab", f"lab_name: {LAB}")
    return _write(folder / "bench-lab", names, text)


def make_targets(folder: Path, the_lab: lab_ops.Lab, hosts: int) -> Path:
    """An ordinary inventory of ``hosts`` entries spread over the lab's containers."""
    ssh = the_lab.state / "ssh"
    group_vars = (
        "ansible_host: 127.0.0.1\nansible_user: admin\n"
        f"ansible_ssh_private_key_file: {ssh / 'id_ed25519'}\n"
        f"ansible_ssh_common_args: -o UserKnownHostsFile={ssh / 'known_hosts'}\n"
        "audit_params:\n  LNX-11: {nopasswd_allowed: [admin]}\n"
    )
    ports = [h.port for h in the_lab.hosts]
    names: dict[str, dict[str, object]] = {
        f"host{i:03d}": {"ansible_port": ports[i % len(ports)]} for i in range(hosts)
    }
    return _write(folder / "bench-targets", names, group_vars)


def audit(inventory: Path, limits: Limits, limit: str | None = None) -> AuditReport:
    prepared = engine.prepare(engine.Options(inventory=inventory, limits=limits, limit=limit))
    return engine.execute(prepared)


def lynis_seconds(container: str) -> float:
    podman = Podman(timeout=600)
    print(f"installing lynis in {container} (apt) ...", flush=True)
    podman(
        "exec",
        container,
        "sh",
        "-c",
        # A private archive folder: the shared cache may be locked by another container.
        "export DEBIAN_FRONTEND=noninteractive; mkdir -p /tmp/apt-archives/partial && "
        "apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "
        "-o Dir::Cache::archives=/tmp/apt-archives lynis >/dev/null",
    )
    started = time.monotonic()
    podman("exec", container, "lynis", "audit", "system", "--quick", "--no-colors", "--quiet")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=8, help="hosts to audit (default 8)")
    parser.add_argument("--containers", type=int, help="lab containers (default: hosts, max 12)")
    parser.add_argument("--workers", type=int, default=16, help="hosts audited at once")
    parser.add_argument("--inventory", type=Path, help="audit this lab inventory instead")
    parser.add_argument("--no-lynis", action="store_true", help="skip the Lynis comparison")
    parser.add_argument("--keep", action="store_true", help="leave the temporary lab running")
    args = parser.parse_args()
    limits = Limits(workers=args.workers)
    tmp = Path(tempfile.mkdtemp(prefix="ttk-bench-"))
    containers = args.containers or min(args.hosts, 12)
    lab_inventory = args.inventory.resolve() if args.inventory else make_lab(tmp, containers)
    the_lab = lab_ops.load_lab(lab_inventory)
    try:
        if not args.inventory:
            started = time.monotonic()
            for attempt in range(1, 4):
                try:
                    lab_ops.up(the_lab)
                    break
                except ToolkitError as exc:
                    # `lab up` waits 90 s in all for every sshd: a big lab may need more.
                    # It is idempotent: the next call only waits again.
                    print(f"lab up, attempt {attempt}: {str(exc)[:120]}")
            print(f"lab of {len(the_lab.hosts)} hosts up in {time.monotonic() - started:.1f} s")
        inventory = lab_inventory if args.inventory else make_targets(tmp, the_lab, args.hosts)
        report = audit(inventory, limits)
        durations = [h.duration_s for h in report.hosts]
        controls = sum(len(h.results) for h in report.hosts)
        unreachable = [h.host for h in report.hosts if not h.reachable]
        print(
            f"audit of {len(report.hosts)} hosts on {len(the_lab.hosts)} containers "
            f"({controls} control results, "
            f"{args.workers} workers): {report.duration_s:.2f} s, "
            f"{len(report.hosts) / report.duration_s:.1f} hosts/s"
        )
        print(
            "time per host while auditing concurrently: "
            f"median {statistics.median(durations):.2f} s, "
            f"max {max(durations):.2f} s; unreachable: {', '.join(unreachable) or 'none'}"
        )
        rate = len(report.hosts) / report.duration_s
        print(f"projection for 100 hosts at this rate: {100 / rate:.0f} s")
        first = the_lab.hosts[0]
        alone = audit(lab_inventory, limits, limit=first.name)
        one = alone.hosts[0].duration_s
        print(f"one host alone ({first.name}, {len(alone.hosts[0].results)} controls): {one:.2f} s")
        if not args.no_lynis:
            lynis = lynis_seconds(first.container)
            print(f"lynis audit system --quick on {first.name}: {lynis:.1f} s")
            print(f"toolkit audit is {lynis / one:.0f}x faster than Lynis per host")
    finally:
        if not args.inventory and not args.keep:
            lab_ops.down(the_lab)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
