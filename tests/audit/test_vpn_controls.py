"""VPN controls on canned gateway answers: each passes on the gateway role vpn_gateway
builds and fails on the weakness it names."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.audit.conftest import Answer, fake_context, params
from tests.audit.nft_fixtures import (
    ACCEPT,
    BASE,
    BASELINE,
    EVERY_V4,
    EVERY_V6,
    MAIL_HOST,
    PEERS,
    TUNNEL_TABLE,
    VPN,
    WG0,
    anon,
    chain,
    ct_state,
    jump,
    match,
    meta,
    nft_json,
    nft_set,
    payload,
    replace_rule,
    rule,
)
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, Outcome, Status
from toolkit.audit.registry import implementations

IMPL = implementations()
KEY_A = "A" * 42 + "A="
KEY_B = "B" * 42 + "A="
KEY_REVOKED = "C" * 42 + "A="
KEY_ORPHAN = "D" * 42 + "A="
NOW = 1_800_000_000

LISTENING = """\
udp   UNCONN 0      0            0.0.0.0:51820      0.0.0.0:*
tcp   LISTEN 0      128          0.0.0.0:22         0.0.0.0:*
tcp   LISTEN 0      128          0.0.0.0:5432       0.0.0.0:*
tcp   LISTEN 0      4096       127.0.0.1:631        0.0.0.0:*
"""


@pytest.fixture
def inventory(env_dir: Path) -> Path:
    """The test roster (a1..a3 active, a4 revoked) with keys of lt-1, lt-2 and a4's lt-4,
    enrolled the day before NOW."""
    keys = env_dir / ".vpn" / "keys"
    keys.mkdir(parents=True)
    (keys / "lt-1.pub").write_text(KEY_A + "\n")
    (keys / "lt-2.pub").write_text(KEY_B + "\n")
    (keys / "lt-gone.pub").write_text(KEY_REVOKED + "\n")
    for key in keys.iterdir():  # enrolled the day before NOW (VPN-07 reads the enrolment)
        os.utime(key, (NOW - 86400, NOW - 86400))
    return env_dir


def handshakes(*peers: tuple[str, int]) -> str:
    return "".join(f"{key}\t{at}\n" for key, at in peers)


def run(
    catalogue: Catalogue, control: str, answers: Mapping[str, Answer | str], **overrides: object
) -> Outcome:
    ctx = fake_context(answers)
    return IMPL[control].check(ctx, params(catalogue, control, **overrides))


def test_vpn02_passes_when_every_peer_is_a_device_of_an_active_teleworker(
    catalogue: Catalogue, inventory: Path
) -> None:
    answers = {"latest-handshakes": handshakes((KEY_A, NOW), (KEY_B, 0))}
    outcome = run(catalogue, "VPN-02", answers, inventory_path=str(inventory))
    assert outcome.status is Status.PASS
    assert "2 peers" in outcome.summary


def test_vpn02_a_revoked_or_orphan_peer_fails_the_control(
    catalogue: Catalogue, inventory: Path
) -> None:
    answers = {"latest-handshakes": handshakes((KEY_A, NOW), (KEY_REVOKED, NOW), (KEY_ORPHAN, 0))}
    outcome = run(catalogue, "VPN-02", answers, inventory_path=str(inventory))
    assert outcome.status is Status.FAIL
    assert "lt-gone (not in the roster), revoked or unapproved" in outcome.summary
    assert "orphan peer DDDDDDDDDD" in outcome.summary


def test_vpn02_without_wireguard_is_an_error_not_a_pass(
    catalogue: Catalogue, inventory: Path
) -> None:
    with pytest.raises(ControlError):
        run(
            catalogue,
            "VPN-02",
            {"latest-handshakes": Answer(1, "", "No such device")},
            inventory_path=str(inventory),
        )


def test_vpn05_passes_when_the_allowed_service_answers_and_the_forbidden_does_not(
    catalogue: Catalogue,
) -> None:
    answers = {
        "/dev/tcp/10.89.1.8/8025": "open",
        "/dev/tcp/10.89.1.8/8081": "closed",
        "date": str(NOW),
        "latest-handshakes": handshakes((KEY_A, NOW - 5)),
    }
    outcome = run(
        catalogue, "VPN-05", answers, allowed=["10.89.1.8:8025"], forbidden=["10.89.1.8:8081"]
    )
    assert outcome.status is Status.PASS


def test_vpn05_a_reachable_forbidden_service_or_no_handshake_fails(catalogue: Catalogue) -> None:
    answers = {
        "/dev/tcp/10.89.1.8/8025": "open",
        "/dev/tcp/10.89.1.8/8081": "open",
        "date": str(NOW),
        "latest-handshakes": handshakes((KEY_A, 0)),
    }
    outcome = run(
        catalogue, "VPN-05", answers, allowed=["10.89.1.8:8025"], forbidden=["10.89.1.8:8081"]
    )
    assert outcome.status is Status.FAIL
    assert "forbidden 10.89.1.8:8081 is reachable" in outcome.summary
    assert "no handshake" in outcome.summary


def test_vpn07_reports_peers_idle_beyond_the_limit_or_never_connected(
    catalogue: Catalogue, inventory: Path
) -> None:
    answers = {
        "date": str(NOW),
        "latest-handshakes": handshakes((KEY_A, NOW - 40 * 86400), (KEY_B, 0)),
    }
    outcome = run(catalogue, "VPN-07", answers, inventory_path=str(inventory))
    assert outcome.status is Status.WARN
    assert "a1 lt-1: idle 40 days" in outcome.details
    assert "a2 lt-2: never connected" in outcome.details


def test_vpn07_passes_when_every_peer_connected_recently(
    catalogue: Catalogue, inventory: Path
) -> None:
    answers = {"date": str(NOW), "latest-handshakes": handshakes((KEY_A, NOW - 3600))}
    outcome = run(catalogue, "VPN-07", answers, inventory_path=str(inventory))
    assert outcome.status is Status.PASS


# --- VPN-04: what an accept from the tunnel lets through ----------------------------------

DPORT_22 = match(payload("tcp", "dport"), 22)


def vpn04(catalogue: Catalogue, items: list[dict[str, object]], **over: object) -> Outcome:
    return run(
        catalogue, "VPN-04", {"nft -j list table inet telework_vpn": nft_json(*items)}, **over
    )


def tunnel_with(*new: dict[str, object]) -> list[dict[str, object]]:
    """The role's table with rules added to from_tunnel, before its final jump to deny."""
    return replace_rule(TUNNEL_TABLE, "end", *new, rule(VPN, "from_tunnel", jump("deny")))


def test_vpn04_passes_the_roles_per_group_policy(catalogue: Catalogue) -> None:
    outcome = vpn04(catalogue, TUNNEL_TABLE, required_sets=["staff"])
    assert outcome.status is Status.PASS, outcome.summary
    assert outcome.summary == "default deny from the tunnel; 1 peer sets each reach listed services"


def test_vpn04_a_new_connection_accepted_on_its_ct_state_alone_fails(catalogue: Catalogue) -> None:
    outcome = vpn04(catalogue, tunnel_with(rule(VPN, "from_tunnel", ct_state("new"), ACCEPT)))
    assert outcome.status is Status.FAIL
    assert outcome.summary == "accept without a peer set, destination and port: ct state new accept"


def test_vpn04_an_established_state_mixed_with_new_is_not_harmless(catalogue: Catalogue) -> None:
    mixed = rule(VPN, "from_tunnel", ct_state("established", "new"), ACCEPT)
    assert vpn04(catalogue, tunnel_with(mixed)).status is Status.FAIL


def test_vpn04_an_accept_from_any_source_or_without_destination_fails(
    catalogue: Catalogue,
) -> None:
    anywhere = match(payload("ip", "saddr"), EVERY_V4)
    outcome = vpn04(
        catalogue,
        tunnel_with(
            rule(VPN, "from_tunnel", anywhere, MAIL_HOST, DPORT_22, ACCEPT),
            rule(VPN, "from_tunnel", PEERS, DPORT_22, ACCEPT),
            rule(VPN, "from_tunnel", PEERS, MAIL_HOST, ACCEPT),
        ),
    )
    assert outcome.status is Status.FAIL
    assert outcome.summary.count("accept without a peer set, destination and port") == 3
    assert "ip saddr 0.0.0.0/0 ip daddr { 10.89.1.8 } tcp dport 22 accept" in outcome.summary


def test_vpn04_an_any_any_accept_behind_a_jump_fails(catalogue: Catalogue) -> None:
    items = [
        *tunnel_with(rule(VPN, "from_tunnel", WG0, jump("open"))),
        chain(VPN, "open"),
        rule(VPN, "open", ACCEPT),
    ]
    outcome = vpn04(catalogue, items)
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "accept without a peer set, destination and port: accept (via from_tunnel)"
    )


def test_vpn04_a_forward_accept_before_the_jump_to_the_tunnel_chain_fails(
    catalogue: Catalogue,
) -> None:
    items = [rule(VPN, "forward", WG0, ACCEPT), *TUNNEL_TABLE]
    outcome = vpn04(catalogue, items)
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "accept without a peer set, destination and port: iifname wg0 accept"
    )


def test_vpn04_a_port_verdict_map_without_a_peer_set_fails(catalogue: Catalogue) -> None:
    vmap = {"vmap": {"key": payload("tcp", "dport"), "data": anon([22, ACCEPT])}}
    outcome = vpn04(catalogue, tunnel_with(rule(VPN, "from_tunnel", MAIL_HOST, vmap)))
    assert outcome.status is Status.FAIL


def test_vpn04_a_peer_set_holding_every_address_is_no_peer_set(catalogue: Catalogue) -> None:
    items = [
        nft_set(VPN, "peers_staff_v4", "ipv4_addr", EVERY_V4, interval=True)
        if "set" in item and item["set"]["name"] == "peers_staff_v4"
        else item
        for item in TUNNEL_TABLE
    ]
    assert vpn04(catalogue, items).status is Status.FAIL


def test_vpn04_a_chain_that_accepts_at_the_end_fails(catalogue: Catalogue) -> None:
    items = replace_rule(TUNNEL_TABLE, "end", rule(VPN, "from_tunnel", ACCEPT))
    outcome = vpn04(catalogue, items)
    assert outcome.status is Status.FAIL
    assert "accept without a peer set" in outcome.summary
    assert "does not end with a drop" in outcome.summary


def test_vpn04_a_missing_table_or_group_set_fails(catalogue: Catalogue) -> None:
    missing = {"nft -j list table": Answer(1, "", "No such file")}
    assert run(catalogue, "VPN-04", missing).status is Status.FAIL
    outcome = vpn04(catalogue, TUNNEL_TABLE, required_sets=["finance"])
    assert outcome.status is Status.FAIL
    assert "no peer set for access group finance" in outcome.summary


def test_vpn04_output_that_is_not_nft_json_is_an_error_not_a_pass(catalogue: Catalogue) -> None:
    for text in ("table inet telework_vpn {", '{"nftables": 3}', "[" * 100_000):
        with pytest.raises(ControlError, match="nft -j printed"):
            run(catalogue, "VPN-04", {"nft -j list table": text})


# --- VPN-06: what the input path lets through from outside --------------------------------


def vpn06(catalogue: Catalogue, baseline: list[dict[str, object]]) -> Outcome:
    ruleset = nft_json(*baseline, *TUNNEL_TABLE)
    return run(catalogue, "VPN-06", {"ss -Hlntu": LISTENING, "nft -j list ruleset": ruleset})


def baseline_with(*new: dict[str, object]) -> list[dict[str, object]]:
    """The baseline with rules added to its input chain, before the WireGuard rule."""
    wireguard = rule(BASE, "input", match(payload("udp", "dport"), 51820), ACCEPT)
    return replace_rule(BASELINE, "vpn_gateway", *new, wireguard)


def test_vpn06_passes_the_roles_ruleset_with_ssh_limited_to_admin_networks(
    catalogue: Catalogue,
) -> None:
    outcome = vpn06(catalogue, BASELINE)
    assert outcome.status is Status.PASS, outcome.summary
    assert "2 other listening ports limited to admin sources" in outcome.summary


def test_vpn06_a_source_of_every_address_opens_the_ports_it_names(catalogue: Catalogue) -> None:
    anywhere = match(payload("ip", "saddr"), EVERY_V4)
    ports = match(payload("tcp", "dport"), anon(22, 5432))
    outcome = vpn06(catalogue, baseline_with(rule(BASE, "input", anywhere, ports, ACCEPT)))
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "tcp/22 accepted from anywhere (telework_baseline input: "
        "ip saddr 0.0.0.0/0 tcp dport { 22, 5432 } accept); "
        "tcp/5432 accepted from anywhere (telework_baseline input: "
        "ip saddr 0.0.0.0/0 tcp dport { 22, 5432 } accept)"
    )


def test_vpn06_an_ipv6_source_of_every_address_is_no_limit_either(catalogue: Catalogue) -> None:
    anywhere = match(payload("ip6", "saddr"), EVERY_V6)
    outcome = vpn06(catalogue, baseline_with(rule(BASE, "input", anywhere, DPORT_22, ACCEPT)))
    assert outcome.summary.startswith("tcp/22 accepted from anywhere")


def test_vpn06_a_protocol_accepted_without_a_port_opens_every_port(catalogue: Catalogue) -> None:
    outcome = vpn06(
        catalogue, baseline_with(rule(BASE, "input", match(meta("l4proto"), "tcp"), ACCEPT))
    )
    assert outcome.status is Status.FAIL
    assert "tcp/22 accepted from anywhere" in outcome.summary
    assert "tcp/5432 accepted from anywhere" in outcome.summary


def test_vpn06_an_input_interface_is_no_limit_on_what_passes(catalogue: Catalogue) -> None:
    eth0 = match(meta("iifname"), "eth0")
    outcome = vpn06(catalogue, baseline_with(rule(BASE, "input", eth0, DPORT_22, ACCEPT)))
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "tcp/22 accepted from anywhere (telework_baseline input: iifname eth0 tcp dport 22 accept)"
    )


def test_vpn06_an_admin_set_holding_every_address_is_no_limit(catalogue: Catalogue) -> None:
    items = [
        nft_set(BASE, "admin_v4", "ipv4_addr", EVERY_V4, interval=True)
        if "set" in item and item["set"]["name"] == "admin_v4"
        else item
        for item in BASELINE
    ]
    assert vpn06(catalogue, items).summary.startswith("tcp/22 accepted from anywhere")


def test_vpn06_an_open_port_behind_a_jump_is_found(catalogue: Catalogue) -> None:
    items = [
        *baseline_with(rule(BASE, "input", jump("services"))),
        chain(BASE, "services"),
        rule(BASE, "services", match(payload("tcp", "dport"), {"range": [5000, 6000]}), ACCEPT),
    ]
    outcome = vpn06(catalogue, items)
    assert outcome.summary == (
        "tcp/5432 accepted from anywhere (telework_baseline services: tcp dport 5000-6000 accept)"
    )


def test_vpn06_ssh_open_to_anywhere_or_no_default_deny_fails(catalogue: Catalogue) -> None:
    open_ssh = replace_rule(
        BASELINE, "ssh from admin networks", rule(BASE, "input", DPORT_22, ACCEPT)
    )
    outcome = vpn06(catalogue, open_ssh)
    assert outcome.status is Status.FAIL
    assert outcome.summary.startswith("tcp/22 accepted from anywhere")
    no_deny = [chain(BASE, "input", "input", "accept") if i == BASELINE[3] else i for i in BASELINE]
    outcome = vpn06(catalogue, no_deny)
    assert outcome.summary == "no input chain drops by default: every listening port is open"


def test_vpn05_passes_when_every_forbidden_service_is_refused(catalogue: Catalogue) -> None:
    answers = {
        "/dev/tcp/10.89.1.8/993": "open",
        "/dev/tcp/10.89.1.9/636": "closed",
        "/dev/tcp/10.89.1.9/22": "closed",
        "date": str(NOW),
        "latest-handshakes": handshakes((KEY_A, NOW - 5)),
    }
    outcome = run(
        catalogue,
        "VPN-05",
        answers,
        allowed=["10.89.1.8:993"],
        forbidden=["10.89.1.9:636", "10.89.1.9:22"],
    )
    assert outcome.status is Status.PASS
    assert outcome.summary == "handshake done, allowed service reached, forbidden one refused"


def test_vpn05_without_a_forbidden_target_proves_nothing_and_is_an_error(
    catalogue: Catalogue,
) -> None:
    answers = {"/dev/tcp/": "open", "date": str(NOW), "latest-handshakes": handshakes((KEY_A, NOW))}
    with pytest.raises(ControlError, match="no forbidden service to probe"):
        run(catalogue, "VPN-05", answers, allowed=["10.89.1.8:993"], forbidden=[])


def test_vpn07_a_peer_idle_beyond_fail_after_days_fails_the_control(
    catalogue: Catalogue, inventory: Path
) -> None:
    answers = {
        "date": str(NOW),
        "latest-handshakes": handshakes((KEY_A, NOW - 120 * 86400), (KEY_B, NOW - 40 * 86400)),
    }
    outcome = run(catalogue, "VPN-07", answers, inventory_path=str(inventory))
    assert outcome.status is Status.FAIL
    assert outcome.summary == "1 of 2 peers unused beyond 90 days: revoke their access"
    assert outcome.details == ["a1 lt-1: idle 120 days", "a2 lt-2: idle 40 days"]


def test_vpn07_a_peer_never_connected_since_its_enrolment_long_ago_fails(
    catalogue: Catalogue, inventory: Path
) -> None:
    enrolled = NOW - 100 * 86400
    os.utime(inventory / ".vpn" / "keys" / "lt-2.pub", (enrolled, enrolled))
    answers = {"date": str(NOW), "latest-handshakes": handshakes((KEY_A, NOW), (KEY_B, 0))}
    outcome = run(catalogue, "VPN-07", answers, inventory_path=str(inventory))
    assert outcome.status is Status.FAIL
    assert outcome.details == ["a2 lt-2: never connected, enrolled 100 days ago"]
