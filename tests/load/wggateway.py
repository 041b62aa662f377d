"""A WireGuard gateway the test starts: Debian's wireguard-go in a network namespace the
test makes (its loopback only), configured with `wg` as role vpn_gateway configures one.
A test talks to it from a socket made inside the namespace (:meth:`Gateway.socket`) or
runs a program there (:meth:`Gateway.inside`)."""

from __future__ import annotations

import base64
import ctypes
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from toolkit.load.wireguard import KeyPair

#: wireguard-go's control socket is /run/wireguard/<interface>.sock whatever the
#: namespace: each gateway's interface has a name of its own (two tests may run at once).
INTERFACE_PREFIX = "wgt"
PORT = 51820
CLONE_NEWNET = 0x40000000
#: Longest wait for wireguard-go's interface to answer `wg`.
START_SECONDS = 10.0


def missing() -> str | None:
    """Why such a gateway cannot start here (None: it can)."""
    if os.geteuid() != 0:
        return "a network namespace needs root"
    for tool in ("wireguard-go", "wg", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (./run setup installs it)"
    return None


@dataclass
class Gateway:
    namespace: str
    interface: str
    keys: KeyPair

    def inside(self, *argv: str) -> list[str]:
        """``argv`` run in the gateway's namespace."""
        return ["ip", "netns", "exec", self.namespace, *argv]

    def wg(self, *args: str) -> str:
        done = subprocess.run(self.inside("wg", *args), capture_output=True, text=True,
                              timeout=30, check=True)  # fmt: skip
        return done.stdout

    def register(self, publics: list[str]) -> None:
        argv: list[str] = ["set", self.interface]
        for key in publics:
            argv += ["peer", key]
        self.wg(*argv)

    def peers(self) -> list[str]:
        return self.wg("show", self.interface, "peers").split()

    def handshakes(self) -> dict[str, int]:
        """Peer -> Unix time of its latest handshake (peers that made none left out)."""
        rows = (
            line.split()
            for line in self.wg("show", self.interface, "latest-handshakes").splitlines()
        )
        return {r[0]: int(r[1]) for r in rows if len(r) == 2 and r[1] != "0"}

    def socket(self, timeout: float = 2.0) -> socket.socket:
        """A UDP socket of the gateway's namespace (made in a thread that joined it: a
        socket keeps the namespace it was made in)."""
        made: list[socket.socket] = []
        failed: list[BaseException] = []

        def make() -> None:
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                with open(f"/run/netns/{self.namespace}") as ns:
                    if libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns")
                made.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
            except BaseException as exc:  # handed to the caller's thread
                failed.append(exc)

        thread = threading.Thread(target=make)
        thread.start()
        thread.join(timeout=10)
        if failed:
            raise failed[0]
        sock = made[0]
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", PORT))
        return sock


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@contextmanager
def started(folder: Path) -> Iterator[Gateway]:
    """wireguard-go listening on 127.0.0.1:PORT of a namespace of its own; removed after."""
    token = secrets.token_hex(4)
    namespace, interface = f"ttk-wg-{token}", f"{INTERFACE_PREFIX}{token}"
    _ip("netns", "add", namespace)
    proc: subprocess.Popen[bytes] | None = None
    try:
        _ip("-n", namespace, "link", "set", "lo", "up")
        keys = KeyPair.generate()
        gateway = Gateway(namespace, interface, keys)
        proc = subprocess.Popen(gateway.inside("wireguard-go", "-f", interface),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + START_SECONDS
        while subprocess.run(gateway.inside("wg", "show", interface), capture_output=True,
                             timeout=10, check=False).returncode != 0:  # fmt: skip
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"wireguard-go did not start in {START_SECONDS:.0f} s")
            time.sleep(0.1)
        private = folder / "gateway.key"
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(keys.private).decode() + "\n")
        gateway.wg("set", interface, "listen-port", str(PORT), "private-key", str(private))
        _ip("-n", namespace, "link", "set", interface, "up")
        yield gateway
    finally:
        if proc is not None:
            proc.terminate()  # wireguard-go sometimes ignores it: killed after a while
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        _ip("netns", "delete", namespace)
