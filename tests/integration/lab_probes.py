"""What the shared lab's tests look at on its machines: the containers, each host's
addresses, a command run in a host, which TCP targets a host (or this machine) reaches, and
laptop01's tunnel coming back."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.integration.lab_environment import LAB
from toolkit.adapters.podman import Podman
from toolkit.lab.lab import load_lab
from toolkit.lab.labels import LAB_LABEL

#: How long a TCP connection to a lab address may take to answer (seconds).
PROBE_TIMEOUT = 3


def containers() -> list[dict[str, object]]:
    """The shared lab's containers, as podman lists them."""
    return Podman().containers(f"{LAB_LABEL}={LAB}")


def addresses(inventory: Path) -> dict[str, dict[str, str]]:
    """Host -> {network: address}, as the lab inventory states them."""
    return {h.name: dict(h.addresses) for h in load_lab(inventory).hosts}


def assert_on_inventory_networks(inventory: Path) -> None:
    """Each container is on its inventory networks at its inventory addresses."""
    podman = Podman()
    for host, wanted in addresses(inventory).items():
        info = podman.json("container", "inspect", f"{LAB}-{host}")[0]
        found = {
            name.removeprefix(f"{LAB}-"): net["IPAddress"]
            for name, net in info["NetworkSettings"]["Networks"].items()
        }
        # (a helper module: pytest does not rewrite its asserts, so each says what it saw)
        assert found == wanted, f"{host} is on {found}, its inventory says {wanted}"


def exec_on(host: str, *argv: str, timeout: float = 120) -> str:
    """The output of ``argv`` run in the lab host ``host`` (which must succeed)."""
    return Podman()("exec", f"{LAB}-{host}", *argv, timeout=timeout).stdout


def write_on(host: str, script: str, text: str) -> None:
    """``sh -c SCRIPT`` in ``host`` with ``text`` on its standard input."""
    Podman()("exec", "-i", f"{LAB}-{host}", "sh", "-c", script, input_bytes=text.encode())


def probe_from(host: str, targets: list[str]) -> set[str]:
    """The ADDRESS:PORT targets a TCP connection from a lab host reaches (all at once)."""
    script = (
        'for t in "$@"; do ( timeout $0 bash -c "</dev/tcp/${t%:*}/${t##*:}" 2>/dev/null '
        '&& echo "$t" ) & done; wait'
    )
    out = Podman()(
        "exec", f"{LAB}-{host}", "bash", "-c", script, str(PROBE_TIMEOUT), *targets, timeout=60
    ).stdout  # fmt: skip
    return set(out.split())


def probe_from_here(targets: list[str]) -> set[str]:
    """The targets a TCP connection from this machine (the auditor's seat) reaches."""

    def one(target: str) -> str | None:
        address, port = target.rsplit(":", 1)
        try:
            with socket.create_connection((address, int(port)), timeout=PROBE_TIMEOUT):
                return target
        except OSError:
            return None

    with ThreadPoolExecutor(max_workers=16) as pool:
        return {t for t in pool.map(one, targets) if t}


def handshake_after(since: int, limit: float = 60.0) -> int:
    """Seconds until laptop01's tunnel has a handshake newer than ``since`` (Unix time);
    fails past ``limit``."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        out = Podman()("exec", f"{LAB}-laptop01", "wg", "show", "wg0", "latest-handshakes",
                       check=False).stdout  # fmt: skip
        stamps = [int(f[1]) for f in (ln.split() for ln in out.splitlines()) if len(f) == 2]
        if any(t >= since for t in stamps):
            return int(time.monotonic() - start)
        time.sleep(1)
    raise AssertionError(f"no handshake from laptop01 within {limit:.0f} s")
