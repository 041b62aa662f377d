"""Speed of ``toolkit audit`` against lab containers, and of Lynis on one of them.

    .venv/bin/python bench/audit.py [--hosts N] [--workers W] [--no-lynis] [--keep]
    .venv/bin/python bench/audit.py --inventory inventories/lab   # audit an existing lab

Starts a temporary lab of N Debian containers (default 8, lab name ``ttk-bench``, free
ports on 127.0.0.1), audits them all at once with the real controls and prints hosts per
second and the time per host; then audits one host alone, installs Debian's ``lynis`` in
that container (apt, through the lab's package cache) and times ``lynis audit system
--quick`` there, and prints both times and their ratio. Goals: 100 hosts in under 60 s on
2 cores; one host at least 20 times faster than Lynis. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import socket
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


def free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def make_inventory(folder: Path, hosts: int) -> Path:
    inv = folder / "bench"
    (inv / "group_vars" / "all").mkdir(parents=True)
    lab_vars = project_root() / "inventories" / "lab" / "group_vars" / "all" / "lab.yml"
    (inv / "group_vars" / "all" / "lab.yml").write_text(
        lab_vars.read_text().replace("lab_name: telework-lab", f"lab_name: {LAB}")
    )
    names = {f"srv{i:03d}": {"ansible_port": port} for i, port in enumerate(free_ports(hosts))}
    data = {"all": {"children": {"servers": {"children": {"directory_servers": {"hosts": names}}}}}}
    (inv / "hosts.yml").write_text(yaml.safe_dump(data))
    return inv


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
        "export DEBIAN_FRONTEND=noninteractive; apt-get update -q >/dev/null && "
        "apt-get install -y -q --no-install-recommends lynis >/dev/null",
    )
    started = time.monotonic()
    podman("exec", container, "lynis", "audit", "system", "--quick", "--no-colors", "--quiet")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=8, help="lab hosts to start (default 8)")
    parser.add_argument("--workers", type=int, default=16, help="hosts audited at once")
    parser.add_argument("--inventory", type=Path, help="audit this lab inventory instead")
    parser.add_argument("--no-lynis", action="store_true", help="skip the Lynis comparison")
    parser.add_argument("--keep", action="store_true", help="leave the temporary lab running")
    args = parser.parse_args()
    limits = Limits(workers=args.workers)
    tmp = Path(tempfile.mkdtemp(prefix="ttk-bench-"))
    inventory = args.inventory.resolve() if args.inventory else make_inventory(tmp, args.hosts)
    the_lab = lab_ops.load_lab(inventory)
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
        report = audit(inventory, limits)
        durations = [h.duration_s for h in report.hosts]
        controls = sum(len(h.results) for h in report.hosts)
        unreachable = [h.host for h in report.hosts if not h.reachable]
        print(
            f"audit of {len(report.hosts)} hosts ({controls} control results, "
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
        alone = audit(inventory, limits, limit=first.name)
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
