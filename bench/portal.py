"""Figures of the teleworker portal on the VPN gateway (A4, E23): how soon a gated group's
traffic passes after "start work", and how many logins + starts of work the portal serves.

    sudo .venv/bin/python bench/portal.py [--peers 5000] [--teleworkers 300] [--quick]

Needs root, ``ip`` and ``nft``. Makes three network namespaces (client, gateway, server,
veth pairs, forwarding in the gateway); the gateway gets the role's table (firewall.nft.j2,
groups staff and finance, finance gated, its interface the veth toward the client: no
WireGuard, the rules match source addresses) with ``--peers`` addresses in
peers_finance_v4, the client holding one; the real gate (portal_gate.Gate, nft run by
``ip netns exec GW nft``, the same peers) serves its unix socket in a temporary folder.

1. "start work" (GateClient.start) to the first TCP connection from the client to a
   listener in the server namespace, ``--repeats`` times, work ended in between and the
   connection dropped again (goal < 1 s). Anchor: a bare ``nft add element`` into
   open_finance_v4, same table, same run.
2. Logins + starts per second: the real app (create_app), Store (sqlite, Fernet key) and
   gate, through Werkzeug's test client in ``--threads`` threads (gunicorn is not in the
   venv); each of ``--teleworkers`` enrolled teleworkers (own TOTP secret, a device among
   the peers) does GET / (CSRF), POST /login (password, current code), GET / (the
   redirect: the session's new token), POST /start. The directory is a fake in memory:
   LDAP is not measured. Anchor: GET /healthz, same app, threads and run.

Bounded: 16,000 peers, 2,000 teleworkers, 10 s per wait for a connection, 300 s per series,
a timeout on every command. Nothing is aimed anywhere but its namespaces, removed at the
end (on failure and SIGTERM too). ``--quick``: 200 peers, 20 teleworkers, 2 runs.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
import pyotp
from cryptography.fernet import Fernet
from flask import Flask
from werkzeug.test import TestResponse

ROOT = Path(__file__).resolve().parent.parent
PORTAL = ROOT / "roles" / "vpn_gateway" / "files" / "telework_portal"
if str(PORTAL) not in sys.path:  # the portal's modules import each other by name
    sys.path.insert(0, str(PORTAL))

from portal_app import Settings, create_app  # noqa: E402
from portal_gate import Gate, GateClient, GateServer  # noqa: E402
from portal_gate_config import GateConfig  # noqa: E402
from portal_store import Store, new_recovery_codes  # noqa: E402

TABLE = "telework_vpn"
GATEWAY_V4 = "10.77.0.1"
NETWORK_V4 = "10.77.0.0/18"  # room for 16,000 peers
SERVICE, SERVICE_PORT, SERVICE_GATEWAY = "192.0.2.10", 8081, "192.0.2.1"
TO_CLIENT, TO_SERVER = "g0", "g1"  # the gateway's veths (the first is the "tunnel")
PASSWORD = "bench-mot-de-passe"  # noqa: S105 (the fake directory's)
ATTEMPT = 0.02  # seconds each connection attempt waits for the SYN's answer
LIMIT = 10.0  # seconds a start may take to let the first connection through
RUN_TIMEOUT = 60.0
CLONE_NEWNET = 0x40000000
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
#: The role's variables the table's template reads (drops not logged: the bench's dropped
#: SYNs stay out of the host's kernel log).
ROLE_VARS: dict[str, Any] = {
    "ansible_managed": "bench/portal.py", "__vpn_gateway_table": TABLE,
    "__vpn_gateway_groups": ["finance", "staff"], "__vpn_gateway_gated_groups": ["finance"],
    "__vpn_gateway_ipv6": False, "__vpn_gateway_address_v4": GATEWAY_V4,
    "__vpn_gateway_address_v6": "fd77::1", "vpn_gateway_throughput_port": 5201,
    "vpn_gateway_group_services": {"finance": ["finance-app"], "staff": ["mail"]},
    "vpn_gateway_services": {
        "finance-app": {"addresses": [SERVICE], "proto": "tcp", "ports": [SERVICE_PORT]},
        "mail": {"addresses": ["192.0.2.20"], "proto": "tcp", "ports": [993]}},
    "vpn_gateway_portal": True, "vpn_gateway_portal_port": 8443,
    "vpn_gateway_log_drops": False, "vpn_gateway_log_rate": "10/minute",
    "vpn_gateway_masquerade": False, "vpn_gateway_network_v4": NETWORK_V4,
    "vpn_gateway_network_v6": "fd77::/64",
}  # fmt: skip


def address(index: int) -> str:
    """The tunnel address of peer ``index`` (the gateway has .1)."""
    return str(ipaddress.ip_address("10.77.0.2") + index)


def peer(index: int) -> dict[str, Any]:
    """Peer ``index`` as the role writes it into the gate's configuration: staff and
    finance, no IPv6, an empty schedule (whole days on the workdays: every day here)."""
    return {"user": f"bench{index:05d}", "device": f"dev{index:05d}",
            "groups": ["staff", "finance"], "address_v4": address(index), "address_v6": "",
            "schedule": {}}  # fmt: skip


def gate_config(folder: Path, peers: int, nft: list[str]) -> dict[str, Any]:
    """gate.json as the role writes it; every day a workday (the bench runs on weekends)."""
    return {"socket": str(folder / "gate.sock"), "database": str(folder / "sessions.db"),
            "retention_days": 180, "max_seconds": 36000, "table": TABLE, "nft": nft,
            "workdays": list(range(7)), "timezone": "UTC", "gated_groups": ["finance"],
            "peers": [peer(i) for i in range(peers)]}  # fmt: skip


def sets_text(addresses: list[str]) -> str:
    """peer-sets.nft as the role's plan writes it (filter plugin's _sets_text), every
    address in both groups."""
    lines = [f"table inet {TABLE} {{"]
    for name in ("finance", "staff"):
        lines += [f"  set peers_{name}_v{v} {{ type ipv{v}_addr; }}" for v in (4, 6)]
    lines.append("}")
    for name in ("finance", "staff"):
        lines += [f"flush set inet {TABLE} peers_{name}_v{v}" for v in (4, 6)]
        lines.append(f"add element inet {TABLE} peers_{name}_v4 {{ {', '.join(addresses)} }}")
    return "\n".join(lines) + "\n"


def render_table(folder: Path, interface: str, addresses: list[str]) -> Path:
    """The role's firewall.nft rendered as Ansible would (finance gated, the portal on),
    its peer-sets file beside it; the path of the table's file."""
    # Ansible's filters, imported here: Ansible's configuration wants a home of its own
    from ansible.plugins.filter.core import FilterModule  # noqa: PLC0415
    from ansible.plugins.test.core import TestModule  # noqa: PLC0415

    loader = jinja2.FileSystemLoader(ROOT / "roles" / "vpn_gateway" / "templates")
    env = jinja2.Environment(  # noqa: S701 (an nft file, as Ansible renders it)
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
    )
    env.filters.update(FilterModule().filters())
    env.tests.update(TestModule().tests())
    sets_file = folder / "peer-sets.nft"
    text = env.get_template("etc/telework/vpn_gateway/firewall.nft.j2").render(
        **ROLE_VARS, __vpn_gateway_sets_file=str(sets_file), vpn_gateway_interface=interface
    )
    sets_file.write_text(sets_text(addresses), encoding="utf-8")
    table = folder / "firewall.nft"
    table.write_text(text, encoding="utf-8")
    return table


def missing() -> str:
    """Why the bench cannot run here, or ''."""
    if os.geteuid() != 0:
        return "bench/portal.py needs root (it makes network namespaces): run it with sudo"
    tools = [t for t in ("ip", "nft", "sysctl") if shutil.which(t) is None]
    return f"bench/portal.py needs {', '.join(tools)} (iproute2, nftables, procps)" if tools else ""


def run(*argv: str) -> None:
    """A command (argv list) that must succeed; its output capped in the error."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)[:200]} failed: {done.stderr[:1000]}")


def _setns(fd: int) -> None:
    if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns failed")


@contextlib.contextmanager
def inside(namespace: str) -> Iterator[None]:
    """The calling thread in ``namespace`` (sockets made meanwhile stay in it), then back."""
    with open(f"/run/netns/{namespace}") as target, open("/proc/thread-self/ns/net") as home:
        _setns(target.fileno())
        try:
            yield
        finally:
            _setns(home.fileno())


class Lab:
    """Client, gateway and server namespaces: client c0 -- g0 gateway g1 -- s0 server."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.client, self.gateway, self.server = (f"bportal-{tag}-{r}" for r in ("cl", "gw", "sv"))
        self.made: list[str] = []

    def build(self, client_address: str) -> None:
        for name in (self.client, self.gateway, self.server):
            run("ip", "netns", "add", name)
            self.made.append(name)
            run("ip", "-n", name, "link", "set", "lo", "up")
        for a, ns_a, b, ns_b in (
            ("c0", self.client, TO_CLIENT, self.gateway),
            (TO_SERVER, self.gateway, "s0", self.server),
        ):
            run(*f"ip link add {a} netns {ns_a} type veth peer {b} netns {ns_b}".split())
        prefix = NETWORK_V4.split("/")[1]
        for ns, dev, cidr in (
            (self.client, "c0", f"{client_address}/{prefix}"),
            (self.gateway, TO_CLIENT, f"{GATEWAY_V4}/{prefix}"),
            (self.gateway, TO_SERVER, f"{SERVICE_GATEWAY}/24"),
            (self.server, "s0", f"{SERVICE}/24"),
        ):
            run("ip", "-n", ns, "addr", "add", cidr, "dev", dev)
            run("ip", "-n", ns, "link", "set", dev, "up")
        run("ip", "-n", self.client, "route", "add", "default", "via", GATEWAY_V4)
        run("ip", "-n", self.server, "route", "add", NETWORK_V4, "via", SERVICE_GATEWAY)
        run("ip", "netns", "exec", self.gateway, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")

    def nft(self) -> list[str]:
        return ["ip", "netns", "exec", self.gateway, "nft"]

    def remove(self) -> None:
        for name in self.made:
            subprocess.run(["ip", "netns", "delete", name], check=False, timeout=RUN_TIMEOUT)
        self.made.clear()


def listen(namespace: str, stack: contextlib.ExitStack) -> None:
    """A TCP listener on the service's address in ``namespace``, a thread accepting and
    closing; both stopped when ``stack`` closes."""
    with inside(namespace):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stack.callback(sock.close)
    sock.bind((SERVICE, SERVICE_PORT))
    sock.listen(128)
    sock.settimeout(0.2)
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                sock.accept()[0].close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    stack.callback(thread.join, 2)
    stack.callback(stopping.set)


def reaches(namespace: str, timeout: float) -> bool:
    """One TCP connection from ``namespace`` to the service: made within ``timeout``?"""
    with inside(namespace):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with sock:
        sock.settimeout(timeout)
        try:
            sock.connect((SERVICE, SERVICE_PORT))
        except OSError:  # dropped (timeout) or refused
            return False
        return True


def first_connection(namespace: str, began: float) -> float | None:
    """Seconds from ``began`` to the first connection made (attempts of ATTEMPT seconds),
    None when none is made within LIMIT seconds."""
    while time.perf_counter() - began < LIMIT:
        if reaches(namespace, ATTEMPT):
            return time.perf_counter() - began
    return None


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


@dataclass(frozen=True)
class Sizes:
    peers: int
    teleworkers: int
    repeats: int
    threads: int
    client: int  # the index of the client's device among the peers


def first_packet(lab: Lab, client: GateClient, sizes: Sizes) -> None:
    index, peers, repeats = sizes.client, sizes.peers, sizes.repeats
    user, mine = peer(index)["user"], address(index)
    print(f"\n== start work -> first allowed connection, {peers} peers in peers_finance_v4 ==")
    times, calls, closed = [], [], 0
    if reaches(lab.client, 0.3):
        raise SystemExit("the client reaches the service before any start: no table in force")
    for _ in range(repeats):
        began = time.perf_counter()
        client.start(user, mine)
        calls.append(time.perf_counter() - began)
        took = first_connection(lab.client, began)
        client.end(user, mine)
        closed += not reaches(lab.client, 0.3)
        if took is None:
            print(f"no connection within {LIMIT:.0f} s of the start")
            continue
        times.append(took)
    anchors = []
    other = address(index + 1 if index + 1 < peers else index - 1)
    for _ in range(repeats):
        element = f"element inet {TABLE} open_finance_v4 {{ {other} ".split()
        began = time.perf_counter()
        run(*lab.nft(), "add", *element, "timeout", "3600s", "}")
        anchors.append(time.perf_counter() - began)
        run(*lab.nft(), "delete", *element, "}")
    anchor = statistics.median(anchors)
    print(f"anchor: bare `nft add element`: median {ms(anchor)}, max {ms(max(anchors))}")
    print(f"gate start call (socket, sqlite, nft batch): median {ms(statistics.median(calls))}")
    if times:
        median = statistics.median(times)
        print(
            f"start -> first connection: median {ms(median)}, max {ms(max(times))} "
            f"({len(times)}/{repeats} runs; goal < 1 s); ratio to the anchor {median / anchor:.2f}"
        )
    print(f"connection dropped again after end of work: {closed}/{repeats}")


class FakeDirectory:
    """Every bench teleworker's password is PASSWORD (the directory is not measured)."""

    def authenticate(self, login: str, password: str) -> str | None:
        return login if login.startswith("bench") and password == PASSWORD else None


def csrf(page: TestResponse) -> str:
    found = CSRF.search(page.text)
    return found.group(1) if found else ""


def work_day(app: Flask, user: str, secret: str, where: str) -> bool:
    """GET /, POST /login (password + current code), GET / (the redirect), POST /start."""
    browser = app.test_client()
    headers = {"X-Real-IP": where, "Accept-Language": "fr"}
    options: dict[str, Any] = {"base_url": "https://portal.test", "headers": headers}
    form = {"username": user, "password": PASSWORD, "code": pyotp.TOTP(secret).now()}
    login = browser.post(
        "/login", data={"csrf": csrf(browser.get("/", **options)), **form}, **options
    )
    if login.status_code != 303:
        return False
    home = browser.get("/", **options)
    started = browser.post("/start", data={"csrf": csrf(home)}, **options)
    return started.status_code == 200


def hammer(threads: int, jobs: Sequence[Callable[[], bool]], limit: float) -> tuple[int, float]:
    """Runs ``jobs`` in ``threads`` threads, none started after ``limit`` seconds: how many
    succeeded (a job that raises failed), and the wall time."""
    began = time.perf_counter()

    def one(job: Callable[[], bool]) -> bool:
        try:
            return time.perf_counter() - began < limit and job()
        except Exception:  # counted as a failure; the others go on
            return False

    with ThreadPoolExecutor(max_workers=threads) as pool:
        ok = sum(pool.map(one, jobs))
    return ok, time.perf_counter() - began


def logins(lab: Lab, folder: Path, gate_socket: str, sizes: Sizes) -> None:
    peers, teleworkers, threads = sizes.peers, sizes.teleworkers, sizes.threads
    print(f"\n== logins + starts of work: {teleworkers} teleworkers, {threads} threads ==")
    print("(Werkzeug's test client: gunicorn is not in the venv; directory faked in memory)")
    store = Store(folder / "portal.db", Fernet.generate_key())
    now = time.time()
    # spread over the peers (the client's device of part 1 may be one: its work ended)
    chosen = [(i * peers) // teleworkers for i in range(teleworkers)]
    secrets_of = {}
    for i in chosen:
        user, secret = peer(i)["user"], pyotp.random_base32()
        store.enrol(user, secret, int(now // 30) - 10, new_recovery_codes(), now)
        secrets_of[i] = secret
    settings = Settings(secret_key=secrets.token_bytes(32), issuer="Bench")
    app = create_app(settings, FakeDirectory(), GateClient(gate_socket), store)

    def healthz() -> bool:
        answer = app.test_client().get("/healthz", base_url="https://portal.test")
        return answer.status_code == 200

    health = max(1000, 10 * teleworkers)
    ok, wall = hammer(threads, [healthz] * health, 300.0)
    anchor = ok / wall
    print(f"anchor: GET /healthz: {anchor:.0f}/s ({ok}/{health} ok in {wall:.1f} s)")
    jobs = [partial(work_day, app, peer(i)["user"], secrets_of[i], address(i)) for i in chosen]
    ok, wall = hammer(threads, jobs, 300.0)
    rate = ok / wall
    print(
        f"GET / + POST /login + GET / + POST /start: {rate:.1f} teleworkers/s "
        f"({ok}/{teleworkers} ok in {wall:.1f} s); ratio to the anchor {rate / anchor:.4f}"
    )
    opened = open_addresses(lab) & {address(i) for i in chosen}
    print(f"their devices in open_finance_v4 afterwards: {len(opened)}/{teleworkers}")


def open_addresses(lab: Lab) -> set[str]:
    """The addresses in the gateway's open_finance_v4 (nft -j, output capped)."""
    listed = subprocess.run(
        [*lab.nft(), "-j", "list", "set", "inet", TABLE, "open_finance_v4"],
        capture_output=True, timeout=RUN_TIMEOUT, check=True,
    )  # fmt: skip
    found = json.loads(listed.stdout[:50_000_000])["nftables"]
    elements = [e for item in found if "set" in item for e in item["set"].get("elem", [])]
    return {str(e["elem"]["val"]) if isinstance(e, dict) else str(e) for e in elements}


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # the namespaces are removed on the way out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--peers", type=int, default=5000, help="peers in the table and the gate")
    parser.add_argument("--teleworkers", type=int, default=300, help="logins + starts of part 2")
    parser.add_argument("--repeats", type=int, default=5, help="starts timed in part 1")
    parser.add_argument("--threads", type=int, default=4, help="client threads of part 2")
    parser.add_argument("--quick", action="store_true", help="200 peers, 20 teleworkers, 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.peers, args.teleworkers, args.repeats = 200, 20, 2
    peers = max(2, min(args.peers, 16000))
    workers, repeats = max(1, min(args.teleworkers, 2000, peers)), max(1, min(args.repeats, 50))
    # the client's device: not the first element of the set
    sizes = Sizes(peers, workers, repeats, max(1, min(args.threads, 16)), peers // 2)
    if why := missing():
        raise SystemExit(why)
    signal.signal(signal.SIGTERM, _stop)
    lab = Lab()
    with contextlib.ExitStack() as stack:  # undone in reverse, on failure and SIGTERM too
        folder = Path(tempfile.mkdtemp(prefix="bportal-", dir="/tmp"))  # a short socket path
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        stack.callback(lab.remove)
        lab.build(address(sizes.client))
        table = render_table(folder, TO_CLIENT, [address(i) for i in range(peers)])
        began = time.perf_counter()
        run(*lab.nft(), "-f", str(table))
        took = time.perf_counter() - began
        print(f"role's table, {peers} peers, loaded in the gateway in {took:.2f} s")
        listen(lab.server, stack)
        gate = Gate(GateConfig.from_dict(gate_config(folder, peers, lab.nft())))
        stack.callback(gate.close)
        server = GateServer(gate, str(folder / "gate.sock"))
        thread = threading.Thread(target=server.serve, daemon=True)
        thread.start()
        stack.callback(thread.join, 5)
        stack.callback(server.stop)
        first_packet(lab, GateClient(server.path, timeout=15.0), sizes)
        logins(lab, folder, server.path, sizes)
        print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
