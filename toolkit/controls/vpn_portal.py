"""VPN gateway's teleworker portal: VPN-08 (docs/controls.md).

Role vpn_gateway with ``vpn_gateway_portal`` gates the groups of
``vpn_gateway_portal_groups``: a teleworker of such a group reaches its services only
after signing in to the portal with the second factor (A4) and starting the working day
(E23). For each gated group G (named with ``[^A-Za-z0-9_]`` -> ``_``) the table
``inet <table>`` has sets ``open_G_v4``/``open_G_v6``, filled by the portal's gate with the
addresses of devices whose working session is open; every accept of G's peer set
(``ip saddr @peers_G_v4``) also requires ``ip saddr @open_G_v4`` (IPv6 alike).

What is read, all as root and each bounded (the runner's command time limit and output
cap, files with ``head -c``): the gate's configuration (``gate.json``: its table, gated
groups and peers file), the peers file (device -> tunnel addresses), the open sessions
(``telework-portal-admin sessions --open --json``) and ``nft -j list table inet <table>``.
Everything is the audited host's: any unexpected shape is a ControlError naming what was
wrong (the control is then an error, never a pass), and what is quoted is made printable.

The sessions are read before the table: a session that ends in between has its elements
deleted by then. An element whose device has no session in that first read may be one
started in between, so the sessions are read once more before it fails.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params
from toolkit.audit.registry import control
from toolkit.controls import nft
from toolkit.text import printable

log = logging.getLogger(__name__)

#: Largest gate configuration or peers file read (a few thousand peers).
MAX_FILE_BYTES = 1 << 20
#: Exit code the read command gives for a missing file.
_MISSING = 3
_PATH = re.compile(r"/[A-Za-z0-9._/+-]{1,255}")
_TABLE = re.compile(r"[A-Za-z0-9_]{1,64}")
_FAMILIES = (("v4", "ip"), ("v6", "ip6"))


def set_name(group: str) -> str:
    """A group's name in its sets (``open_<name>_v4``), as role vpn_gateway writes it."""
    return re.sub(r"[^A-Za-z0-9_]", "_", group)


def _checked_path(value: object, what: str) -> str:
    text = str(value)
    if not _PATH.fullmatch(text) or "/../" in f"{text}/":
        raise ControlError(f"{what} {printable(text)[:120]!r} is not an absolute path")
    return text


def read_json(ctx: Context, path: str) -> Any | None:
    """The JSON of a file of the host read as root (None when the file does not exist)."""
    q = shlex.quote(path)
    res = ctx.run(f"test -e {q} || exit {_MISSING}; head -c {MAX_FILE_BYTES + 1} -- {q}", sudo=True)
    if res.rc == _MISSING:
        return None
    if res.rc != 0:
        raise ControlError(
            f"{path} was not read (exit {res.rc}): {printable(res.stderr.strip()[:200])}"
        )
    if len(res.stdout.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise ControlError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        return json.loads(res.stdout)
    except (ValueError, RecursionError) as exc:
        raise ControlError(f"{path} is not JSON: {printable(exc)[:200]}") from None


@dataclass(frozen=True)
class Gate:
    """What VPN-08 needs of the gate's configuration."""

    table: str
    groups: tuple[str, ...]
    peers_file: str  # "" when the peers are in the configuration itself
    peers: Any  # the configuration's own peers (a list) when there is no peers file


def gate_of(data: Any, path: str) -> Gate:
    """The table, gated groups and peers of a gate.json; ControlError saying what is wrong."""
    if not isinstance(data, dict):
        raise ControlError(f"{path} is not a JSON object")
    table = data.get("table")
    if not isinstance(table, str) or not _TABLE.fullmatch(table):
        raise ControlError(f"{path}: table {printable(table)[:80]!r} is not an nft table name")
    groups = data.get("gated_groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
        raise ControlError(f"{path}: gated_groups is not a list of group names")
    peers_file = data.get("peers_file") or ""
    if peers_file:
        peers_file = _checked_path(peers_file, f"{path}: peers_file")
    return Gate(table, tuple(dict.fromkeys(groups)), peers_file, data.get("peers", []))


def _address(value: Any, where: str) -> str:
    """The canonical text of an address (ControlError when it is none)."""
    try:
        return ipaddress.ip_address(str(value).strip()).compressed
    except ValueError:
        raise ControlError(f"{where}: {printable(value)[:80]!r} is not an IP address") from None


#: A device and its teleworker.
Device = tuple[str, str]


def devices_by_address(peers: Any, where: str) -> dict[str, list[Device]]:
    """Tunnel address -> the devices (and their teleworkers) the peers list gives it."""
    if not isinstance(peers, list):
        raise ControlError(f"{where} is not a JSON list of peers")
    found: dict[str, list[Device]] = {}
    for index, peer in enumerate(peers, 1):
        if not isinstance(peer, dict):
            raise ControlError(f"{where}: peer {index} is not an object")
        device, user = peer.get("device"), peer.get("user")
        if not isinstance(device, str) or not device or not isinstance(user, str):
            raise ControlError(f"{where}: peer {index} has no device or user")
        for key in ("address_v4", "address_v6"):
            if peer.get(key):
                address = _address(peer[key], f"{where}: peer {index} {key}")
                found.setdefault(address, []).append((device, user))
    return found


@dataclass(frozen=True)
class Sessions:
    """The open sessions: how many, and device -> the groups they open."""

    count: int
    groups: dict[str, set[str]]


def open_sessions(text: str, command: str) -> Sessions:
    """The open sessions ``sessions --open --json`` prints."""
    try:
        sessions = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ControlError(f"`{command}` printed no JSON: {printable(exc)[:200]}") from None
    if not isinstance(sessions, list):
        raise ControlError(f"`{command}` printed JSON that is not a list of sessions")
    found: dict[str, set[str]] = {}
    count = 0
    for index, session in enumerate(sessions, 1):
        if not isinstance(session, dict):
            raise ControlError(f"`{command}`: session {index} is not an object")
        device, groups = session.get("device"), session.get("groups")
        if not isinstance(device, str) or not isinstance(groups, list):
            raise ControlError(f"`{command}`: session {index} has no device or groups")
        if not all(isinstance(g, str) for g in groups):
            raise ControlError(f"`{command}`: session {index} has a group that is not a name")
        if session.get("ended") is None:
            count += 1
            found.setdefault(device, set()).update(groups)
    return Sessions(count, found)


def set_addresses(raw: Any, name: str) -> list[str]:
    """The addresses of a set's ``elem`` as ``nft -j`` prints them: a plain value, or
    ``{"elem": {"val": ..., "timeout": ..., "expires": ...}}`` in a set with timeouts."""
    if not isinstance(raw, list):
        raise ControlError(f"set {name}: its elements are not a list")
    out = []
    for item in raw:
        value = item
        if isinstance(item, dict) and isinstance(item.get("elem"), dict):
            value = item["elem"].get("val")
        if not isinstance(value, str):
            raise ControlError(f"set {name}: element {printable(item)[:80]} is not an address")
        out.append(_address(value, f"set {name}"))
    return out


def _base_paths(ruleset: nft.Ruleset, table: str) -> Iterator[list[nft.Rule]]:
    """Every way to an accept from the table's base chains (the ways traffic takes)."""
    for chain in ruleset.in_table("inet", table).values():
        if chain.hook:
            yield from nft.paths(ruleset, "inet", table, chain.name)


def _requires(path: list[nft.Rule], protocol: str, ref: str) -> bool:
    return any(
        m.what == "saddr" and m.equal and m.protocol == protocol and m.right == ref
        for rule in path
        for m in rule.matches
    )


def ungated_accepts(ruleset: nft.Ruleset, table: str, groups: tuple[str, ...]) -> list[str]:
    """Accepts of a gated group's peer set that do not also require its open set."""
    problems = []
    for path in _base_paths(ruleset, table):
        if nft.established_only(path):
            continue
        for group in groups:
            for family, protocol in _FAMILIES:
                name = set_name(group)
                peers, opened = f"@peers_{name}_{family}", f"@open_{name}_{family}"
                if _requires(path, protocol, peers) and not _requires(path, protocol, opened):
                    via = [r.chain for r in path[:-1]]
                    problems.append(
                        f"group {printable(group)} is not gated: accept of {peers} without "
                        f"{opened}: {path[-1].text}" + (f" (via {', '.join(via)})" if via else "")
                    )
    return problems


@dataclass
class OpenSets:
    """Each gated group's open addresses: (group, set name, address)."""

    elements: list[tuple[str, str, str]]
    missing: list[str]


def open_sets(ruleset: nft.Ruleset, table: str, groups: tuple[str, ...]) -> OpenSets:
    found = OpenSets([], [])
    for group in groups:
        for family, _ in _FAMILIES:
            name = f"open_{set_name(group)}_{family}"
            key = ("inet", table, name)
            if key not in ruleset.sets:
                found.missing.append(
                    f"group {printable(group)} is not gated: no set {name} in table inet {table}"
                )
                continue
            found.elements += [(group, name, a) for a in set_addresses(ruleset.sets[key], name)]
    return found


@control("VPN-08")
def gated_groups_closed_without_session(ctx: Context, p: Params) -> Outcome:
    """The VPN groups that need the second factor reach nothing from a device without an
    open working session (A4, E23): their sets open_G_v4/_v6 exist, every accept of their
    peer sets requires them, and every address in them is a device of an open session of
    that group. Not applicable without the portal or when it gates no group."""
    config = _checked_path(p["gate_config"], "gate_config")
    admin = _checked_path(p["admin_command"], "admin_command")
    data = read_json(ctx, config)
    if data is None:
        return Outcome.skipped(f"no {config} on this host (no teleworker portal)")
    gate = gate_of(data, config)
    if not gate.groups:
        return Outcome.skipped(f"{config} gates no group (gated_groups is empty)")
    if gate.peers_file:
        peers = read_json(ctx, gate.peers_file)
        where = gate.peers_file
    else:
        peers, where = gate.peers, f"{config}: peers"
    devices = devices_by_address([] if peers is None else peers, where)
    first = f"{admin} sessions --open --json"
    sessions = open_sessions(ctx.output(first, sudo=True), first)
    res = ctx.run(f"nft -j list table inet {shlex.quote(gate.table)}", sudo=True)
    if res.rc != 0:
        return Outcome.failed(f"no nftables table inet {gate.table}: nothing is gated")
    ruleset = nft.parse(res.stdout)
    problems = []
    if not any(c.hook == "forward" for c in ruleset.in_table("inet", gate.table).values()):
        problems.append(f"table inet {gate.table} has no forward base chain: nothing is gated")
    found = open_sets(ruleset, gate.table, gate.groups)
    problems += found.missing + ungated_accepts(ruleset, gate.table, gate.groups)
    unexplained = [e for e in found.elements if not _has_session(e, devices, sessions)]
    if unexplained:
        # The same command runs once per host: the second read is worded differently.
        again = f"{admin} sessions --json --open"
        sessions = open_sessions(ctx.output(again, sudo=True), again)
        unexplained = [e for e in unexplained if not _has_session(e, devices, sessions)]
    for group, name, address in unexplained:
        owners = ", ".join(f"{printable(d)} of {printable(u)}" for d, u in devices.get(address, []))
        problems.append(
            f"group {printable(group)}: {address} ({owners}) in {name} without an open "
            f"working session of {printable(group)}"
            if owners
            else f"group {printable(group)}: {address} in {name} is no device of the peers file"
        )
    return Outcome.of(
        problems,
        f"{len(gate.groups)} gated groups ({', '.join(printable(g) for g in gate.groups)}) "
        f"open only to devices of an open working session; {len(found.elements)} open "
        f"addresses, {sessions.count} open sessions checked",
    )


def _has_session(
    element: tuple[str, str, str], devices: dict[str, list[Device]], sessions: Sessions
) -> bool:
    """Whether an open set's address is a device of an open session of the set's group."""
    group, _, address = element
    return any(group in sessions.groups.get(d, set()) for d, _ in devices.get(address, []))
