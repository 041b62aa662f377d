"""VPN gateway: VPN-02, VPN-04, VPN-05, VPN-06, VPN-07 (CONTROLS.md "VPN gateway").

WireGuard as role vpn_gateway sets it up: peers of interface ``wg0``, the access policy in
the nftables table ``inet telework_vpn``, the devices' public keys on the controller in
``<inventory>/.vpn/keys/<device>.pub``. VPN-05 runs on a test peer (a device in the
``vpn_test_peers`` group) and crosses the tunnel as a teleworker would.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from toolkit.audit.context import Context
from toolkit.audit.registry import ControlError, Outcome, Params, as_list, control
from toolkit.errors import ToolkitError
from toolkit.roster import load_environment_roster

_KEY = re.compile(r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")
KEYS_DIR = Path(".vpn") / "keys"


@dataclass(frozen=True)
class KnownKeys:
    """Public keys on the controller: those of active, approved teleworkers' devices and
    those of anyone else (revoked teleworkers, devices no longer in the roster)."""

    allowed: dict[str, str]
    refused: dict[str, str]


def known_keys(inventory: Path) -> KnownKeys:
    """Read the roster and ``.vpn/keys`` of an inventory folder."""
    try:
        roster = load_environment_roster(inventory)
    except ToolkitError as exc:
        raise ControlError(f"cannot read the roster of {inventory}: {exc}") from exc
    owner: dict[str, tuple[str, bool]] = {}
    for worker in roster.teleworkers:
        approved = worker.approved_on is not None and bool(worker.approved_by)
        for device in worker.equipment:
            owner[device.name] = (worker.id, worker.active and approved)
    allowed: dict[str, str] = {}
    refused: dict[str, str] = {}
    folder = inventory / KEYS_DIR
    for path in sorted(folder.glob("*.pub")) if folder.is_dir() else []:
        key = path.read_text(encoding="ascii", errors="replace").strip()
        if not _KEY.match(key):
            continue
        worker_id, ok = owner.get(path.stem, ("", False))
        label = f"{worker_id} {path.stem}" if worker_id else f"{path.stem} (not in the roster)"
        (allowed if ok else refused)[key] = label if ok else f"{label}, revoked or unapproved"
    return KnownKeys(allowed, refused)


def _peers(ctx: Context, interface: str) -> dict[str, int]:
    """Peer public key -> last handshake (Unix time, 0 never) of the gateway's interface."""
    cmd = f"wg show {shlex.quote(interface)} latest-handshakes"
    out = ctx.output(cmd, sudo=True)
    peers = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1].isdigit():
            peers[fields[0]] = int(fields[1])
    return peers


@control("VPN-02")
def peers_match_roster(ctx: Context, p: Params) -> Outcome:
    """Every peer of the gateway is a device of an active, approved teleworker (E1, C5):
    no peer of a revoked teleworker, no peer whose key no device of the roster has."""
    keys = known_keys(Path(p["inventory_path"]))
    peers = _peers(ctx, str(p["interface"]))
    problems = []
    for key in sorted(peers):
        if key in keys.refused:
            problems.append(f"peer of {keys.refused[key]} still configured")
        elif key not in keys.allowed:
            problems.append(f"orphan peer {key[:10]}... (no device of the roster has this key)")
    return Outcome.of(
        problems, f"{len(peers)} peers, each a device of an active, approved teleworker"
    )


_ACCEPT_OK = re.compile(r"\bct state\b.*\baccept\b")


@control("VPN-04")
def tunnel_access_policy(ctx: Context, p: Params) -> Outcome:
    """Traffic from the tunnel is filtered per access group (A13): every accept names a
    group's peer set, destination addresses and ports; the chain ends in a drop; no
    any/any accept."""
    table, chain = str(p["table"]), str(p["chain"])
    res = ctx.run(f"nft list table inet {shlex.quote(table)}", sudo=True)
    if res.rc != 0:
        return Outcome.failed(f"no nftables table inet {table}: the tunnel is not filtered")
    chains = _chains(res.stdout)
    rules = chains.get(chain)
    if rules is None:
        return Outcome.failed(f"table inet {table} has no chain {chain}")
    problems, warnings = [], []
    hooks = [name for name, body in chains.items() if any("hook forward" in r for r in body)]
    if not any(f"jump {chain}" in r for h in hooks for r in chains[h]):
        problems.append(f"no forward base chain sends tunnel traffic to {chain}")
    groups = set()
    for rule in rules:
        if not re.search(r"\baccept\b", rule) or _ACCEPT_OK.search(rule):
            continue
        set_match = re.search(r"saddr @(\S+)", rule)
        if not (set_match and "daddr" in rule and ("dport" in rule or "icmp" in rule)):
            problems.append(f"accept without a peer set, destination and port: {rule}")
        elif set_match:
            groups.add(set_match.group(1))
    last = rules[-1] if rules else ""
    final_drop = last.endswith("drop") or (
        last.startswith("jump ") and any(r.endswith("drop") for r in chains.get(last[5:], []))
    )
    if not final_drop:
        problems.append(f"chain {chain} does not end with a drop (default deny)")
    logged = any("log prefix" in r for body in chains.values() for r in body)
    if not logged:
        warnings.append("dropped tunnel traffic is not logged")
    for group in as_list(p["required_sets"]):
        if group and f"peers_{group}_v4" not in res.stdout:
            problems.append(f"no peer set for access group {group}")
    return Outcome.of(
        problems,
        f"default deny from the tunnel; {len(groups)} peer sets each reach listed services",
        warnings=warnings,
    )


def _chains(listing: str) -> dict[str, list[str]]:
    """Chain name -> its statements, from ``nft list table``."""
    chains: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in listing.splitlines():
        line = raw.strip()
        match = re.match(r"chain (\S+) \{", line)
        if match:
            current = chains.setdefault(match.group(1), [])
        elif line == "}":
            current = None
        elif current is not None and line:
            current.append(line)
    return chains


def _split_target(target: str) -> tuple[str, int]:
    host, _, port = str(target).rpartition(":")
    if not host or not port.isdigit():
        raise ControlError(f"{target!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


@control("VPN-05")
def test_peer_crosses_the_tunnel(ctx: Context, p: Params) -> Outcome:
    """From a test peer: the tunnel completes a handshake, an allowed service answers and a
    forbidden one does not (M7, A13)."""
    timeout = int(p["timeout"])
    results: dict[str, bool] = {}
    for target in [*as_list(p["allowed"]), *as_list(p["forbidden"])]:
        if not target:
            continue
        host, port = _split_target(str(target))
        probe = (
            f"timeout {timeout} bash -c {shlex.quote(f'</dev/tcp/{host}/{port}')} "
            "&& echo open || echo closed"
        )
        results[str(target)] = ctx.output(probe).strip().endswith("open")
    now = int(ctx.output("date +%s").strip())
    peers = _peers(ctx, str(p["interface"]))
    recent = [t for t in peers.values() if t and now - t <= int(p["handshake_max_age"])]
    problems = []
    if not recent:
        problems.append(f"no handshake with the gateway in the last {p['handshake_max_age']} s")
    problems += [
        f"allowed {t} is not reachable" for t in as_list(p["allowed"]) if t and not results[str(t)]
    ]
    problems += [
        f"forbidden {t} is reachable" for t in as_list(p["forbidden"]) if t and results[str(t)]
    ]
    if not as_list(p["allowed"]) or not [t for t in as_list(p["allowed"]) if t]:
        raise ControlError("no allowed service to probe: set VPN-05 allowed (HOST:PORT)")
    return Outcome.of(problems, "handshake done, allowed service reached, forbidden one refused")


_LISTEN = re.compile(r"^(tcp|udp)\s+\S+\s+\d+\s+\d+\s+(\S+):(\d+)\s")


@control("VPN-06")
def only_vpn_port_outside(ctx: Context, p: Params) -> Outcome:
    """The input path drops by default and no listening port other than the VPN's
    (``outside_allowed``) is accepted from any source: admin ports (SSH) must be limited to
    admin networks or interfaces (A8)."""
    allowed = {str(x) for x in as_list(p["outside_allowed"])}
    listening = set()
    for line in ctx.output("ss -Hlntu").splitlines():
        m = _LISTEN.match(line.strip())
        if m and not re.match(r"^(127\.|\[?::1\]?$|\[?::ffff:127\.)", m.group(2)):
            listening.add(f"{m.group(1)}/{m.group(3)}")
    ruleset = ctx.output("nft list ruleset", sudo=True)
    chains = _chains(ruleset)
    inputs = [n for n, body in chains.items() if any("hook input" in r for r in body)]
    if not any("policy drop" in r for n in inputs for r in chains[n]):
        return Outcome.failed("no input chain drops by default: every listening port is open")
    exposed = []
    for port in sorted(listening - allowed):
        proto, number = port.split("/")
        for name, body in chains.items():
            for rule in body:
                if "accept" not in rule or "saddr" in rule or "iifname" in rule:
                    continue
                ports = re.search(rf"{proto} dport (\{{[^}}]*\}}|\S+)", rule)
                if ports and re.search(rf"(^|[^\d-]){number}([^\d-]|$)", ports.group(1)):
                    exposed.append(f"{port} accepted from anywhere ({name}: {rule})")
    return Outcome.of(
        exposed,
        f"only {', '.join(sorted(allowed))} open outside; "
        f"{len(listening - allowed)} other listening ports limited by source or interface",
    )


@control("VPN-07")
def idle_peers(ctx: Context, p: Params) -> Outcome:
    """Peers without a handshake for more than ``idle_days`` (or never) are reported (A18):
    access that is not used any more should be revoked."""
    now = int(ctx.output("date +%s").strip())
    peers = _peers(ctx, str(p["interface"]))
    names: dict[str, str] = {}
    inventory = Path(str(p["inventory_path"]))
    if (inventory / KEYS_DIR).is_dir():
        try:
            found = known_keys(inventory)
            names = {**found.refused, **found.allowed}
        except ControlError:
            names = {}
    limit = int(p["idle_days"]) * 86400
    idle = []
    for key, last in sorted(peers.items()):
        label = names.get(key, key[:10] + "...")
        if last == 0:
            idle.append(f"{label}: never connected")
        elif now - last > limit:
            idle.append(f"{label}: idle {(now - last) // 86400} days")
    if idle:
        return Outcome.warned(
            f"{len(idle)} of {len(peers)} peers idle beyond {p['idle_days']} days", *idle
        )
    return Outcome.passed(f"{len(peers)} peers, none idle beyond {p['idle_days']} days")
