"""Speed of ``toolkit audit`` against lab containers, and of Lynis on one of them.

    .venv/bin/python bench/audit.py [--hosts N] [--containers C] [--workers W]
                                    [--host-concurrency K] [--no-lynis]
    .venv/bin/python bench/audit.py --lab          # the provisioned lab, if it is up
    .venv/bin/python bench/audit.py --inventory DIR   # another existing lab

Starts a temporary lab of C Debian containers (lab name ``ttk-bench``, free ports on
127.0.0.1), audits N hosts (default 8) at once with the real controls and prints hosts per
second and the time per host; then audits one host alone, its controls one at a time
(``--host-concurrency 1``, as before they ran concurrently) and K at a time, installs
Debian's ``lynis`` in that container (apt) and times ``lynis audit system --quick`` there,
and prints the times and their ratio. Goals: 1,000 hosts in under 60 s on 2 cores; one
host at least 30 times faster than Lynis. Prints figures, asserts nothing.

``--lab`` audits the lab of ``inventories/lab`` (``./run lab``) as it is, every host at
once then each server alone, one control at a time and K at a time; nothing is installed
there (no Lynis).

C defaults to N up to 12: each systemd container takes inotify instances and this kernel
allows 128 per user (``fs.inotify.max_user_instances``), which about 16 containers use up
beside the project's lab. Beyond C, the N audited hosts are inventory entries spread over
the C containers (each host's own SSH login, commands and probes, on shared containers).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
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


@dataclass
class Settings:
    #: The control catalogue audited (default: the checkout's audits/); --audits sets it.
    audits: Path | None = None


SETTINGS = Settings()


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
        f"host{i:04d}": {"ansible_port": ports[i % len(ports)]} for i in range(hosts)
    }
    return _write(folder / "bench-targets", names, group_vars)


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy since boot (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class Cpu:
    """CPU seconds of a run: the auditing process's own, and the whole machine's (the lab
    containers' sshd, shells and commands run on the same cores)."""

    wall: float = 0.0
    own: float = 0.0
    machine: float = 0.0


def audit(
    inventory: Path, limits: Limits, limit: str | None = None, cpu: Cpu | None = None
) -> AuditReport:
    audits = SETTINGS.audits
    options = engine.Options(inventory=inventory, limits=limits, limit=limit, audits=audits)
    prepared = engine.prepare(options)
    own, machine, wall = time.process_time(), machine_busy_seconds(), time.monotonic()
    report = engine.execute(prepared)
    if cpu is not None:
        cpu.wall = time.monotonic() - wall
        cpu.own = time.process_time() - own
        cpu.machine = machine_busy_seconds() - machine
    return report


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


def report_figures(
    report: AuditReport, containers: int, limits: Limits, cpu: Cpu | None = None
) -> float:
    """Print the speed of a run over several hosts; the hosts per second."""
    durations = [h.duration_s for h in report.hosts]
    controls = sum(len(h.results) for h in report.hosts)
    unreachable = [h.host for h in report.hosts if not h.reachable]
    rate = len(report.hosts) / report.duration_s
    print(
        f"audit of {len(report.hosts)} hosts on {containers} containers ({controls} control "
        f"results, {limits.workers} workers, {limits.host_concurrency} controls at once a "
        f"host): {report.duration_s:.2f} s, {rate:.1f} hosts/s"
    )
    print(
        "time per host while auditing concurrently: "
        f"median {statistics.median(durations):.2f} s, max {max(durations):.2f} s; "
        f"unreachable: {', '.join(unreachable[:10]) or 'none'}"
        + (f" (+{len(unreachable) - 10})" if len(unreachable) > 10 else "")
    )
    print(f"projection for 1,000 hosts at this rate: {1000 / rate:.0f} s (goal < 60 s)")
    if cpu is not None and cpu.wall > 0:
        n = len(report.hosts)
        print(
            f"CPU: the auditing process {cpu.own:.1f} s ({cpu.own / cpu.wall:.2f} cores, "
            f"{1000 * cpu.own / n:.0f} ms a host), the whole machine {cpu.machine:.1f} s "
            f"({cpu.machine / cpu.wall:.2f} of {os.cpu_count()} cores): the audited "
            f"containers and the rest {cpu.machine - cpu.own:.1f} s"
        )
        print(
            "projection for 1,000 hosts if the auditor had the cores to itself (hosts "
            f"elsewhere): {1000 * cpu.own / n / min(2, os.cpu_count() or 1):.0f} s on 2 "
            f"cores at best, {1000 * cpu.own / n:.0f} s on one"
        )
    return rate


def one_host(inventory: Path, host: str, limits: Limits) -> tuple[float, float]:
    """One host audited alone, its controls one at a time, then ``limits`` at a time."""
    seconds = []
    for concurrency in (1, limits.host_concurrency):
        alone = audit(inventory, replace(limits, host_concurrency=concurrency), limit=host)
        result = alone.hosts[0]
        slowest = max(result.results, key=lambda r: r.duration_s)
        print(
            f"{host} alone, {len(result.results)} controls, {concurrency} at a time: "
            f"{result.duration_s:.2f} s (slowest {slowest.control} {slowest.duration_s:.2f} s)"
        )
        seconds.append(result.duration_s)
    return seconds[0], seconds[1]


def audit_provisioned_lab(inventory: Path, limits: Limits) -> None:
    """The lab as it is: refused when a host is not up."""
    the_lab = lab_ops.load_lab(inventory)
    down = [
        f"{s.host.name}: {s.state} {s.ssh}".strip() for s in lab_ops.status(the_lab) if not s.ok
    ]
    if down:
        raise SystemExit(f"the lab of {inventory} is not up ({'; '.join(down)}): ./run lab")
    report = audit(inventory, limits)
    report_figures(report, len(the_lab.hosts), limits)
    for host in report.hosts:
        if host.reachable:
            one_host(inventory, host.host, limits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=8, help="hosts to audit (default 8)")
    parser.add_argument("--containers", type=int, help="lab containers (default: hosts, max 12)")
    parser.add_argument("--workers", type=int, default=16, help="hosts audited at once")
    parser.add_argument(
        "--host-concurrency",
        type=int,
        default=Limits.host_concurrency,
        help=f"controls of a host run at once (default {Limits.host_concurrency})",
    )
    parser.add_argument("--lab", action="store_true", help="audit the lab of inventories/lab")
    parser.add_argument("--inventory", type=Path, help="audit this lab inventory instead")
    parser.add_argument("--no-lynis", action="store_true", help="skip the Lynis comparison")
    parser.add_argument("--keep", action="store_true", help="leave the temporary lab running")
    parser.add_argument("--audits", type=Path, help="another audits/ folder (catalogue)")
    args = parser.parse_args()
    SETTINGS.audits = args.audits
    limits = Limits(workers=args.workers, host_concurrency=args.host_concurrency)
    if args.lab:
        audit_provisioned_lab(project_root() / "inventories" / "lab", limits)
        return
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
                    print(f"lab up, attempt {attempt}: {str(exc)[:300]}")
            print(f"lab of {len(the_lab.hosts)} hosts up in {time.monotonic() - started:.1f} s")
        inventory = lab_inventory if args.inventory else make_targets(tmp, the_lab, args.hosts)
        cpu = Cpu()
        report_figures(audit(inventory, limits, cpu=cpu), len(the_lab.hosts), limits, cpu)
        first = the_lab.hosts[0]
        one_by_one, at_once = one_host(lab_inventory, first.name, limits)
        if not args.no_lynis:
            lynis = lynis_seconds(first.container)
            print(f"lynis audit system --quick on {first.name}: {lynis:.1f} s")
            print(
                f"toolkit audit is {lynis / at_once:.0f}x faster than Lynis per host "
                f"({lynis / one_by_one:.0f}x with one control at a time; goal >= 30x)"
            )
    finally:
        if not args.inventory and not args.keep:
            lab_ops.down(the_lab)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
