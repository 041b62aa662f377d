"""VPN gateway: VPN-02, VPN-04, VPN-05, VPN-06, VPN-07 (docs/controls.md); VPN-01
in vpn_software.py, VPN-03 in vpn_tunnel.py, VPN-08 (the teleworker portal) in vpn_portal.py.

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
from toolkit.audit.model import ControlError, Outcome, Params, as_list
from toolkit.audit.registry import control
from toolkit.controls import nft
from toolkit.errors import ToolkitError
from toolkit.roster import load_environment_roster
from toolkit.text import printable
from toolkit.vpn.layout import KEYS_DIR

_KEY = re.compile(r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")


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
        for device in worker.equipment:
            owner[device.name] = (worker.id, worker.eligible)
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


def latest_handshakes(ctx: Context, interface: str) -> dict[str, int]:
    """Peer public key -> last handshake (Unix time, 0 never) of a WireGuard interface
    (the gateway's, a test peer's, a laptop's: LAP-09); a line other than a key and a
    number in ASCII digits is skipped."""
    cmd = f"wg show {shlex.quote(interface)} latest-handshakes"
    out = ctx.output(cmd, sudo=True)
    peers = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 2 and re.fullmatch(r"[0-9]{1,18}", fields[1]):
            peers[fields[0]] = int(fields[1])
    return peers


@control("VPN-02")
def peers_match_roster(ctx: Context, p: Params) -> Outcome:
    """Every peer of the gateway is a device of an active, approved teleworker (E1, C5):
    no peer of a revoked teleworker, no peer whose key no device of the roster has."""
    keys = known_keys(Path(p["inventory_path"]))
    peers = latest_handshakes(ctx, str(p["interface"]))
    problems = []
    for key in sorted(peers):
        if key in keys.refused:
            problems.append(f"peer of {keys.refused[key]} still configured")
        elif key not in keys.allowed:
            problems.append(f"orphan peer {key[:10]}... (no device of the roster has this key)")
    return Outcome.of(
        problems, f"{len(peers)} peers, each a device of an active, approved teleworker"
    )


@control("VPN-04")
def tunnel_access_policy(ctx: Context, p: Params) -> Outcome:
    """Traffic from the tunnel is filtered per access group (A13): every accept names a
    group's peer set, destination addresses and ports; the chain ends in a drop; no
    any/any accept. Judged on ``nft -j``: what each accept lets through (toolkit.controls.nft),
    through jumps, and in the forward base chain before the jump to the tunnel's chain."""
    table, chain = str(p["table"]), str(p["chain"])
    res = ctx.run(f"nft -j list table inet {shlex.quote(table)}", sudo=True)
    if res.rc != 0:
        return Outcome.failed(f"no nftables table inet {table}: the tunnel is not filtered")
    ruleset = nft.parse(res.stdout)
    chains = ruleset.in_table("inet", table)
    if chain not in chains:
        return Outcome.failed(f"table inet {table} has no chain {chain}")
    problems, warnings = [], []
    judged, entered = _tunnel_paths(ruleset, table, chain)
    if not entered:
        problems.append(f"no forward base chain sends tunnel traffic to {chain}")
    groups = set()
    for path in judged:
        if nft.established_only(path):
            continue
        if not nft.bounded_service(ruleset, "inet", table, path):
            problems.append(
                f"accept without a peer set, destination and port: {path[-1].text}"
                + (f" (via {', '.join(r.chain for r in path[:-1])})" if len(path) > 1 else "")
            )
        else:
            groups.add(nft.source_limit(ruleset, "inet", table, path))
    if not _ends_in_drop(chains, chain):
        problems.append(f"chain {chain} does not end with a drop (default deny)")
    logged = any("log" in r.statements for c in chains.values() for r in c.rules)
    if not logged:
        warnings.append("dropped tunnel traffic is not logged")
    for group in as_list(p["required_sets"]):
        name = re.sub(r"[^A-Za-z0-9_]", "_", str(group))
        if group and ("inet", table, f"peers_{name}_v4") not in ruleset.sets:
            problems.append(f"no peer set for access group {group}")
    return Outcome.of(
        problems,
        f"default deny from the tunnel; {len(groups)} peer sets each reach listed services",
        warnings=warnings,
    )


def _tunnel_paths(
    ruleset: nft.Ruleset, table: str, chain: str
) -> tuple[list[list[nft.Rule]], bool]:
    """The ways to an accept that tunnel traffic can take: from the tunnel's chain, and in
    a forward base chain before the rule that sends it there; whether such a rule exists."""
    judged = list(nft.paths(ruleset, "inet", table, chain))
    entered = False
    for base in ruleset.in_table("inet", table).values():
        if base.hook != "forward":
            continue
        for index, rule in enumerate(base.rules):
            if rule.verdict not in ("jump", "goto") or rule.target != chain:
                continue
            entered = True
            tunnel = nft.interfaces([rule])
            for path in nft.paths(ruleset, "inet", table, base.name, upto=index):
                limited = nft.interfaces(path)
                if tunnel is None or limited is None or limited & tunnel:
                    judged.append(path)
            break
    return judged, entered


def _ends_in_drop(chains: dict[str, nft.Chain], name: str, depth: int = 0) -> bool:
    """Whether the chain's last rule drops whatever reaches it (itself or by a jump)."""
    found = chains.get(name)
    if found is None or not found.rules or depth > nft.MAX_DEPTH:
        return False
    last = found.rules[-1]
    if last.matches:
        return False
    if last.verdict in ("drop", "reject"):
        return True
    return last.verdict in ("jump", "goto") and _ends_in_drop(chains, last.target, depth + 1)


def _split_target(target: str) -> tuple[str, int]:
    host, _, port = str(target).rpartition(":")
    if not host or not port.isdigit():
        raise ControlError(f"{target!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


@control("VPN-05")
def test_peer_crosses_the_tunnel(ctx: Context, p: Params) -> Outcome:
    """From a test peer: the tunnel completes a handshake, an allowed service answers and a
    forbidden one does not (M7, A13). Without both an allowed and a forbidden target it
    proves nothing: an error."""
    for kind in ("allowed", "forbidden"):
        if not [t for t in as_list(p[kind]) if t]:
            raise ControlError(f"no {kind} service to probe: set VPN-05 {kind} (HOST:PORT)")
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
    peers = latest_handshakes(ctx, str(p["interface"]))
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
    return Outcome.of(problems, "handshake done, allowed service reached, forbidden one refused")


_LISTEN = re.compile(r"^(tcp|udp)\s+\S+\s+\d+\s+\d+\s+(\S+):(\d+)\s")


@control("VPN-06")
def only_vpn_port_outside(ctx: Context, p: Params) -> Outcome:
    """The input path drops by default and no listening port other than the VPN's
    (``outside_allowed``) is accepted from any source: admin ports (SSH) must be limited to
    admin networks (A8). Judged on ``nft -j``: an accept limited by an input interface is
    still open from anywhere (only the loopback is not), ``saddr 0.0.0.0/0`` limits nothing,
    and an accept without a port (``meta l4proto tcp accept``) opens every port."""
    allowed = {str(x) for x in as_list(p["outside_allowed"])}
    listening = set()
    for line in ctx.output("ss -Hlntu").splitlines():
        m = _LISTEN.match(line.strip())
        if m and not re.match(r"^(127\.|\[?::1\]?$|\[?::ffff:127\.)", m.group(2)):
            listening.add(f"{m.group(1)}/{m.group(3)}")
    ruleset = nft.parse(ctx.output("nft -j list ruleset", sudo=True))
    inputs = [
        (family, table, chain)
        for (family, table, _), chain in ruleset.chains.items()
        if chain.hook == "input" and chain.policy == "drop"
    ]
    if not inputs:
        return Outcome.failed("no input chain drops by default: every listening port is open")
    exposed = []
    for port in sorted(listening - allowed):
        proto, number = port.split("/")
        for family, table, chain in inputs:
            for path in nft.paths(ruleset, family, table, chain.name):
                if nft.lets_through(ruleset, family, table, path, protocol=proto, port=int(number)):
                    exposed.append(
                        f"{port} accepted from anywhere "
                        f"({printable(table)} {path[-1].chain}: {path[-1].text})"
                    )
                    break
    return Outcome.of(
        exposed,
        f"only {', '.join(sorted(allowed))} open outside; "
        f"{len(listening - allowed)} other listening ports limited to admin sources",
    )


def enrolled_at(inventory: Path) -> dict[str, int]:
    """Public key -> modification time of its file in ``.vpn/keys`` (its enrolment)."""
    folder = inventory / KEYS_DIR
    found = {}
    for path in sorted(folder.glob("*.pub")) if folder.is_dir() else []:
        key = path.read_text(encoding="ascii", errors="replace").strip()
        if _KEY.match(key):
            found[key] = int(path.stat().st_mtime)
    return found


@control("VPN-07")
def idle_peers(ctx: Context, p: Params) -> Outcome:
    """Peers without a handshake for more than ``idle_days`` (or never) are reported (A18):
    access that is not used any more should be revoked. Idle beyond ``fail_after_days``,
    or never connected although enrolled that long ago, fails: it should be gone."""
    now = int(ctx.output("date +%s").strip())
    peers = latest_handshakes(ctx, str(p["interface"]))
    names: dict[str, str] = {}
    inventory = Path(str(p["inventory_path"]))
    enrolled = enrolled_at(inventory)
    if (inventory / KEYS_DIR).is_dir():
        try:
            found = known_keys(inventory)
            names = {**found.refused, **found.allowed}
        except ControlError:
            names = {}
    limit, hard = int(p["idle_days"]) * 86400, int(p["fail_after_days"]) * 86400
    idle, stale = [], []
    for key, last in sorted(peers.items()):
        label = names.get(key, key[:10] + "...")
        if last == 0:
            since = enrolled.get(key)
            if since is not None and now - since > hard:
                stale.append(
                    f"{label}: never connected, enrolled {(now - since) // 86400} days ago"
                )
            else:
                idle.append(f"{label}: never connected")
        elif now - last > hard:
            stale.append(f"{label}: idle {(now - last) // 86400} days")
        elif now - last > limit:
            idle.append(f"{label}: idle {(now - last) // 86400} days")
    if stale:
        return Outcome.failed(
            f"{len(stale)} of {len(peers)} peers unused beyond {p['fail_after_days']} days: "
            "revoke their access",
            *stale,
            *idle,
        )
    if idle:
        return Outcome.warned(
            f"{len(idle)} of {len(peers)} peers idle beyond {p['idle_days']} days", *idle
        )
    return Outcome.passed(f"{len(peers)} peers, none idle beyond {p['idle_days']} days")
