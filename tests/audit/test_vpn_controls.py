"""VPN controls on canned gateway answers: each passes on the gateway role vpn_gateway
builds and fails on the weakness it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audit.conftest import Answer, fake_context, params
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.registry import ControlError, Status, implementations

IMPL = implementations()
KEY_A = "A" * 42 + "A="
KEY_B = "B" * 42 + "A="
KEY_REVOKED = "C" * 42 + "A="
KEY_ORPHAN = "D" * 42 + "A="
NOW = 1_800_000_000

POLICY = """\
table inet telework_vpn {
\tset peers_staff_v4 {
\t\ttype ipv4_addr
\t\telements = { 10.77.0.3 }
\t}
\tchain forward {
\t\ttype filter hook forward priority filter - 10; policy accept;
\t\tiifname "wg0" jump from_tunnel
\t}
\tchain from_tunnel {
\t\tct state established,related accept
\t\tip saddr @peers_staff_v4 ip daddr 10.89.1.8 tcp dport { 7000, 8025 } accept comment "staff: mail"
\t\tjump deny
\t}
\tchain deny {
\t\tlimit rate 10/minute burst 5 packets log prefix "vpn-deny: " level info
\t\tcounter packets 0 bytes 0 drop
\t}
}
"""

RULESET = """\
table inet telework_baseline {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\ttcp dport 22 ip saddr @admin_v4 accept comment "ssh from admin networks"
\t\tudp dport 51820 accept comment "vpn_gateway"
\t}
}
"""
LISTENING = """\
udp   UNCONN 0      0            0.0.0.0:51820      0.0.0.0:*
tcp   LISTEN 0      128          0.0.0.0:22         0.0.0.0:*
tcp   LISTEN 0      4096       127.0.0.1:631        0.0.0.0:*
"""


@pytest.fixture
def inventory(env_dir: Path) -> Path:
    """The test roster (a1..a3 active, a4 revoked) with keys of lt-1, lt-2 and a4's lt-4."""
    keys = env_dir / ".vpn" / "keys"
    keys.mkdir(parents=True)
    (keys / "lt-1.pub").write_text(KEY_A + "\n")
    (keys / "lt-2.pub").write_text(KEY_B + "\n")
    (keys / "lt-gone.pub").write_text(KEY_REVOKED + "\n")
    return env_dir


def handshakes(*peers: tuple[str, int]) -> str:
    return "".join(f"{key}\t{at}\n" for key, at in peers)


def run(catalogue: Catalogue, control: str, answers: dict[str, object], **overrides: object):  # type: ignore[no-untyped-def]
    ctx = fake_context(answers)  # type: ignore[arg-type]
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


def test_vpn04_passes_the_roles_per_group_policy(catalogue: Catalogue) -> None:
    outcome = run(catalogue, "VPN-04", {"nft list table": POLICY}, required_sets=["staff"])
    assert outcome.status is Status.PASS


def test_vpn04_an_any_any_accept_from_the_tunnel_fails(catalogue: Catalogue) -> None:
    open_policy = POLICY.replace(
        "\t\tjump deny\n\t}\n\tchain deny", "\t\taccept\n\t}\n\tchain deny"
    )
    outcome = run(catalogue, "VPN-04", {"nft list table": open_policy})
    assert outcome.status is Status.FAIL
    assert "accept without a peer set" in outcome.summary
    assert "does not end with a drop" in outcome.summary


def test_vpn04_a_missing_table_or_group_set_fails(catalogue: Catalogue) -> None:
    assert (
        run(catalogue, "VPN-04", {"nft list table": Answer(1, "", "No such file")}).status
        is Status.FAIL
    )
    outcome = run(catalogue, "VPN-04", {"nft list table": POLICY}, required_sets=["finance"])
    assert outcome.status is Status.FAIL
    assert "no peer set for access group finance" in outcome.summary


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


def test_vpn06_passes_with_ssh_limited_to_admin_networks(catalogue: Catalogue) -> None:
    outcome = run(catalogue, "VPN-06", {"ss -Hlntu": LISTENING, "nft list ruleset": RULESET})
    assert outcome.status is Status.PASS


def test_vpn06_ssh_open_to_anywhere_or_no_default_deny_fails(catalogue: Catalogue) -> None:
    open_ssh = RULESET.replace("tcp dport 22 ip saddr @admin_v4 accept", "tcp dport 22 accept")
    outcome = run(catalogue, "VPN-06", {"ss -Hlntu": LISTENING, "nft list ruleset": open_ssh})
    assert outcome.status is Status.FAIL
    assert "tcp/22 accepted from anywhere" in outcome.summary
    no_deny = RULESET.replace("policy drop", "policy accept")
    outcome = run(catalogue, "VPN-06", {"ss -Hlntu": LISTENING, "nft list ruleset": no_deny})
    assert outcome.status is Status.FAIL


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
