"""Fuzz of the nft rule judge (VPN-04, VPN-06): whatever ``nft -j`` shape a host prints
(missing keys, wrong types, odd expressions, loops of jumps), the controls end with one of
the documented statuses or a ControlError (an ``error`` result), never another exception."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.audit.conftest import fake_context
from tests.fuzz import FUZZ
from toolkit.audit.model import ControlError, Outcome, Status
from toolkit.audit.registry import implementations
from toolkit.controls import nft

IMPL = implementations()
TABLE = "telework_vpn"
CHAINS = ["forward", "from_tunnel", "input", "deny", "open"]
WORDS = [
    "accept", "drop", "@peers_staff_v4", "@admin_v4", "@nope", "0.0.0.0/0", "::/0", "wg0",
    "lo", "established", "related", "new", "tcp", "udp", "icmp", "saddr", "daddr", "dport",
    "ip", "ip6", "th", "l4proto", "iifname", "state", "inet", TABLE, *CHAINS,
]  # fmt: skip
KEYS = [
    "match", "op", "left", "right", "payload", "protocol", "field", "meta", "key", "ct", "set",
    "prefix", "addr", "len", "range", "accept", "drop", "jump", "goto", "target", "vmap",
    "data", "family", "table", "name", "chain", "hook", "policy", "expr", "elem", "log",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=6)
    | st.sampled_from(WORDS)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=16,
)
names = st.sampled_from(CHAINS) | values
lefts = (
    st.builds(
        lambda p, f: {"payload": {"protocol": p, "field": f}},
        st.sampled_from(["ip", "ip6", "tcp", "udp", "th", "icmp"]) | values,
        st.sampled_from(["saddr", "daddr", "dport", "type"]) | values,
    )
    | st.builds(lambda k: {"meta": {"key": k}}, st.sampled_from(["iifname", "iif", "l4proto"]))
    | st.builds(lambda k: {"ct": {"key": k}}, st.just("state") | values)
    | values
)
rights = (
    values
    | st.builds(lambda v: {"set": v}, st.lists(values, max_size=4))
    | st.builds(lambda a, n: {"prefix": {"addr": a, "len": n}}, values, values)
    | st.builds(lambda a, b: {"range": [a, b]}, values, values)
)
matches = st.builds(
    lambda op, left, right: {"match": {"op": op, "left": left, "right": right}},
    st.sampled_from(["==", "!=", "in", "<"]) | values,
    lefts,
    rights,
)
verdicts = (
    st.sampled_from([{"accept": None}, {"drop": None}, {"log": {}}, {"counter": None}])
    | st.builds(lambda t: {"jump": {"target": t}}, names)
    | st.builds(lambda t: {"goto": t}, names)
    | st.builds(lambda k, d: {"vmap": {"key": k, "data": d}}, lefts, rights)
)
expressions = matches | verdicts | values
rules = st.builds(
    lambda family, chain, expr: {
        "rule": {"family": family, "table": TABLE, "chain": chain, "expr": expr}
    },
    st.just("inet") | values,
    names,
    st.lists(expressions, max_size=6) | values,
)
chains = st.builds(
    lambda name, hook, policy: {
        "chain": {"family": "inet", "table": TABLE, "name": name, "hook": hook, "policy": policy}
    },
    names,
    st.sampled_from(["input", "forward", ""]) | values,
    st.sampled_from(["accept", "drop"]) | values,
)
sets = st.builds(
    lambda name, elem: {"set": {"family": "inet", "table": TABLE, "name": name, "elem": elem}},
    st.sampled_from(["peers_staff_v4", "admin_v4"]) | values,
    st.lists(rights, max_size=3) | values,
)
documents = (
    st.builds(
        lambda items: {"nftables": items}, st.lists(rules | chains | sets | values, max_size=12)
    )
    | values
)

LISTENING = (
    "tcp   LISTEN 0      128          0.0.0.0:22         0.0.0.0:*\n"
    "udp   UNCONN 0      0            0.0.0.0:51820      0.0.0.0:*\n"
)
PARAMS: dict[str, dict[str, Any]] = {
    "VPN-04": {"table": TABLE, "chain": "from_tunnel", "required_sets": ["staff"]},
    "VPN-06": {"outside_allowed": ["udp/51820"]},
}


def judge(control: str, text: str) -> Outcome | ControlError:
    ctx = fake_context(
        {"ss -Hlntu": LISTENING, "nft -j list table": text, "nft -j list ruleset": text}
    )
    try:
        return IMPL[control].check(ctx, PARAMS[control])
    except ControlError as exc:
        return exc


@FUZZ
@given(documents)
def test_vpn04_and_vpn06_give_a_status_or_a_control_error_on_any_nft_json(doc: Any) -> None:
    text = json.dumps(doc)
    for control in PARAMS:
        verdict = judge(control, text)
        if isinstance(verdict, Outcome):
            assert verdict.status in set(Status)
            assert isinstance(verdict.summary, str)


@FUZZ
@given(documents, st.sampled_from(CHAINS), st.sampled_from(["tcp", "udp"]), st.integers(0, 70000))
def test_the_rule_judge_answers_booleans_on_any_nft_json(
    doc: Any, chain: str, protocol: str, port: int
) -> None:
    try:
        ruleset = nft.parse(json.dumps(doc))
        for path in nft.paths(ruleset, "inet", TABLE, chain):
            assert path[-1].verdict == "accept"
            assert isinstance(nft.established_only(path), bool)
            assert isinstance(nft.bounded_service(ruleset, "inet", TABLE, path), bool)
            through = nft.lets_through(ruleset, "inet", TABLE, path, protocol=protocol, port=port)
            assert isinstance(through, bool)
            assert "\x1b" not in path[-1].text
    except ControlError:
        pass


def test_text_that_is_not_json_or_nests_too_deep_is_a_control_error() -> None:
    for text in ("", "nft: command not found", "[" * 100_000, '{"nftables": {}}'):
        verdict = judge("VPN-06", text)
        assert isinstance(verdict, ControlError), text[:20]
