"""Control logic on canned host answers (no SSH): each control fails on the weakness it
names, passes on a hardened host and is an error, never a pass, when it cannot look."""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.audit.conftest import Answer, fake_context, params, with_offer
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, Status
from toolkit.audit.registry import implementations
from toolkit.controls.logging import world_readable_files_command

IMPL = implementations()

SSHD_HARDENED = """\
usepam yes
maxauthtries 3
permitrootlogin no
passwordauthentication no
kbdinteractiveauthentication no
x11forwarding no
permitemptypasswords no
allowtcpforwarding no
allowagentforwarding no
allowusers admin
"""


def check(
    catalogue: Catalogue, control: str, answers: Mapping[str, object], **kw: object
) -> object:
    overrides = kw.pop("params", {})
    ctx = kw.pop("ctx", None) or fake_context(answers, **kw)  # type: ignore[arg-type]
    return IMPL[control].check(ctx, params(catalogue, control, **overrides))  # type: ignore[arg-type]


def test_lnx03_passes_a_hardened_sshd(catalogue: Catalogue) -> None:
    ctx = with_offer(fake_context({"sshd -T": SSHD_HARDENED}))
    outcome = IMPL["LNX-03"].check(ctx, params(catalogue, "LNX-03"))
    assert outcome.status is Status.PASS
    assert ctx.evidence[0].probe == "sudo -n /bin/sh -c 'sshd -T'"


def test_lnx03_password_login_fails_the_control(catalogue: Catalogue) -> None:
    sshd = SSHD_HARDENED.replace("passwordauthentication no", "passwordauthentication yes")
    ctx = with_offer(fake_context({"sshd -T": sshd}), auth_methods=("publickey", "password"))
    outcome = IMPL["LNX-03"].check(ctx, params(catalogue, "LNX-03"))
    assert outcome.status is Status.FAIL
    assert "PasswordAuthentication yes" in outcome.summary
    assert "the server offers password authentication" in outcome.summary


def test_lnx03_root_login_forwarding_and_no_allow_list_fail_the_control(
    catalogue: Catalogue,
) -> None:
    sshd = (
        SSHD_HARDENED.replace("permitrootlogin no", "permitrootlogin without-password")
        .replace("allowtcpforwarding no", "allowtcpforwarding yes")
        .replace("maxauthtries 3", "maxauthtries 6")
        .replace("allowusers admin\n", "")
    )
    ctx = with_offer(fake_context({"sshd -T": sshd}))
    outcome = IMPL["LNX-03"].check(ctx, params(catalogue, "LNX-03"))
    assert outcome.summary == (
        "PermitRootLogin without-password; MaxAuthTries 6 (max 4); AllowTcpForwarding yes; "
        "neither AllowUsers nor AllowGroups is set"
    )


def test_lnx03_without_sudo_is_an_error_not_a_pass(catalogue: Catalogue) -> None:
    ctx = fake_context({"sshd -T": Answer(1, "", "sudo: a password is required")})
    with pytest.raises(
        ControlError, match=r"needs root and sudo was refused: sudo: a password is required"
    ):
        IMPL["LNX-03"].check(ctx, params(catalogue, "LNX-03"))


def test_lnx04_sha1_macs_and_dsa_host_keys_fail_the_control(catalogue: Catalogue) -> None:
    ctx = with_offer(
        fake_context({}),
        macs=("hmac-sha2-256-etm@openssh.com", "hmac-sha1"),
        host_key=("ssh-ed25519", "ssh-dss"),
        kex=("curve25519-sha256", "ext-info-s", "kex-strict-s-v00@openssh.com"),
    )
    outcome = IMPL["LNX-04"].check(ctx, params(catalogue, "LNX-04"))
    assert outcome.status is Status.FAIL
    assert outcome.summary == "host_key: ssh-dss; macs: hmac-sha1"


def test_lnx04_passes_when_only_strong_algorithms_are_offered(catalogue: Catalogue) -> None:
    ctx = with_offer(fake_context({}))
    assert IMPL["LNX-04"].check(ctx, params(catalogue, "LNX-04")).status is Status.PASS


PAM_PASSWORD = "password requisite pam_pwquality.so retry=3\npassword [success=1] pam_unix.so\n"
PAM_AUTH = "auth required pam_faillock.so preauth\nauth [success=1] pam_unix.so\n"


def test_lnx05_passes_with_pwquality_minlen_14_three_classes_and_faillock_deny_5(
    catalogue: Catalogue,
) -> None:
    outcome = check(
        catalogue,
        "LNX-05",
        {
            "common-password": PAM_PASSWORD,
            "common-auth": PAM_AUTH,
            "pwquality.conf": "minlen = 14\nminclass = 3\n",
            "faillock.conf": "deny = 5\n",
        },
    )
    assert outcome.status is Status.PASS  # type: ignore[attr-defined]


def test_lnx05_default_pam_without_pwquality_or_faillock_fails(catalogue: Catalogue) -> None:
    outcome = check(
        catalogue,
        "LNX-05",
        {"common-password": "password [success=1] pam_unix.so obscure\n", "common-auth": ""},
    )
    assert outcome.summary == (  # type: ignore[attr-defined]
        "pam_pwquality is not in common-password; pam_faillock is not in common-auth"
    )


def test_lnx05_short_minimum_length_on_the_pam_line_fails(catalogue: Catalogue) -> None:
    outcome = check(
        catalogue,
        "LNX-05",
        {
            "common-password": PAM_PASSWORD.replace("retry=3", "retry=3 minlen=8"),
            "common-auth": PAM_AUTH,
            "pwquality.conf": "minlen = 14\nminclass = 3\n",
            "faillock.conf": "deny = 0\n",
        },
    )
    assert outcome.summary == "minlen 8 (at least 12); faillock deny=0 (1 to 5)"  # type: ignore[attr-defined]


SS = (
    'tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=1,fd=3))\n'
    'tcp LISTEN 0 128 127.0.0.1:25 0.0.0.0:* users:(("exim4",pid=2,fd=3))\n'
)


def test_lnx06_only_ssh_and_loopback_listeners_pass(catalogue: Catalogue) -> None:
    assert check(catalogue, "LNX-06", {"ss -Hlntup": SS}).status is Status.PASS  # type: ignore[attr-defined]


def test_lnx06_telnet_and_unlisted_ports_fail_the_control(catalogue: Catalogue) -> None:
    ss = SS + (
        'tcp LISTEN 0 128 [::]:23 [::]:* users:(("inetd",pid=3,fd=3))\n'
        'udp UNCONN 0 0 0.0.0.0:5353 0.0.0.0:* users:(("avahi",pid=4,fd=3))\n'
    )
    outcome = check(catalogue, "LNX-06", {"ss -Hlntup": ss})
    assert outcome.summary == (  # type: ignore[attr-defined]
        "tcp/23 (inetd) is forbidden; udp/5353 (avahi on 0.0.0.0) is not in the allow-list"
    )


def test_lnx06_allows_the_ports_the_profile_probes(catalogue: Catalogue) -> None:
    ss = SS + 'tcp LISTEN 0 128 *:443 *:* users:(("nginx",pid=3,fd=3))\n'
    outcome = check(catalogue, "LNX-06", {"ss -Hlntup": ss}, tls_ports=(443,))
    assert outcome.status is Status.PASS  # type: ignore[attr-defined]


def test_lnx06_a_port_range_allows_one_listener_per_log_sender(catalogue: Catalogue) -> None:
    ss = SS + (
        'tcp LISTEN 0 128 0.0.0.0:6514 0.0.0.0:* users:(("rsyslogd",pid=3,fd=3))\n'
        'tcp LISTEN 0 128 0.0.0.0:6519 0.0.0.0:* users:(("rsyslogd",pid=3,fd=4))\n'
    )
    allowed = {"allowed": ["tcp/22", "tcp/6514-6613"]}
    outcome = check(catalogue, "LNX-06", {"ss -Hlntup": ss}, params=allowed)
    assert outcome.status is Status.PASS  # type: ignore[attr-defined]
    narrow = {"allowed": ["tcp/22", "tcp/6514-6518"]}
    outcome = check(catalogue, "LNX-06", {"ss -Hlntup": ss}, params=narrow)
    assert outcome.summary == (  # type: ignore[attr-defined]
        "tcp/6519 (rsyslogd on 0.0.0.0) is not in the allow-list"
    )


@pytest.mark.parametrize("spec", ["tcp", "tcp/ssh", "sctp/22", "tcp/1-x", "tcp/²"])
def test_lnx06_an_allow_list_entry_that_is_not_a_port_is_an_error(
    catalogue: Catalogue, spec: str
) -> None:
    with pytest.raises(ControlError, match="is not PROTO/PORT"):
        check(catalogue, "LNX-06", {"ss -Hlntup": SS}, params={"allowed": [spec]})


NFT_DROP = (
    '{"nftables": [{"metainfo": {}}, {"table": {"family": "inet", "name": "filter"}},'
    ' {"chain": {"family": "inet", "table": "filter", "name": "input", "type": "filter",'
    ' "hook": "input", "prio": 0, "policy": "drop"}}]}'
)


def test_lnx07_an_empty_ruleset_fails_the_control(catalogue: Catalogue) -> None:
    outcome = check(
        catalogue, "LNX-07", {"nft -j list ruleset": '{"nftables": [{"metainfo": {}}]}'}
    )
    assert outcome.summary == "no input chain with policy drop for ip, ip6"  # type: ignore[attr-defined]


def test_lnx07_an_inet_input_chain_dropping_by_default_passes(catalogue: Catalogue) -> None:
    outcome = check(
        catalogue,
        "LNX-07",
        {"nft -j list ruleset": NFT_DROP, "is-enabled nftables": "enabled\n"},
    )
    assert outcome.status is Status.PASS  # type: ignore[attr-defined]


def test_lnx07_rules_not_restored_at_boot_are_a_warning(catalogue: Catalogue) -> None:
    outcome = check(
        catalogue,
        "LNX-07",
        {"nft -j list ruleset": NFT_DROP, "is-enabled nftables": Answer(1, "disabled\n")},
    )
    assert outcome.status is Status.WARN  # type: ignore[attr-defined]


def test_lnx08_no_time_service_fails_even_when_the_host_clock_is_synchronised(
    catalogue: Catalogue,
) -> None:
    outcome = check(
        catalogue,
        "LNX-08",
        {"systemctl is-active": Answer(3, "inactive\ninactive\ninactive\ninactive\n"),
         "NTPSynchronized": "yes\n"},
    )  # fmt: skip
    assert outcome.status is Status.FAIL  # type: ignore[attr-defined]


def test_lnx09_auditd_without_identity_rules_fails(catalogue: Catalogue) -> None:
    outcome = check(
        catalogue,
        "LNX-09",
        {
            "is-active auditd": "active\nenabled\n",
            "auditctl -l": "-w /etc/passwd -p wa -k identity\n-w /etc/sudoers -p wa -k scope\n",
        },
    )
    assert outcome.summary == (  # type: ignore[attr-defined]
        "no audit rule for /etc/group, /etc/shadow, /etc/gshadow, /etc/sudoers.d, /var/log/lastlog"
    )


def test_lnx10_aide_installed_with_database_and_timer_passes(catalogue: Catalogue) -> None:
    outcome = check(
        catalogue,
        "LNX-10",
        {
            "dpkg-query.*aide": "install ok installed",
            "test -s": "",
            "dailyaidecheck.timer": "enabled\n",
        },
    )
    assert outcome.status is Status.PASS  # type: ignore[attr-defined]


def test_lnx11_extra_uid0_empty_password_and_blanket_nopasswd_fail(catalogue: Catalogue) -> None:
    outcome = check(
        catalogue,
        "LNX-11",
        {
            "getent passwd": "root:x:0:0::/root:/bin/bash\ntoor:x:0:0::/root:/bin/sh\n",
            "getent shadow": "root:$y$abc:1::::::\nguest::1::::::\n",
            "sudoers": "%sudo ALL=(ALL:ALL) ALL\nbackup ALL=(ALL) NOPASSWD: ALL\n",
        },
    )
    assert outcome.summary == (  # type: ignore[attr-defined]
        "UID 0 besides root: toor; empty password: guest; NOPASSWD: ALL for backup"
    )


def test_lnx11_allows_nopasswd_for_the_listed_provisioning_account(catalogue: Catalogue) -> None:
    outcome = check(
        catalogue,
        "LNX-11",
        {
            "getent passwd": "root:x:0:0::/root:/bin/bash\n",
            "getent shadow": "root:!:1::::::\n",
            "sudoers": "admin ALL=(ALL:ALL) NOPASSWD: ALL\n",
        },
        params={"nopasswd_allowed": ["admin"]},
    )
    assert outcome.status is Status.PASS  # type: ignore[attr-defined]


def test_lnx02_a_release_past_its_end_of_life_fails(catalogue: Catalogue) -> None:
    outcome = check(
        catalogue,
        "LNX-02",
        {"os-release": 'ID=debian\nVERSION_ID="10"\nPRETTY_NAME="Debian GNU/Linux 10 (buster)"\n'},
    )
    assert outcome.summary == "Debian GNU/Linux 10 (buster) reached its end of life on 2024-06-30"  # type: ignore[attr-defined]


def test_lnx02_an_unknown_release_is_an_error(catalogue: Catalogue) -> None:
    with pytest.raises(ControlError, match="not in the end-of-life table"):
        check(catalogue, "LNX-02", {"os-release": "ID=plan9\nVERSION_ID=4\n"})


SIMULATION = (
    "Inst libssl3 [3.0.11-1~deb12u2] (3.0.17-1~deb12u3 Debian-Security:12/stable-security [amd64])\n"
    "Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.12/stable [all])\n"
)


def test_lnx01_pending_security_updates_and_no_unattended_upgrades_fail(
    catalogue: Catalogue,
) -> None:
    outcome = check(
        catalogue,
        "LNX-01",
        {
            "dpkg-query": "install ok installed",
            "apt-config shell": "UPD='1'\nUU='1'\n",
            "is-enabled apt-daily": "enabled\nenabled\n",
            "lists": "3600 /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease\n",
            "apt-get -s": SIMULATION,
            "unattended-upgrades-stamp": Answer(1, ""),
        },
    )
    assert outcome.summary == (  # type: ignore[attr-defined]
        "1 security updates pending (libssl3 3.0.11-1~deb12u2 -> 3.0.17-1~deb12u3); "
        "unattended-upgrades last ran never"
    )


def test_log04_tls_forwarding_and_private_files_pass(catalogue: Catalogue) -> None:
    outcome = check(
        catalogue,
        "LOG-04",
        {
            "is-active rsyslog": "active\n",
            "rsyslog.conf": '/etc/rsyslog.d/90-fwd.conf: action(type="omfwd" target="logs" '
            'port="6514" protocol="tcp" StreamDriver="gtls" StreamDriverMode="1")\n',
            "find /var/log": "/var/log/wtmp\n/var/log/lastlog\n",
        },
    )
    assert outcome.status is Status.PASS  # type: ignore[attr-defined]


def test_log04_no_forwarding_and_world_readable_logs_fail(catalogue: Catalogue) -> None:
    outcome = check(
        catalogue,
        "LOG-04",
        {
            "is-active rsyslog": "active\n",
            "rsyslog.conf": "/etc/rsyslog.conf: # *.* @@logs:514\n",
            "find /var/log": "/var/log/dpkg.log\n/var/log/wtmp\n",
        },
    )
    assert outcome.summary == (  # type: ignore[attr-defined]
        "no forwarding to a log collector (omfwd or @@host); world-readable logs: /var/log/dpkg.log"
    )


def test_log04_counts_a_readable_file_only_where_everyone_may_enter_its_directory(
    tmp_path: Path,
) -> None:
    tmp_path.chmod(0o755)  # the root itself, like /var/log
    for name, mode in (("open", 0o755), ("closed", 0o750)):
        (tmp_path / name).mkdir(mode=mode)
        (tmp_path / name).chmod(mode)
        (tmp_path / name / "app.log").write_text("x")
        (tmp_path / name / "app.log").chmod(0o644)
    (tmp_path / "open" / "private.log").write_text("x")
    (tmp_path / "open" / "private.log").chmod(0o640)
    found = subprocess.run(
        shlex.split(world_readable_files_command(str(tmp_path))),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.split()
    assert found == [str(tmp_path / "open" / "app.log")]


def test_log04_forwarding_without_tls_is_a_warning_unless_tls_is_required(
    catalogue: Catalogue,
) -> None:
    answers = {
        "is-active rsyslog": "active\n",
        "rsyslog.conf": "/etc/rsyslog.d/fwd.conf: *.* @@logs:514\n",
        "find /var/log": "",
    }
    assert check(catalogue, "LOG-04", answers).status is Status.WARN  # type: ignore[attr-defined]
    outcome = check(catalogue, "LOG-04", answers, params={"require_tls": True})
    assert outcome.status is Status.FAIL  # type: ignore[attr-defined]


def test_web_controls_are_skipped_on_a_host_whose_profiles_list_no_tls_port(
    catalogue: Catalogue,
) -> None:
    for control in ("WEB-01", "WEB-02", "WEB-03", "WEB-04"):
        assert check(catalogue, control, {}).status is Status.SKIPPED  # type: ignore[attr-defined]


def test_web02_judges_ecdhe_aead_suites(catalogue: Catalogue) -> None:
    from toolkit.controls.web import _weak_suite

    p = params(catalogue, "WEB-02")
    allowed = [__import__("re").compile(x) for x in p["allowed"]]
    forbidden = [__import__("re").compile(x) for x in p["forbidden"]]
    good = ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"]  # fmt: skip
    bad = ["TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
           "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"]  # fmt: skip
    assert [s for s in good if _weak_suite(s, allowed, forbidden)] == []
    assert [s for s in bad if _weak_suite(s, allowed, forbidden)] == bad


def test_web03_matches_names_like_rfc6125() -> None:
    from toolkit.controls.web import name_matches

    assert name_matches("collab.gov.ma", ["collab.gov.ma"])
    assert name_matches("collab.gov.ma", ["*.gov.ma"])
    assert not name_matches("a.collab.gov.ma", ["*.gov.ma"])
    assert not name_matches("collab.gov.ma", ["visio.gov.ma"])


def test_the_same_command_runs_once_per_host_but_is_evidence_for_each_control(
    catalogue: Catalogue,
) -> None:
    ctx = with_offer(fake_context({"sshd -T": SSHD_HARDENED}))
    IMPL["LNX-03"].check(ctx, params(catalogue, "LNX-03"))
    ctx.evidence = []
    IMPL["LNX-03"].check(ctx, params(catalogue, "LNX-03"))
    assert ctx.host.commands == ["sudo -n /bin/sh -c 'sshd -T'"]  # type: ignore[union-attr]
    assert ctx.evidence


def test_lnx07_another_tools_accepting_input_chain_does_not_undo_the_default_drop(
    catalogue: Catalogue,
) -> None:
    # nftables: a packet must be accepted by every input base chain (fail2ban's included)
    with_f2b = NFT_DROP.replace(
        "]}",
        ', {"chain": {"family": "inet", "table": "f2b-table", "name": "f2b-chain",'
        ' "type": "filter", "hook": "input", "prio": -1, "policy": "accept"}}]}',
    )
    outcome = check(
        catalogue,
        "LNX-07",
        {"nft -j list ruleset": with_f2b, "is-enabled nftables": "enabled\n"},
    )
    assert outcome.status is Status.PASS  # type: ignore[attr-defined]


def test_lnx07_a_drop_policy_for_ipv4_only_fails_for_ipv6(catalogue: Catalogue) -> None:
    ip_only = NFT_DROP.replace('"family": "inet", "table": "filter", "name": "input"',
                               '"family": "ip", "table": "filter", "name": "input"')  # fmt: skip
    outcome = check(catalogue, "LNX-07", {"nft -j list ruleset": ip_only})
    assert outcome.summary == "no input chain with policy drop for ip6"  # type: ignore[attr-defined]


# --- hostile answers: an error, never a crash (an "internal error") nor a pass -------------


def test_lnx05_a_minimum_length_that_is_not_a_number_is_an_error_naming_it(
    catalogue: Catalogue,
) -> None:
    answers = {
        "common-password": PAM_PASSWORD.replace("retry=3", "minlen"),
        "common-auth": PAM_AUTH,
        "pwquality.conf": "",
    }
    with pytest.raises(ControlError, match=r"^minlen=true is not a number$"):
        check(catalogue, "LNX-05", answers)


def test_lnx05_a_deny_count_in_arabic_digits_is_an_error_not_a_number(
    catalogue: Catalogue,
) -> None:
    answers = {
        "common-password": PAM_PASSWORD.replace("retry=3", "minlen=14 minclass=3"),
        "common-auth": PAM_AUTH.replace("preauth", "deny=\u0663"),
        "pwquality.conf": "",
        "faillock.conf": "",
    }
    with pytest.raises(ControlError, match=r"^deny=\u0663 is not a number$"):
        check(catalogue, "LNX-05", answers)


def test_lnx03_maxauthtries_in_superscript_digits_fails_the_control(catalogue: Catalogue) -> None:
    sshd = SSHD_HARDENED.replace("maxauthtries 3", "maxauthtries \u00b2")
    outcome = check(catalogue, "LNX-03", {}, ctx=with_offer(fake_context({"sshd -T": sshd})))
    assert outcome.summary == "MaxAuthTries \u00b2 (max 4)"  # type: ignore[attr-defined]


def test_lnx03_an_empty_sshd_answer_is_an_error(catalogue: Catalogue) -> None:
    with pytest.raises(ControlError, match=r"sshd -T printed nothing"):
        check(catalogue, "LNX-03", {}, ctx=with_offer(fake_context({"sshd -T": "\n\n"})))


def test_lnx06_a_port_in_superscript_digits_is_not_read_as_a_port(catalogue: Catalogue) -> None:
    ss = SS + 'tcp LISTEN 0 128 0.0.0.0:\u00b2\u00b3 0.0.0.0:* users:(("odd",pid=9,fd=3))\n'
    assert check(catalogue, "LNX-06", {"ss -Hlntup": ss}).status is Status.PASS  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ruleset", "message"),
    [
        ("[]", "nft -j printed no nftables list"),
        ('{"nftables": null}', "nft -j printed no nftables list"),
        ('{"nftables": [{"chain": null}]}', "nft -j: a chain that is not an object: None"),
        ('{"nftables": [{"chain": {"hook": "input"}}]}', "nft -j: an input chain without its"),
        ("1" * 5000, "nft -j printed no JSON"),
        ("[" * 100_000, "nft -j printed no JSON"),
    ],
)
def test_lnx07_json_that_is_not_nfts_is_an_error(
    catalogue: Catalogue, ruleset: str, message: str
) -> None:
    with pytest.raises(ControlError, match=re.escape(message)):
        check(catalogue, "LNX-07", {"nft -j list ruleset": ruleset})


def test_lnx01_package_list_ages_that_are_not_numbers_are_an_error(catalogue: Catalogue) -> None:
    answers = {"lists/\\*Release": "Inst pwned\n", "dpkg-query": "install ok installed"}
    with pytest.raises(ControlError, match=r"unexpected line where file ages were printed: Inst"):
        check(catalogue, "LNX-01", answers)


# --- the side each control lacked: LNX-01/02/08/09 passing, LNX-10 failing ---------------


def test_lnx01_passes_with_unattended_upgrades_on_fresh_lists_and_nothing_pending(
    catalogue: Catalogue,
) -> None:
    outcome = check(
        catalogue,
        "LNX-01",
        {
            "dpkg-query": "install ok installed",
            "apt-config shell": "UPD='1'\nUU='1'\n",
            "is-enabled apt-daily": "enabled\nenabled\n",
            "lists": "3600 /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease\n",
            "apt-get -s": "Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.12/stable [all])\n",
        },
    )
    assert outcome.status is Status.PASS  # type: ignore[attr-defined]
    assert outcome.summary == "no security update pending; unattended-upgrades on"  # type: ignore[attr-defined]


def test_lnx02_a_supported_release_passes(catalogue: Catalogue) -> None:
    outcome = check(
        catalogue,
        "LNX-02",
        {"os-release": 'ID=debian\nVERSION_ID="13"\nPRETTY_NAME="Debian GNU/Linux 13 (trixie)"\n'},
        params={"warn_days": 0},
    )
    assert outcome.summary == "Debian GNU/Linux 13 (trixie) supported until 2030-06-30"  # type: ignore[attr-defined]


def test_lnx08_an_active_time_service_and_a_synchronised_clock_pass(catalogue: Catalogue) -> None:
    outcome = check(
        catalogue,
        "LNX-08",
        {"systemctl is-active": Answer(3, "active\ninactive\ninactive\ninactive\n"),
         "NTPSynchronized": "yes\n"},
    )  # fmt: skip
    assert outcome.status is Status.PASS  # type: ignore[attr-defined]
    assert "clock synchronised" in outcome.summary  # type: ignore[attr-defined]


def test_lnx09_auditd_watching_every_required_path_passes(catalogue: Catalogue) -> None:
    required = params(catalogue, "LNX-09")["required_paths"]
    rules = "".join(f"-w {path} -p wa -k telework\n" for path in required)
    outcome = check(
        catalogue, "LNX-09", {"is-active auditd": "active\nenabled\n", "auditctl -l": rules}
    )
    assert outcome.status is Status.PASS  # type: ignore[attr-defined]
    assert outcome.summary == f"auditd running with {len(required)} rules"  # type: ignore[attr-defined]


def test_lnx10_aide_missing_fails(catalogue: Catalogue) -> None:
    outcome = check(catalogue, "LNX-10", {"dpkg-query.*aide": Answer(1, "", "no packages found")})
    assert outcome.summary == "AIDE is not installed"  # type: ignore[attr-defined]


def test_lnx10_aide_without_database_or_daily_check_fails(catalogue: Catalogue) -> None:
    outcome = check(
        catalogue,
        "LNX-10",
        {
            "dpkg-query.*aide": "install ok installed",
            "test -s": Answer(1, ""),
            "dailyaidecheck.timer": Answer(1, "disabled\n"),
            "cron.daily/aide": Answer(1, ""),
        },
    )
    assert outcome.status is Status.FAIL  # type: ignore[attr-defined]
    assert outcome.summary.startswith("no AIDE database /var/lib/aide/aide.db; no daily check")  # type: ignore[attr-defined]
