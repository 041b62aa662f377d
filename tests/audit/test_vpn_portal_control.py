"""VPN-08 on canned gateway answers: the groups that need the second factor (A4, E23) pass
the firewall only from devices of an open working session. The table is what nftables
printed for the role's firewall (tests/audit/fixtures/vpn_portal/); the gate's
configuration, peers file and sessions are what role vpn_gateway and the portal write."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.audit.conftest import Answer, fake_context, params
from tests.fuzz import FUZZ
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, Outcome, Status
from toolkit.audit.registry import implementations

IMPL = implementations()
FIXTURE = Path(__file__).parent / "fixtures" / "vpn_portal"
#: ``nft -j list table inet telework_vpn`` of the role's table, finance gated, lt-0002's
#: working session open.
TABLE: dict[str, Any] = json.loads((FIXTURE / "telework_vpn.json").read_text(encoding="utf-8"))

GATE: dict[str, Any] = {
    "socket": "/run/telework-portal-gate/gate.sock",
    "database": "/var/lib/telework-portal-gate/sessions.db",
    "retention_days": 180,
    "max_seconds": 36000,
    "table": "telework_vpn",
    "nft": "/usr/sbin/nft",
    "workdays": [0, 1, 2, 3, 4],
    "timezone": "Africa/Casablanca",
    "gated_groups": ["finance"],
    "peers_file": "/etc/telework-portal/peers.json",
}
EVERY_DAY: dict[str, Any] = {"regular": [], "overrides": []}
PEERS: list[dict[str, Any]] = [
    {"user": "ag0002", "device": "lt-0002", "groups": ["staff", "finance"],
     "address_v4": "10.77.0.3", "address_v6": "fd77::3", "schedule": EVERY_DAY},
    {"user": "ag0003", "device": "lt-0003", "groups": ["staff"],
     "address_v4": "10.77.0.4", "address_v6": "fd77::4", "schedule": EVERY_DAY},
    {"user": "ag0005", "device": "lt-0005", "groups": ["finance"],
     "address_v4": "10.77.0.5", "address_v6": "fd77::5", "schedule": EVERY_DAY},
]  # fmt: skip
SESSION: dict[str, Any] = {
    "id": 7,
    "user": "ag0002",
    "device": "lt-0002",
    "groups": ["finance"],
    "started": "2026-11-25T08:00:00+01:00",
    "ends": "2026-11-25T16:30:00+01:00",
    "ended": None,
    "how": None,
}
SESSIONS = "sessions --open --json"
SESSIONS_AGAIN = "sessions --json --open"
NFT = "nft -j list table inet telework_vpn"


def table(*, ungated: str = "", opened: tuple[str, ...] = (), without: str = "") -> str:
    """The table's ``nft -j``: the IPv4 rule commented ``ungated`` without its open-set
    match, ``opened`` addresses added to open_finance_v4 as the gate's start batch adds
    them, the set ``without`` left out."""
    doc = copy.deepcopy(TABLE)
    items = doc["nftables"]
    for item in items:
        body = item.get("rule", {})
        first = body.get("expr", [{}])[0].get("match", {}).get("left", {}).get("payload", {})
        if ungated and body.get("comment") == ungated and first.get("protocol") == "ip":
            body["expr"] = [e for e in body["expr"] if "@open_" not in json.dumps(e)]
            break
    for item in items:
        body = item.get("set", {})
        if body.get("name") == "open_finance_v4":
            body.setdefault("elem", []).extend(
                {"elem": {"val": a, "timeout": 30600, "expires": 30000}} for a in opened
            )
    doc["nftables"] = [i for i in items if not without or i.get("set", {}).get("name") != without]
    return json.dumps(doc)


def gateway(
    *,
    gate: Mapping[str, Any] | None = GATE,
    peers: Any = PEERS,
    sessions: Any = (SESSION,),
    nft: str | Answer | None = None,
    answers: Mapping[str, Answer | str] | None = None,
) -> dict[str, Answer | str]:
    """A gateway's answers: gate.json (None: absent), the peers file (None: absent), the
    open sessions (both reads), the table; ``answers`` (a pattern of the command -> its
    answer) replace them."""

    def file(value: Any) -> Answer | str:
        return Answer(3, "") if value is None else json.dumps(value)

    listed = json.dumps(list(sessions) if isinstance(sessions, tuple) else sessions)
    return {
        r"-- /etc/telework-portal/gate\.json": file(gate),
        r"-- /etc/telework-portal/peers\.json": file(peers),
        SESSIONS: listed,
        SESSIONS_AGAIN: listed,
        NFT: table() if nft is None else nft,
        **(answers or {}),
    }


def run(catalogue: Catalogue, answers: Mapping[str, Answer | str], **overrides: Any) -> Outcome:
    ctx = fake_context(answers)
    return IMPL["VPN-08"].check(ctx, params(catalogue, "VPN-08", **overrides))


def shown(outcome: Outcome) -> str:
    return "\n".join([outcome.summary, *outcome.details])


def test_vpn08_passes_the_roles_table_with_the_one_open_session(catalogue: Catalogue) -> None:
    outcome = run(catalogue, gateway())
    assert outcome.status is Status.PASS, shown(outcome)
    assert outcome.summary == (
        "1 gated groups (finance) open only to devices of an open working session; "
        "2 open addresses, 1 open sessions checked"
    )


def test_vpn08_is_not_applicable_on_a_gateway_without_the_portal(catalogue: Catalogue) -> None:
    outcome = run(catalogue, gateway(gate=None))
    assert outcome.status is Status.SKIPPED
    assert (
        outcome.summary == "no /etc/telework-portal/gate.json on this host (no teleworker portal)"
    )


def test_vpn08_is_not_applicable_when_the_portal_gates_no_group(catalogue: Catalogue) -> None:
    outcome = run(catalogue, gateway(gate={**GATE, "gated_groups": []}))
    assert outcome.status is Status.SKIPPED
    assert "gates no group" in outcome.summary


def test_a_rule_of_a_gated_group_without_its_open_set_fails(catalogue: Catalogue) -> None:
    outcome = run(catalogue, gateway(nft=table(ungated="finance: accounting")))
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "group finance is not gated: accept of @peers_finance_v4 without @open_finance_v4: "
        "ip saddr @peers_finance_v4 ip daddr 10.89.1.20 tcp dport 443 accept comment "
        '"finance: accounting" (via forward)'
    )


def _with_finance_chain(first: list[dict[str, Any]]) -> str:
    """The table with from_tunnel's finance rules replaced by ``first`` + a jump to a
    chain ``finance`` accepting the finance peers' IPv4 traffic to the service."""
    doc = copy.deepcopy(TABLE)
    rule = {"family": "inet", "table": "telework_vpn", "handle": 90}
    peers = {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                       "right": "@peers_finance_v4"}}  # fmt: skip
    port = {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                      "right": 443}}  # fmt: skip
    items = [
        i for i in doc["nftables"] if i.get("rule", {}).get("comment") != "finance: accounting"
    ]
    at = next(n for n, i in enumerate(items) if i.get("rule", {}).get("comment") == "staff: mail")
    items[at:at] = [
        {"rule": {**rule, "chain": "from_tunnel", "expr": [*first, {"jump": {"target": "fin"}}]}},
        {"chain": {"family": "inet", "table": "telework_vpn", "name": "fin", "handle": 91}},
        {"rule": {**rule, "chain": "fin", "expr": [peers, port, {"accept": None}]}},
    ]
    doc["nftables"] = items
    return json.dumps(doc)


def test_an_open_set_required_before_a_jump_gates_the_accepts_behind_it(
    catalogue: Catalogue,
) -> None:
    opened = {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                        "right": "@open_finance_v4"}}  # fmt: skip
    assert run(catalogue, gateway(nft=_with_finance_chain([opened]))).status is Status.PASS
    outcome = run(catalogue, gateway(nft=_with_finance_chain([])))
    assert outcome.status is Status.FAIL
    assert "without @open_finance_v4" in outcome.summary
    assert "(via forward, from_tunnel)" in outcome.summary


def test_a_match_that_the_source_is_not_in_the_open_set_does_not_gate(
    catalogue: Catalogue,
) -> None:
    not_open = {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                          "right": "@open_finance_v4"}}  # fmt: skip
    outcome = run(catalogue, gateway(nft=_with_finance_chain([not_open])))
    assert outcome.status is Status.FAIL


def test_a_missing_open_set_fails(catalogue: Catalogue) -> None:
    outcome = run(catalogue, gateway(nft=table(without="open_finance_v6")))
    assert outcome.status is Status.FAIL
    assert "group finance is not gated: no set open_finance_v6 in table inet telework_vpn" in (
        outcome.summary
    )


def test_no_table_fails(catalogue: Catalogue) -> None:
    missing = Answer(1, "", "Error: No such file or directory")
    outcome = run(catalogue, gateway(nft=missing))
    assert outcome.status is Status.FAIL
    assert outcome.summary == "no nftables table inet telework_vpn: nothing is gated"


def test_a_table_no_forward_hook_enters_fails(catalogue: Catalogue) -> None:
    doc = copy.deepcopy(TABLE)
    for item in doc["nftables"]:
        if item.get("chain", {}).get("name") == "forward":
            item["chain"] = {
                k: v for k, v in item["chain"].items() if k in ("family", "table", "name")
            }
    outcome = run(catalogue, gateway(nft=json.dumps(doc)))
    assert outcome.status is Status.FAIL
    assert "has no forward base chain: nothing is gated" in outcome.summary


def test_an_open_address_of_a_device_without_a_session_fails_naming_it(
    catalogue: Catalogue,
) -> None:
    outcome = run(catalogue, gateway(nft=table(opened=("10.77.0.5",))))
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "group finance: 10.77.0.5 (lt-0005 of ag0005) in open_finance_v4 without an open "
        "working session of finance"
    )


def test_an_open_address_no_peer_has_fails(catalogue: Catalogue) -> None:
    outcome = run(catalogue, gateway(nft=table(opened=("10.77.0.99",))))
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "group finance: 10.77.0.99 in open_finance_v4 is no device of the peers file"
    )


def test_a_session_of_another_group_or_an_ended_one_opens_nothing(catalogue: Catalogue) -> None:
    other = {**SESSION, "id": 8, "user": "ag0005", "device": "lt-0005", "groups": ["staff"]}
    ended = {**other, "id": 9, "groups": ["finance"], "ended": "2026-11-25T09:00:00+01:00"}
    answers = gateway(nft=table(opened=("10.77.0.5",)), sessions=(SESSION, other, ended))
    outcome = run(catalogue, answers)
    assert outcome.status is Status.FAIL
    assert "10.77.0.5 (lt-0005 of ag0005)" in outcome.summary


def test_a_session_started_between_the_reads_is_found_by_the_second(
    catalogue: Catalogue,
) -> None:
    started = {**SESSION, "id": 8, "user": "ag0005", "device": "lt-0005"}
    answers = gateway(
        nft=table(opened=("10.77.0.5",)),
        answers={SESSIONS_AGAIN: json.dumps([SESSION, started])},
    )
    ctx = fake_context(answers)
    outcome = IMPL["VPN-08"].check(ctx, params(catalogue, "VPN-08"))
    assert outcome.status is Status.PASS, shown(outcome)
    assert "2 open sessions checked" in outcome.summary
    commands = ctx.host.commands  # type: ignore[union-attr]
    assert [c for c in commands if "sessions" in c][-1].endswith(f"{SESSIONS_AGAIN}'")


def test_the_peers_may_be_in_the_gate_configuration_itself(catalogue: Catalogue) -> None:
    inline = {k: v for k, v in GATE.items() if k != "peers_file"} | {"peers": PEERS}
    outcome = run(catalogue, gateway(gate=inline, peers=None))
    assert outcome.status is Status.PASS, shown(outcome)


def test_without_a_peers_file_every_open_address_is_unexplained(catalogue: Catalogue) -> None:
    outcome = run(catalogue, gateway(peers=None))
    assert outcome.status is Status.FAIL
    assert "10.77.0.3 in open_finance_v4 is no device of the peers file" in outcome.summary


def test_what_the_host_says_is_quoted_printable(catalogue: Catalogue) -> None:
    hostile = [*PEERS[:2], {**PEERS[2], "device": "lt\x1b]0;pwned\x07", "user": "a\u202eb"}]
    outcome = run(catalogue, gateway(peers=hostile, nft=table(opened=("10.77.0.5",))))
    assert outcome.status is Status.FAIL
    assert "\x1b" not in outcome.summary and "\u202e" not in outcome.summary
    assert "lt\\x1b]0;pwned\\x07 of a\\u202eb" in outcome.summary


GARBLED: list[tuple[str, dict[str, Any], str]] = [
    ("gate.json is not JSON", {"gate_text": "{table"}, "gate.json is not JSON"),
    ("gate.json is a list", {"gate": ["finance"]}, "gate.json is not a JSON object"),
    ("the table name is a command", {"gate": {**GATE, "table": "t; reboot"}},
     "is not an nft table name"),
    ("gated_groups is a string", {"gate": {**GATE, "gated_groups": "finance"}},
     "gated_groups is not a list of group names"),
    ("the peers file is relative", {"gate": {**GATE, "peers_file": "../peers.json"}},
     "peers_file '../peers.json' is not an absolute path"),
    ("a peer's address is not one", {"peers": [{**PEERS[0], "address_v4": "10.77.0.300"}]},
     "peers.json: peer 1 address_v4: '10.77.0.300' is not an IP address"),
    ("a peer is a string", {"peers": ["lt-0002"]}, "peers.json: peer 1 is not an object"),
    ("the sessions are a traceback", {"sessions_text": "Traceback (most recent call last)"},
     "sessions --open --json` printed no JSON"),
    ("a session has no device", {"sessions": [{"id": 7, "groups": ["finance"]}]},
     "session 1 has no device or groups"),
    ("a session's groups are numbers", {"sessions": [{**SESSION, "groups": [1]}]},
     "session 1 has a group that is not a name"),
    ("nft prints no JSON", {"nft": "nft: command not found"}, "nft -j printed no JSON"),
    ("an open element is a number", {"nft_elem": 7}, "set open_finance_v4: element 7 is not"),
    ("an open element is no address", {"nft_elem": "not-an-ip"},
     "set open_finance_v4: 'not-an-ip' is not an IP address"),
]  # fmt: skip


def _garbled(case: dict[str, Any]) -> dict[str, Answer | str]:
    kwargs = {k: v for k, v in case.items() if not k.endswith(("_text", "_elem"))}
    answers = gateway(**kwargs)
    if "gate_text" in case:
        answers[r"-- /etc/telework-portal/gate\.json"] = case["gate_text"]
    if "sessions_text" in case:
        answers[SESSIONS] = case["sessions_text"]
    if "nft_elem" in case:
        doc = json.loads(table())
        for item in doc["nftables"]:
            if item.get("set", {}).get("name") == "open_finance_v4":
                item["set"]["elem"].append(case["nft_elem"])
        answers[NFT] = json.dumps(doc)
    return answers


@pytest.mark.parametrize(("case", "says"), [(c, s) for _, c, s in GARBLED],
                         ids=[i for i, _, _ in GARBLED])  # fmt: skip
def test_a_garbled_answer_is_an_error_saying_what_was_wrong(
    catalogue: Catalogue, case: dict[str, Any], says: str
) -> None:
    with pytest.raises(ControlError) as raised:
        run(catalogue, _garbled(case))
    assert says in str(raised.value)


def test_a_failing_admin_command_or_a_file_too_big_is_an_error(catalogue: Catalogue) -> None:
    down = Answer(1, "", "error: the gate does not answer")
    with pytest.raises(ControlError, match="the gate does not answer"):
        run(catalogue, gateway(answers={SESSIONS: down}))
    huge = json.dumps({**GATE, "padding": "x" * (1 << 20)})
    with pytest.raises(ControlError, match="larger than 1048576 bytes"):
        run(catalogue, {r"gate\.json": huge})


def test_the_parameters_must_be_absolute_paths(catalogue: Catalogue) -> None:
    with pytest.raises(ControlError, match="admin_command 'telework-portal-admin; id'"):
        run(catalogue, gateway(), admin_command="telework-portal-admin; id")


DEFAULTS = {
    "gate_config": "/etc/telework-portal/gate.json",
    "admin_command": "/usr/local/sbin/telework-portal-admin",
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@FUZZ
@given(
    st.sampled_from(["gate", "peers", "sessions", "nft_elem"]),
    json_values | st.lists(json_values | st.fixed_dictionaries({"device": json_values})),
)
def test_any_json_from_the_host_gives_a_status_or_a_control_error(where: str, value: Any) -> None:
    answers = _garbled({where: value})
    ctx = fake_context(answers)
    try:
        outcome = IMPL["VPN-08"].check(ctx, DEFAULTS)
    except ControlError:
        return
    assert outcome.status in set(Status)


def _strip(doc: Any) -> Any:
    """``nft -j`` output without what changes from one load to the next."""
    if isinstance(doc, dict):
        return {k: _strip(v) for k, v in doc.items() if k not in ("handle", "expires")}
    if isinstance(doc, list):
        return [_strip(v) for v in doc]
    return doc


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"),
    reason="needs root, nft and ip (a network namespace of its own)",
)
def test_the_canned_table_is_what_nft_prints_for_the_roles_firewall() -> None:
    namespace = f"vpn08-test-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", namespace], check=True, timeout=10)
    try:
        inside = ["ip", "netns", "exec", namespace, "nft"]
        subprocess.run([*inside, "-f", str(FIXTURE / "telework_vpn.nft")], check=True, timeout=10)
        printed = subprocess.run(
            [*inside, "-j", "list", "table", "inet", "telework_vpn"],
            check=True,
            timeout=10,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        subprocess.run(["ip", "netns", "del", namespace], check=True, timeout=10)
    found, canned = _strip(json.loads(printed)), _strip(TABLE)
    assert found["nftables"][1:] == canned["nftables"][1:]  # the metainfo names nft's version
