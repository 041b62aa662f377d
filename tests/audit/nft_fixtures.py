"""Canned ``nft -j`` output: the rulesets roles baseline and vpn_gateway write (as
``nft -j list ruleset`` prints them) and builders for the rules tests add to them."""

from __future__ import annotations

import json
from typing import Any

Item = dict[str, Any]

ACCEPT: Item = {"accept": None}
DROP: Item = {"drop": None}
COUNTER: Item = {"counter": {"packets": 0, "bytes": 0}}


def match(left: Item, right: Any, op: str = "==") -> Item:
    return {"match": {"op": op, "left": left, "right": right}}


def payload(protocol: str, field: str) -> Item:
    return {"payload": {"protocol": protocol, "field": field}}


def meta(key: str) -> Item:
    return {"meta": {"key": key}}


def ct_state(*states: str) -> Item:
    return match({"ct": {"key": "state"}}, list(states) if len(states) > 1 else states[0], "in")


def jump(target: str) -> Item:
    return {"jump": {"target": target}}


def prefix(addr: str, length: int) -> Item:
    return {"prefix": {"addr": addr, "len": length}}


def anon(*values: Any) -> Item:
    return {"set": list(values)}


def rule(table: str, chain: str, *expr: Item, comment: str = "") -> Item:
    body: Item = {"family": "inet", "table": table, "chain": chain, "handle": 0, "expr": list(expr)}
    if comment:
        body["comment"] = comment
    return {"rule": body}


def chain(table: str, name: str, hook: str = "", policy: str = "", prio: int = 0) -> Item:
    body: Item = {"family": "inet", "table": table, "name": name, "handle": 0}
    if hook:
        body |= {"type": "filter", "hook": hook, "prio": prio, "policy": policy or "accept"}
    return {"chain": body}


def nft_set(table: str, name: str, kind: str, *elements: Any, interval: bool = False) -> Item:
    body: Item = {"family": "inet", "name": name, "table": table, "type": kind, "handle": 0}
    if interval:
        body["flags"] = ["interval"]
    if elements:
        body["elem"] = list(elements)
    return {"set": body}


def nft_json(*items: Item) -> str:
    return json.dumps(
        {"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}, *items]}
    )


def replace_rule(items: list[Item], comment: str, *new: Item) -> list[Item]:
    """``items`` with the rule commented ``comment`` replaced by ``new`` (in its place)."""
    out: list[Item] = []
    for item in items:
        if item.get("rule", {}).get("comment") == comment:
            out += new
        else:
            out.append(item)
    assert len(out) != len(items) or new, f"no rule commented {comment!r}"
    return out


#: Every IPv4 / IPv6 address: a source match on it limits nothing.
EVERY_V4 = prefix("0.0.0.0", 0)  # noqa: S104 (a prefix, not a bind address)
EVERY_V6 = prefix("::", 0)

VPN = "telework_vpn"
WG0 = match(meta("iifname"), "wg0")
PEERS = match(payload("ip", "saddr"), "@peers_staff_v4")
MAIL_HOST = match(payload("ip", "daddr"), anon("10.89.1.8"))

#: Table inet telework_vpn as roles/vpn_gateway/templates/etc/telework/vpn_gateway/
#: firewall.nft.j2 writes it for one access group (staff) reaching one service (mail).
TUNNEL_TABLE: list[Item] = [
    {"table": {"family": "inet", "name": VPN, "handle": 9}},
    nft_set(VPN, "peers_staff_v4", "ipv4_addr", "10.77.0.3", "10.77.0.4"),
    nft_set(VPN, "peers_staff_v6", "ipv6_addr"),
    chain(VPN, "forward", "forward", "accept", -10),
    rule(VPN, "forward", WG0, jump("from_tunnel")),
    rule(VPN, "forward", match(meta("oifname"), "wg0"), ct_state("established", "related"), ACCEPT),
    rule(VPN, "forward", match(meta("oifname"), "wg0"), jump("deny")),
    chain(VPN, "from_tunnel"),
    rule(VPN, "from_tunnel", ct_state("established", "related"), ACCEPT),
    rule(VPN, "from_tunnel", ct_state("invalid"), DROP),
    rule(
        VPN,
        "from_tunnel",
        PEERS,
        MAIL_HOST,
        match(payload("tcp", "dport"), anon(7000, 8025)),
        ACCEPT,
        comment="staff: mail",
    ),
    rule(
        VPN,
        "from_tunnel",
        PEERS,
        MAIL_HOST,
        match(payload("icmp", "type"), "echo-request"),
        ACCEPT,
        comment="staff: ping",
    ),
    rule(VPN, "from_tunnel", jump("deny"), comment="end"),
    chain(VPN, "input", "input", "accept", -10),
    rule(VPN, "input", WG0, jump("tunnel_to_gateway")),
    chain(VPN, "tunnel_to_gateway"),
    rule(VPN, "tunnel_to_gateway", ct_state("established", "related"), ACCEPT),
    rule(
        VPN,
        "tunnel_to_gateway",
        match(payload("icmp", "type"), "echo-request"),
        {"limit": {"rate": 20, "per": "second"}},
        ACCEPT,
    ),
    rule(
        VPN,
        "tunnel_to_gateway",
        match(payload("icmpv6", "type"), anon("echo-request", "nd-neighbor-solicit")),
        ACCEPT,
    ),
    rule(VPN, "tunnel_to_gateway", jump("deny")),
    chain(VPN, "deny"),
    rule(
        VPN,
        "deny",
        {"limit": {"rate": 10, "per": "minute", "burst": 5}},
        {"log": {"prefix": "vpn-deny: ", "level": "info"}},
    ),
    rule(VPN, "deny", COUNTER, DROP),
]

BASE = "telework_baseline"
#: Table inet telework_baseline as roles/baseline/templates/etc/nftables.conf.j2 writes it
#: on the gateway (SSH from the admin networks, WireGuard's input-vpn_gateway.nft).
BASELINE: list[Item] = [
    {"table": {"family": "inet", "name": BASE, "handle": 1}},
    nft_set(BASE, "admin_v4", "ipv4_addr", prefix("10.89.0.0", 16), interval=True),
    nft_set(BASE, "admin_v6", "ipv6_addr", interval=True),
    chain(BASE, "input", "input", "drop"),
    rule(BASE, "input", ct_state("established", "related"), ACCEPT),
    rule(BASE, "input", ct_state("invalid"), DROP),
    rule(BASE, "input", match(meta("iif"), "lo"), ACCEPT),
    rule(
        BASE,
        "input",
        match(meta("l4proto"), "icmp"),
        match(payload("icmp", "type"), anon("echo-request", "destination-unreachable")),
        ACCEPT,
    ),
    rule(BASE, "input", match(meta("l4proto"), "ipv6-icmp"), ACCEPT),
    rule(
        BASE,
        "input",
        match(payload("tcp", "dport"), 22),
        match(payload("ip", "saddr"), "@admin_v4"),
        ACCEPT,
        comment="ssh from admin networks",
    ),
    rule(
        BASE,
        "input",
        match(payload("tcp", "dport"), 22),
        match(payload("ip6", "saddr"), "@admin_v6"),
        ACCEPT,
        comment="ssh from admin networks v6",
    ),
    rule(BASE, "input", match(payload("udp", "dport"), 51820), ACCEPT, comment="vpn_gateway"),
    chain(BASE, "forward", "forward", "drop"),
    rule(BASE, "forward", ct_state("established", "related"), ACCEPT),
    rule(BASE, "forward", WG0, ACCEPT, comment="vpn_gateway forward"),
    chain(BASE, "output", "output", "accept"),
]
