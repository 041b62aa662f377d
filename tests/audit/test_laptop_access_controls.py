"""LAP-07 (firewall), LAP-08 (not an administrator) and LAP-09 (VPN always on) on canned
laptop answers: each passes on what roles laptop and vpn_client configure, fails on the
weakness it names, and meets hostile answers without a crash."""

from __future__ import annotations

import re

import pytest

from tests.audit.conftest import Answer, fake_context
from tests.audit.laptop_fixtures import (
    GROUPS,
    NFT_LAPTOP,
    NOT_ALLOWED,
    NOW,
    PASSWD,
    WG_KEY,
    judge,
)
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, Status

# --- LAP-07 --------------------------------------------------------------------------------


def test_lap07_the_roles_input_chain_dropping_by_default_passes(catalogue: Catalogue) -> None:
    answers = {"nft -j list ruleset": NFT_LAPTOP, "is-enabled nftables": "enabled\n"}
    outcome = judge(catalogue, "LAP-07", answers)
    assert outcome.summary == "inbound traffic is dropped by default, also after a reboot"


def test_lap07_rules_not_restored_at_boot_fail_on_a_laptop(catalogue: Catalogue) -> None:
    answers = {"nft -j list ruleset": NFT_LAPTOP, "is-enabled nftables": Answer(1, "disabled\n")}
    outcome = judge(catalogue, "LAP-07", answers)
    assert outcome.summary == "nftables.service is disabled: no rules after a reboot"


def test_lap07_an_accepting_input_chain_fails_for_both_families(catalogue: Catalogue) -> None:
    accepting = NFT_LAPTOP.replace('"hook": "input", "prio": 0, "policy": "drop"', '"hook": "input", "prio": 0, "policy": "accept"')  # fmt: skip
    answers = {"nft -j list ruleset": accepting, "is-enabled nftables": "enabled\n"}
    outcome = judge(catalogue, "LAP-07", answers)
    assert outcome.summary == "no input chain with policy drop for ip, ip6"


def test_lap07_without_nftables_there_is_no_firewall(catalogue: Catalogue) -> None:
    answers = {
        "nft -j list ruleset": Answer(127, "", "/bin/sh: 1: nft: not found"),
        "is-enabled nftables": Answer(1, "", "Failed to get unit file state"),
    }
    outcome = judge(catalogue, "LAP-07", answers)
    assert outcome.summary == (
        "nftables is not installed: no host firewall; "
        "nftables.service is missing: no rules after a reboot"
    )


@pytest.mark.parametrize(
    "ruleset",
    ['{"nftables": [{"chain": []}]}', "1" * 5000, "[" * 100_000, '{"nftables": {}}'],
)
def test_lap07_json_that_is_not_nfts_is_an_error(catalogue: Catalogue, ruleset: str) -> None:
    with pytest.raises(ControlError, match="nft -j"):
        judge(catalogue, "LAP-07", {"nft -j list ruleset": ruleset})


# --- LAP-08 --------------------------------------------------------------------------------

ACCOUNTS = {
    "id -un": "admin\n",
    "getent group": GROUPS,
    "getent passwd": PASSWD,
    "-l -U ag0001": NOT_ALLOWED,
}


def test_lap08_a_teleworker_outside_admin_groups_without_sudo_passes(
    catalogue: Catalogue,
) -> None:
    ctx = fake_context(ACCOUNTS)
    outcome = judge(catalogue, "LAP-08", {}, ctx=ctx)
    assert outcome.summary == "ag0001: not administrators, no sudo"
    assert "sudo -n /bin/sh -c 'sudo -n -l -U ag0001'" in ctx.host.commands  # type: ignore[union-attr]
    assert not [c for c in ctx.host.commands if "-U admin" in c]  # type: ignore[union-attr]


def test_lap08_a_teleworker_in_sudo_with_a_sudo_rule_fails(catalogue: Catalogue) -> None:
    rules = (
        "Matching Defaults entries for ag0001 on laptop01:\n    env_reset\n\n"
        "User ag0001 may run the following commands on laptop01:\n    (ALL : ALL) ALL\n"
    )
    answers = {**ACCOUNTS, "getent group": GROUPS.replace("sudo:x:27:admin", "sudo:x:27:admin,ag0001"), "-l -U ag0001": rules}  # fmt: skip
    outcome = judge(catalogue, "LAP-08", answers)
    assert outcome.summary == "ag0001 is in sudo; ag0001 may use sudo: (ALL : ALL) ALL"


def test_lap08_a_primary_group_counts_as_membership(catalogue: Catalogue) -> None:
    answers = {**ACCOUNTS, "getent group": GROUPS + "wheel:x:1001:\n"}
    answers["getent group"] = answers["getent group"].replace("ag0001:x:1001:\n", "")
    outcome = judge(catalogue, "LAP-08", answers)
    assert outcome.summary == "ag0001 is in wheel"


def test_lap08_listed_administrators_and_system_accounts_are_not_judged(
    catalogue: Catalogue,
) -> None:
    answers = {**ACCOUNTS, "getent group": "sudo:x:27:admin,ag0001\n"}
    outcome = judge(catalogue, "LAP-08", answers, admin_accounts=["ag0001"])
    assert outcome.status is Status.WARN
    assert outcome.summary == "no account besides admin, ag0001: no teleworker's"


def test_lap08_a_hostile_account_name_is_reported_and_never_run(catalogue: Catalogue) -> None:
    passwd = PASSWD + "x;reboot:x:1002:1002::/home/x:/bin/bash\n$(reboot):x:1003:1003::/:/bin/sh\n"
    ctx = fake_context({**ACCOUNTS, "getent passwd": passwd})
    outcome = judge(catalogue, "LAP-08", {}, ctx=ctx)
    assert outcome.summary == (
        "account 'x;reboot': a name that cannot be checked; "
        "account '$(reboot)': a name that cannot be checked"
    )
    assert not [c for c in ctx.host.commands if "reboot" in c]  # type: ignore[union-attr]


def test_lap08_an_answer_of_sudo_that_says_neither_is_an_error(catalogue: Catalogue) -> None:
    answers = {**ACCOUNTS, "-l -U ag0001": Answer(1, "", "sudo: unknown user ag0001")}
    with pytest.raises(ControlError, match=r"sudo -l -U ag0001 said: sudo: unknown user"):
        judge(catalogue, "LAP-08", answers)


def test_lap08_garbage_in_passwd_and_group_fails_nothing_and_crashes_nothing(
    catalogue: Catalogue,
) -> None:
    garbage = "::::::\n:x:1000:1000::/:/bin/sh\nbob:x:\u00b9\u2070\u2070\u2070:1::/:/bin/sh\n" * 50
    answers = {**ACCOUNTS, "getent passwd": garbage, "getent group": "\x00:::\n" * 100}
    outcome = judge(catalogue, "LAP-08", answers)
    assert outcome.status is Status.WARN


# --- LAP-09 --------------------------------------------------------------------------------

VPN = {
    "test -f /etc/wireguard/wg0.conf": "",
    "is-enabled wg-quick@wg0": "enabled\n",
    "is-active wg-quick@wg0": "active\n",
    r"date \+%s": f"{NOW}\n",
    "wg show wg0 latest-handshakes": f"{WG_KEY}\t{NOW - 100}\n",
    "is-enabled telework-wg-reresolve.timer": "enabled\n",
}


def test_lap09_a_tunnel_up_at_boot_with_a_recent_handshake_passes(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "LAP-09", VPN)
    assert outcome.summary == "wg-quick@wg0 up at boot and now, last handshake 100 s ago"


def test_lap09_a_tunnel_that_never_connected_fails(catalogue: Catalogue) -> None:
    answers = {**VPN, "wg show wg0 latest-handshakes": f"{WG_KEY}\t0\n"}
    outcome = judge(catalogue, "LAP-09", answers)
    assert outcome.summary == "tunnel configured but never connected (no handshake)"


def test_lap09_an_old_handshake_fails(catalogue: Catalogue) -> None:
    answers = {**VPN, "wg show wg0 latest-handshakes": f"{WG_KEY}\t{NOW - 301}\n"}
    outcome = judge(catalogue, "LAP-09", answers)
    assert outcome.summary == "last handshake 301 s ago (limit 300 s)"


def test_lap09_no_configuration_fails_before_anything_else(catalogue: Catalogue) -> None:
    ctx = fake_context({**VPN, "test -f /etc/wireguard/wg0.conf": Answer(1, "")})
    outcome = judge(catalogue, "LAP-09", {}, ctx=ctx)
    assert outcome.summary == "no /etc/wireguard/wg0.conf: no VPN configured"
    assert len(ctx.host.commands) == 1  # type: ignore[union-attr]


def test_lap09_a_tunnel_down_and_off_at_boot_fails_both_ways(catalogue: Catalogue) -> None:
    answers = {
        **VPN,
        "is-enabled wg-quick@wg0": Answer(1, "disabled\n"),
        "is-active wg-quick@wg0": Answer(3, "inactive\n"),
    }
    outcome = judge(catalogue, "LAP-09", answers)
    assert outcome.summary == (
        "wg-quick@wg0 is disabled: the tunnel is not up at boot; "
        "wg-quick@wg0 is inactive: the tunnel is down"
    )


def test_lap09_the_reresolve_timer_off_is_a_warning_and_absent_is_fine(
    catalogue: Catalogue,
) -> None:
    off = {**VPN, "is-enabled telework-wg-reresolve.timer": Answer(1, "disabled\n")}
    assert judge(catalogue, "LAP-09", off).summary == (
        "telework-wg-reresolve.timer is disabled: a moved gateway is not followed"
    )
    absent = {**VPN, "is-enabled telework-wg-reresolve.timer": Answer(4, "not-found\n")}
    assert judge(catalogue, "LAP-09", absent).status is Status.PASS


@pytest.mark.parametrize(
    "handshakes",
    [f"{WG_KEY}\t\u00b9\u00b2\u00b3\n", "garbage\n", f"{WG_KEY} 1 2\n", f"{WG_KEY}\t{'9' * 40}\n"],
)
def test_lap09_handshakes_that_are_not_numbers_are_no_peer(
    catalogue: Catalogue, handshakes: str
) -> None:
    outcome = judge(catalogue, "LAP-09", {**VPN, "wg show wg0 latest-handshakes": handshakes})
    assert outcome.summary == "wg0 has no peer"


def test_lap09_a_clock_that_is_not_a_number_is_an_error(catalogue: Catalogue) -> None:
    with pytest.raises(ControlError, match=re.escape("date +%s printed no number")):
        judge(catalogue, "LAP-09", {**VPN, r"date \+%s": "tomorrow\n"})


@pytest.mark.parametrize("interface", ["wg0; reboot", "../../etc/passwd", "x" * 16, ""])
def test_lap09_an_interface_parameter_that_is_not_a_name_is_an_error(
    catalogue: Catalogue, interface: str
) -> None:
    with pytest.raises(ControlError, match="is not a WireGuard interface name"):
        judge(catalogue, "LAP-09", VPN, interface=interface)
