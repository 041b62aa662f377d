"""An outside auditor's figure of the baseline: Lynis' hardening index of a provisioned lab
server against the same image unprovisioned, in one run.

    ./run lab                                   # the lab up and provisioned once
    .venv/bin/python bench/hardening.py [--host mail] [--keep-lynis]

Lynis (Debian's package) is installed in the lab's container of ``--host`` and in a new
container of the lab's image (telework-debian:<release>, nothing applied to it), each runs
``lynis audit system --quick``, and the script prints both hardening indexes, their
difference, and what Lynis still suggests or warns about on the provisioned server (its
report, /var/log/lynis-report.dat). Goal of the baseline: an index of 85 or more with no
warning. Figures only: nothing here asserts a value.

Bounded: every command has a timeout; the unprovisioned container is removed at the end and
Lynis is purged from the lab's container (``--keep-lynis`` leaves it).
"""

from __future__ import annotations

import argparse
import uuid
from dataclasses import dataclass, field

from toolkit.adapters.podman import Podman
from toolkit.lab import lab as lab_ops
from toolkit.lab.image import image_ref
from toolkit.paths import project_root
from toolkit.text import printable

#: The report Lynis writes (key=value lines, lists as key[]=value).
REPORT = "/var/log/lynis-report.dat"
#: Installs Lynis with its own archive folder (the lab's shared apt cache may be locked).
INSTALL = (
    "export DEBIAN_FRONTEND=noninteractive; mkdir -p /tmp/apt-archives/partial && "
    "apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "
    "-o Dir::Cache::archives=/tmp/apt-archives lynis >/dev/null"
)
#: The most of a report that is read (a real one is about 30 KiB).
MAX_REPORT = 2 * 1024 * 1024


@dataclass
class Findings:
    """What a Lynis report says: the index and the items left."""

    index: int | None = None
    suggestions: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)


def parse_report(text: str) -> Findings:
    """Lynis' report: ``hardening_index=NN``, ``suggestion[]=ID|text|details|solution|``
    and ``warning[]=...`` lines; anything else (or a broken line) is left aside."""
    found = Findings()
    for line in text[:MAX_REPORT].splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key == "hardening_index" and value.strip().isdigit():
            found.index = int(value.strip())
        elif key in ("suggestion[]", "warning[]"):
            test, _, rest = value.partition("|")
            text_part = rest.split("|", 1)[0]
            item = (printable(test.strip())[:40], printable(text_part.strip())[:200])
            (found.suggestions if key == "suggestion[]" else found.warnings).append(item)
    return found


def lynis(podman: Podman, container: str) -> Findings:
    """Install Lynis in CONTAINER, run a quick system audit, read its report."""
    print(f"installing lynis in {container} (apt) ...", flush=True)
    podman("exec", container, "sh", "-c", INSTALL)
    print(f"lynis audit system in {container} ...", flush=True)
    podman("exec", container, "lynis", "audit", "system", "--quick", "--no-colors", "--quiet")
    return parse_report(podman("exec", container, "head", "-c", str(MAX_REPORT), REPORT).stdout)


def unprovisioned(podman: Podman, image: str) -> Findings:
    """The same image, started as the lab starts it, with nothing applied."""
    name = f"bench-hardening-{uuid.uuid4().hex[:8]}"
    podman("run", "-d", "--name", name, "--systemd=always", image, "/sbin/init")
    try:
        # systemd mounts a fresh /tmp while it boots: wait for it (degraded is fine here)
        podman("exec", name, "systemctl", "is-system-running", "--wait", timeout=180, check=False)
        return lynis(podman, name)
    finally:
        podman.remove(name)


def show(label: str, found: Findings, *, items: bool) -> None:
    print(
        f"{label}: hardening index {found.index if found.index is not None else '?'}, "
        f"{len(found.suggestions)} suggestions, {len(found.warnings)} warnings"
    )
    if items:
        for test, text in found.warnings:
            print(f"  warning    {test:12} {text}")
        for test, text in found.suggestions:
            print(f"  suggestion {test:12} {text}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="lab", help="inventory folder under inventories/")
    ap.add_argument("--host", default="mail", help="the provisioned lab server to judge")
    ap.add_argument("--keep-lynis", action="store_true", help="leave Lynis on the lab host")
    a = ap.parse_args()
    the_lab = lab_ops.load_lab(project_root() / "inventories" / a.env)
    host = the_lab.host(a.host)
    image = image_ref(host.release)
    podman = Podman(timeout=900)
    provisioned = lynis(podman, host.container)
    try:
        bare = unprovisioned(podman, image)
    finally:
        if not a.keep_lynis:
            podman("exec", host.container, "apt-get", "purge", "-y", "-q", "lynis")
    print()
    show(f"{image} unprovisioned", bare, items=False)
    show(f"{a.host} provisioned ({host.container})", provisioned, items=True)
    if provisioned.index is not None and bare.index is not None:
        print(
            f"difference: {provisioned.index - bare.index:+d} points "
            f"(goal: >= 85 on the provisioned server, no warning)"
        )


if __name__ == "__main__":
    main()
