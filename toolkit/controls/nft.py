"""What an nftables ruleset lets through, judged from ``nft -j`` (VPN-04, VPN-06).

A rule is judged by what it accepts, not by the words it contains: the matches on the
way to an ``accept`` (through ``jump``/``goto`` too) are collected and asked what they
restrict. An ``accept`` is harmless when it takes established/related traffic only (a
``ct state`` match whose values are all ``established`` or ``related``). Otherwise:

- the source is restricted by an ``==`` match on ``saddr`` with a named set, an address,
  a prefix or an anonymous set of those; ``0.0.0.0/0``, ``::/0`` (or a set holding them)
  restrict nothing, and neither does ``!=``;
- an input interface (``iifname``, ``iif``) restricts nothing, except the loopback, which
  carries no packet from outside;
- a destination is bounded by ``daddr ==`` an address, a prefix other than /0, or a set;
  a port by ``dport ==`` a port, a range smaller than all ports, or a set (an ICMP type
  bounds ICMP).

The JSON comes from the audited host: every shape is checked, anything unexpected is a
ControlError (the control is then an error, never a pass), and what is quoted from it is
made printable.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from toolkit.audit.model import ControlError
from toolkit.text import printable

log = logging.getLogger(__name__)

HARMLESS_STATES = frozenset({"established", "related"})
#: How deep expressions and chain jumps are followed; deeper is judged as unrestricted.
MAX_DEPTH = 16
#: Rules looked at on the ways from one chain to its accepts (jumps multiply them).
MAX_STEPS = 50_000
_EQ = ("==", "in")
_PORT_PROTOCOLS = frozenset({"tcp", "udp", "sctp", "dccp", "udplite"})


@dataclass(frozen=True)
class Match:
    """One ``match`` statement: what is compared (``saddr``, ``dport``, ``ct state``,
    ``iifname``, ``l4proto``...), with which operator, to which value (raw JSON)."""

    what: str
    protocol: str  # the payload protocol (ip, ip6, tcp, udp, icmp, th) or ""
    op: str
    right: Any

    @property
    def equal(self) -> bool:
        return self.op in _EQ


@dataclass
class Rule:
    chain: str
    matches: list[Match]
    verdict: str  # accept, drop, reject, jump, goto, return, or ""
    target: str = ""  # the chain of a jump or goto
    statements: list[str] = field(default_factory=list)  # counter, log, limit, ...
    text: str = ""


@dataclass
class Chain:
    name: str
    hook: str = ""
    policy: str = ""
    rules: list[Rule] = field(default_factory=list)


@dataclass
class Ruleset:
    """Chains and sets of one family and table (or of every table, keyed by table too)."""

    chains: dict[tuple[str, str, str], Chain] = field(default_factory=dict)
    sets: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    def chain(self, family: str, table: str, name: str) -> Chain | None:
        return self.chains.get((family, table, name))

    def in_table(self, family: str, table: str) -> dict[str, Chain]:
        return {n: c for (f, t, n), c in self.chains.items() if (f, t) == (family, table)}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse(text: str) -> Ruleset:
    """The chains, rules and sets of ``nft -j list ...`` output."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ControlError(f"nft -j printed no JSON: {printable(exc)}") from exc
    items = data.get("nftables") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ControlError("nft -j printed JSON without an nftables list")
    ruleset = Ruleset()
    for item in items:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("chain"), dict):
            c = item["chain"]
            key = (_str(c.get("family")), _str(c.get("table")), _str(c.get("name")))
            chain = ruleset.chains.setdefault(key, Chain(key[2]))
            chain.hook, chain.policy = _str(c.get("hook")), _str(c.get("policy"))
        elif isinstance(item.get("set"), dict):
            s = item["set"]
            key = (_str(s.get("family")), _str(s.get("table")), _str(s.get("name")))
            ruleset.sets[key] = s.get("elem", [])
        elif isinstance(item.get("rule"), dict):
            r = item["rule"]
            key = (_str(r.get("family")), _str(r.get("table")), _str(r.get("chain")))
            chain = ruleset.chains.setdefault(key, Chain(key[2]))
            chain.rules.append(_rule(key[2], r))
    return ruleset


def _left(left: Any) -> tuple[str, str]:
    """(what, protocol) of a match's left side."""
    if not isinstance(left, dict):
        return "?", ""
    if isinstance(left.get("payload"), dict):
        payload = left["payload"]
        return _str(payload.get("field")) or "?", _str(payload.get("protocol"))
    if isinstance(left.get("meta"), dict):
        return _str(left["meta"].get("key")) or "?", ""
    if isinstance(left.get("ct"), dict):
        return f"ct {_str(left['ct'].get('key'))}", ""
    return "?", ""


def _rule(chain: str, raw: dict[str, Any]) -> Rule:
    rule = Rule(chain, [], "")
    exprs = raw.get("expr")
    for expr in exprs if isinstance(exprs, list) else []:
        if not isinstance(expr, dict):
            continue
        if isinstance(expr.get("match"), dict):
            m = expr["match"]
            what, protocol = _left(m.get("left"))
            rule.matches.append(Match(what, protocol, _str(m.get("op")) or "==", m.get("right")))
        elif isinstance(expr.get("vmap"), dict):
            _vmap(rule, expr["vmap"])
        for verdict in ("accept", "drop", "reject", "return"):
            if verdict in expr:
                rule.verdict = verdict
        rule.statements += [
            key
            for key in expr
            if key in ("counter", "log", "limit", "masquerade", "snat", "dnat", "notrack")
        ]
        for verdict in ("jump", "goto"):
            if isinstance(expr.get(verdict), dict):
                rule.verdict, rule.target = verdict, _str(expr[verdict].get("target"))
    rule.text = _describe(rule, raw)
    return rule


def _vmap(rule: Rule, vmap: dict[str, Any]) -> None:
    """A verdict map that can accept: judged as an accept of the keys that map to accept
    (a map on anything but a port: an accept with no restriction from it)."""
    what, protocol = _left(vmap.get("key"))
    data = vmap.get("data")
    elems = data.get("set") if isinstance(data, dict) else None
    accepted = [
        pair[0]
        for pair in (elems if isinstance(elems, list) else [])
        if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], dict)
        and "accept" in pair[1]
    ]  # fmt: skip
    if accepted:
        rule.verdict = "accept"
        if what == "dport":
            rule.matches.append(Match(what, protocol, "==", {"set": accepted}))


def _value(right: Any, depth: int = 0) -> str:
    if depth > MAX_DEPTH:
        return "..."
    if isinstance(right, dict):
        return _compound(right, depth)
    if isinstance(right, list):
        return ",".join(_value(v, depth + 1) for v in right)
    return str(right)


def _compound(right: dict[str, Any], depth: int) -> str:
    if isinstance(right.get("set"), list):
        return "{ " + ", ".join(_value(v, depth + 1) for v in right["set"]) + " }"
    if isinstance(right.get("prefix"), dict):
        p = right["prefix"]
        return f"{_value(p.get('addr'), depth + 1)}/{_value(p.get('len'), depth + 1)}"
    if isinstance(right.get("range"), list):
        return "-".join(_value(v, depth + 1) for v in right["range"])
    return "?"


def _describe(rule: Rule, raw: dict[str, Any]) -> str:
    words = []
    for m in rule.matches:
        op = "" if m.equal else f"{m.op} "
        words.append(f"{m.protocol + ' ' if m.protocol else ''}{m.what} {op}{_value(m.right)}")
    words += rule.statements
    words.append(f"{rule.verdict} {rule.target}".strip() or "(no verdict)")
    comment = _str(raw.get("comment"))
    text = " ".join(words) + (f' comment "{comment}"' if comment else "")
    return printable(text if len(text) <= 300 else text[:300] + "...")


def paths(
    ruleset: Ruleset, family: str, table: str, chain: str, upto: int | None = None
) -> Iterator[list[Rule]]:
    """Every way to an accept from ``chain`` (from its first ``upto`` rules when given):
    the rules passed through (jumps and gotos followed, loops and depth bounded), the
    accepting rule last. More than MAX_STEPS rules on those ways is a ControlError."""
    steps = 0

    def walk(name: str, trail: list[Rule], seen: frozenset[str]) -> Iterator[list[Rule]]:
        nonlocal steps
        found = ruleset.chain(family, table, name)
        if found is None or name in seen or len(trail) >= MAX_DEPTH:
            return
        for rule in found.rules if trail or upto is None else found.rules[:upto]:
            steps += 1
            if steps > MAX_STEPS:
                raise ControlError(
                    f"chain {printable(chain)}: more than {MAX_STEPS} rules on the ways to an "
                    "accept, too many to judge"
                )
            if rule.verdict == "accept":
                yield [*trail, rule]
            elif rule.verdict in ("jump", "goto"):
                yield from walk(rule.target, [*trail, rule], seen | {name})

    yield from walk(chain, [], frozenset())


def interfaces(path: list[Rule]) -> set[str] | None:
    """The input interfaces a path is limited to (``iifname``/``iif`` ==), or None."""
    limited: set[str] | None = None
    for m in _matches(path):
        if m.what in ("iif", "iifname") and m.equal:
            names = {str(v) for v in _flat(m.right)}
            limited = names if limited is None else limited & names
    return limited


def _matches(path: list[Rule]) -> list[Match]:
    return [m for rule in path for m in rule.matches]


def _flat(right: Any, depth: int = 0) -> list[Any]:
    """The values of a match's right side (a set, a list or one value)."""
    if depth > MAX_DEPTH:
        return []
    if isinstance(right, dict) and isinstance(right.get("set"), list):
        return [v for item in right["set"] for v in _flat(item, depth + 1)]
    if isinstance(right, list):
        return [v for item in right for v in _flat(item, depth + 1)]
    return [right]


def established_only(path: list[Rule]) -> bool:
    """Whether the path accepts established/related traffic only."""
    for m in _matches(path):
        if m.what == "ct state" and m.equal:
            states = _flat(m.right)
            if states and all(isinstance(s, str) and s in HARMLESS_STATES for s in states):
                return True
    return False


#: Addresses that stand for every address (a match on them limits nothing).
_ANY = frozenset({"0.0.0.0/0", "::/0"})
_EVERY_RANGE = frozenset(
    {("0.0.0.0", "255.255.255.255"), ("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}  # noqa: S104
)


def _unbounded_address(value: Any) -> bool:
    """0.0.0.0/0, ::/0, every address, or something that is not an address at all."""
    if isinstance(value, str):
        return not value or value.startswith("@") or value in _ANY
    if isinstance(value, dict) and isinstance(value.get("prefix"), dict):
        length = value["prefix"].get("len")
        return not isinstance(length, int) or isinstance(length, bool) or length <= 0
    if isinstance(value, dict) and isinstance(value.get("range"), list):
        ends = value["range"]
        return len(ends) != 2 or tuple(str(e) for e in ends) in _EVERY_RANGE
    return True


def _set_elements(ruleset: Ruleset, family: str, table: str, ref: str) -> list[Any] | None:
    key = (family, table, ref[1:])
    if key not in ruleset.sets:
        return None
    return _flat(ruleset.sets[key])


def bounded_addresses(
    ruleset: Ruleset, family: str, table: str, right: Any, *, named_only: bool = False
) -> str | None:
    """The name of the set (or "literal") an ``==`` address match limits to, or None when
    it limits nothing (a /0, a set holding one, an unknown set, a literal where a named
    set is needed)."""
    if isinstance(right, str) and right.startswith("@"):
        elements = _set_elements(ruleset, family, table, right)
        if elements is None or any(_unbounded_address(e) for e in elements):
            return None
        return right[1:]
    if named_only:
        return None
    values = _flat(right)
    if values and not any(_unbounded_address(v) for v in values):
        return "literal"
    return None


def source_limit(ruleset: Ruleset, family: str, table: str, path: list[Rule]) -> str | None:
    """What limits the source of a path: a set name, "literal", "loopback", or None."""
    for m in _matches(path):
        if not m.equal:
            continue
        if (
            m.what in ("iif", "iifname")
            and _flat(m.right)
            and all(v == "lo" for v in _flat(m.right))
        ):
            return "loopback"
        if m.what == "saddr" and m.protocol in ("ip", "ip6"):
            limit = bounded_addresses(ruleset, family, table, m.right)
            if limit:
                return limit
    return None


def _port_values(right: Any) -> list[tuple[int, int]] | None:
    """Port ranges of a dport value, None when one is not a port or covers all ports."""
    ranges = []
    for value in _flat(right):
        if isinstance(value, int) and not isinstance(value, bool):
            ranges.append((value, value))
        elif (
            isinstance(value, dict)
            and isinstance(value.get("range"), list)
            and len(value["range"]) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value["range"])
        ):
            ranges.append((value["range"][0], value["range"][1]))
        else:
            return None
    if not ranges or any(low <= 1 and high >= 65535 for low, high in ranges):
        return None
    return ranges


def _protocols(m: Match) -> set[str] | None:
    """The layer-4 protocols a match limits to (None: it does not limit them)."""
    if m.protocol in _PORT_PROTOCOLS or m.protocol in ("icmp", "icmpv6"):
        return {m.protocol}
    if m.protocol == "th":
        return set(_PORT_PROTOCOLS)
    if m.equal and (m.what == "l4proto" or (m.what == "protocol" and m.protocol == "ip")):
        return {str(v) for v in _flat(m.right)}
    if m.equal and m.what == "nexthdr" and m.protocol == "ip6":
        return {str(v) for v in _flat(m.right)}
    return None


def lets_through(
    ruleset: Ruleset, family: str, table: str, path: list[Rule], *, protocol: str, port: int
) -> bool:
    """Whether ``path`` accepts new ``protocol``/``port`` traffic from any source."""
    if established_only(path) or source_limit(ruleset, family, table, path):
        return False
    for m in _matches(path):
        allowed = _protocols(m)
        if allowed is not None and protocol not in allowed:
            return False
        if m.what == "dport" and m.protocol in (protocol, "th"):
            ranges = _port_values(m.right)
            inside = ranges is None or any(low <= port <= high for low, high in ranges)
            if m.equal and not inside:
                return False
            if m.op == "!=" and ranges is not None and inside:
                return False
    return True


def bounded_service(ruleset: Ruleset, family: str, table: str, path: list[Rule]) -> bool:
    """Whether a path names a peer set, a destination and a port (or an ICMP type)."""
    matches = _matches(path)
    peer = any(
        m.what == "saddr"
        and m.equal
        and (bounded_addresses(ruleset, family, table, m.right, named_only=True) or "").startswith(
            "peers_"
        )
        for m in matches
    )
    destination = any(
        m.what == "daddr" and m.equal and bounded_addresses(ruleset, family, table, m.right)
        for m in matches
    )
    port = any(
        (m.what == "dport" and m.equal and _port_values(m.right) is not None)
        or (m.what == "type" and m.equal and m.protocol in ("icmp", "icmpv6"))
        for m in matches
    )
    return peer and destination and port
