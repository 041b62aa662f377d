"""The hardening controls on canned host answers (no SSH): LNX-04's post-quantum hybrid
report, LNX-12 (legal banner), LNX-13 (login.defs and login shells' umask), LNX-14 (core
dumps). Each passes on what role baseline writes, fails on the weakness it names, and is
an error, never a pass, when the host's answer cannot be read."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.audit.conftest import Answer, fake_context, params, with_offer
from tests.conftest import REPO
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, Outcome, Status
from toolkit.audit.registry import implementations

IMPL = implementations()
DEFAULTS: dict[str, Any] = yaml.safe_load(
    (REPO / "roles" / "baseline" / "defaults" / "main.yml").read_text(encoding="utf-8")
)
#: The banner role baseline writes to /etc/issue.net (templates/etc/issue.net.j2).
ROLE_BANNER = (
    f"{DEFAULTS['baseline_banner_fr'].strip()}\n\n{DEFAULTS['baseline_banner_ar'].strip()}\n"
)
DEBIAN_ISSUE = "Debian GNU/Linux 12 \\n \\l\n\n"
DEBIAN_12_KEX = (
    "diffie-hellman-group14-sha256\ndiffie-hellman-group16-sha512\ncurve25519-sha256\n"
    "curve25519-sha256@libssh.org\nsntrup761x25519-sha512\nsntrup761x25519-sha512@openssh.com\n"
)


def judge(catalogue: Catalogue, control: str, answers: dict[str, Any], **overrides: Any) -> Outcome:
    ctx = fake_context(answers)
    return IMPL[control].check(ctx, params(catalogue, control, **overrides))


# --- LNX-04: the post-quantum hybrid ---------------------------------------------------------


def lnx04(catalogue: Catalogue, kex: tuple[str, ...], answers: dict[str, Any]) -> Outcome:
    ctx = with_offer(fake_context(answers), kex=kex)
    return IMPL["LNX-04"].check(ctx, params(catalogue, "LNX-04"))


def test_lnx04_says_which_post_quantum_hybrid_the_server_offers(catalogue: Catalogue) -> None:
    outcome = lnx04(catalogue, ("sntrup761x25519-sha512@openssh.com", "curve25519-sha256"), {})
    assert outcome.status is Status.PASS
    assert outcome.summary.endswith(
        "post-quantum hybrid key exchange sntrup761x25519-sha512@openssh.com offered"
    )


def test_lnx04_warns_when_the_servers_openssh_has_a_hybrid_it_does_not_offer(
    catalogue: Catalogue,
) -> None:
    outcome = lnx04(catalogue, ("curve25519-sha256",), {"ssh -Q kex": DEBIAN_12_KEX})
    assert outcome.status is Status.WARN
    assert outcome.summary == (
        "no post-quantum hybrid key exchange offered although this OpenSSH has "
        "sntrup761x25519-sha512@openssh.com, sntrup761x25519-sha512: put it first in sshd's "
        "KexAlgorithms"
    )


def test_lnx04_passes_without_a_hybrid_when_openssh_has_none(catalogue: Catalogue) -> None:
    old = "curve25519-sha256\ndiffie-hellman-group16-sha512\n"  # OpenSSH 8.4, Debian 11
    outcome = lnx04(catalogue, ("curve25519-sha256",), {"ssh -Q kex": old})
    assert outcome.status is Status.PASS
    assert outcome.summary.endswith("no post-quantum hybrid: this OpenSSH has none")


def test_lnx04_a_weak_algorithm_still_fails_and_the_missing_hybrid_is_kept_in_details(
    catalogue: Catalogue,
) -> None:
    outcome = lnx04(catalogue, ("curve25519-sha256", "diffie-hellman-group1-sha1"), {
        "ssh -Q kex": DEBIAN_12_KEX,
    })  # fmt: skip
    assert outcome.status is Status.FAIL
    assert outcome.summary == "kex: diffie-hellman-group1-sha1"
    assert "although this OpenSSH has" in outcome.details[0]


def test_lnx04_an_unreadable_ssh_q_answer_is_said_not_guessed(catalogue: Catalogue) -> None:
    outcome = lnx04(
        catalogue, ("curve25519-sha256",), {"ssh -Q kex": Answer(255, "", "unknown option -- Q")}
    )
    assert outcome.status is Status.PASS
    assert outcome.summary.endswith(
        "no post-quantum hybrid offered (whether OpenSSH has one is unknown: unknown option -- Q)"
    )
    hostile = "\x1b]0;pwned\x07\n" + "sntrup761x25519-sha512 ; rm -rf /\n" + "x" * 10**6
    outcome = lnx04(catalogue, ("curve25519-sha256",), {"ssh -Q kex": hostile})
    assert outcome.status is Status.PASS  # no line of it is an algorithm name


# --- LNX-12: the legal banner ------------------------------------------------------------------

SSHD_BANNER = "banner /etc/issue.net\npermitrootlogin no\n"


def banner_host(
    issue: str = ROLE_BANNER,
    issue_net: str = ROLE_BANNER,
    sshd: str | Answer = SSHD_BANNER,
    **more: Any,
) -> dict[str, Any]:
    return {
        "sshd -T": sshd,
        r"stat .* -- /etc/issue$": "644 0 0\n",
        r"stat .* -- /etc/issue\.net$": "644 0 0\n",
        r"head -c \d+ -- /etc/issue$": issue,
        r"head -c \d+ -- /etc/issue\.net$": issue_net,
        **more,
    }


def test_lnx12_passes_on_the_banner_role_baseline_writes(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "LNX-12", banner_host())
    assert outcome.status is Status.PASS
    assert outcome.summary == (
        "French and Arabic legal banner in /etc/issue, /etc/issue.net; sshd sends /etc/issue.net"
    )


def test_lnx12_debians_own_banner_and_no_sshd_banner_fail(catalogue: Catalogue) -> None:
    outcome = judge(
        catalogue,
        "LNX-12",
        banner_host(issue=DEBIAN_ISSUE, issue_net="Debian GNU/Linux 12\n", sshd="banner none\n"),
    )
    assert outcome.summary == (
        "sshd sends no banner before authentication (Banner none); "
        "/etc/issue has no French nor Arabic text (< 40 letters); "
        "/etc/issue names the system (debian, gnu/linux); "
        "/etc/issue.net has no French nor Arabic text (< 40 letters); "
        "/etc/issue.net names the system (debian, gnu/linux)"
    )


def test_lnx12_a_french_only_banner_fails_for_its_missing_arabic(catalogue: Catalogue) -> None:
    french = DEFAULTS["baseline_banner_fr"]
    outcome = judge(catalogue, "LNX-12", banner_host(issue=french, issue_net=french))
    assert outcome.summary == (
        "/etc/issue has no Arabic text (< 40 letters); /etc/issue.net has no Arabic text (< 40 letters)"
    )


def test_lnx12_agettys_sequences_that_print_the_system_fail(catalogue: Catalogue) -> None:
    issue = ROLE_BANNER + "\\s \\r on \\m\n"
    outcome = judge(catalogue, "LNX-12", banner_host(issue=issue))
    assert outcome.summary == "/etc/issue names the system (\\s, \\r, \\m)"


def test_lnx12_a_banner_others_may_write_fails(catalogue: Catalogue) -> None:
    answers = banner_host()
    answers[r"stat .* -- /etc/issue\.net$"] = "666 1000 0\n"
    outcome = judge(catalogue, "LNX-12", answers)
    assert outcome.summary == "/etc/issue.net is 666 1000:0, not 644 root:root"


def test_lnx12_reads_the_banner_file_sshd_names_elsewhere_as_root(catalogue: Catalogue) -> None:
    answers = banner_host(sshd="banner /etc/ssh/legal.txt\n")
    answers[r"sudo -n /bin/sh -c 'stat .* -- /etc/ssh/legal.txt'"] = "600 0 0\n"
    answers[r"sudo -n /bin/sh -c 'head -c \d+ -- /etc/ssh/legal.txt'"] = ROLE_BANNER
    outcome = judge(catalogue, "LNX-12", answers)
    assert outcome.status is Status.PASS
    assert "/etc/ssh/legal.txt" in outcome.summary


def test_lnx12_a_missing_banner_file_and_a_hostile_banner_path_fail(catalogue: Catalogue) -> None:
    answers = banner_host(sshd="banner /tmp/x; rm -rf /\n")
    answers[r"stat .* -- /etc/issue$"] = Answer(1, "", "stat: cannot statx '/etc/issue'")
    outcome = judge(catalogue, "LNX-12", answers)
    assert outcome.summary == (
        "sshd's Banner is not a file path: /tmp/x; rm -rf /; /etc/issue is missing"
    )


def test_lnx12_an_answer_of_stat_that_is_not_one_is_an_error(catalogue: Catalogue) -> None:
    answers = banner_host()
    answers[r"stat .* -- /etc/issue$"] = "rw-r--r-- root root\n"
    with pytest.raises(ControlError, match="stat of /etc/issue printed no mode and owner"):
        judge(catalogue, "LNX-12", answers)


def test_lnx12_without_sudo_for_sshd_is_an_error_not_a_pass(catalogue: Catalogue) -> None:
    answers = banner_host(sshd=Answer(1, "", "sudo: a password is required"))
    with pytest.raises(ControlError, match="sudo was refused"):
        judge(catalogue, "LNX-12", answers)


# --- LNX-13: login.defs and the umask of login shells -----------------------------------------

DEBIAN_LOGIN_DEFS = """\
# UMASK is the default umask value for pam_umask and is used by useradd
UMASK		022
PASS_MAX_DAYS	99999
PASS_MIN_DAYS	0
PASS_WARN_AGE	7
#SHA_CRYPT_MIN_ROUNDS 5000
ENCRYPT_METHOD SHA512
"""
#: What role baseline's lineinfile makes of it (tasks/login_defs.yml).
BASELINE_LOGIN_DEFS = """\
# UMASK is the default umask value for pam_umask and is used by useradd
UMASK\t027
PASS_MAX_DAYS\t365
PASS_MIN_DAYS\t1
PASS_WARN_AGE\t14
#SHA_CRYPT_MIN_ROUNDS 5000
ENCRYPT_METHOD\tSHA512
SHA_CRYPT_MIN_ROUNDS\t65536
SHA_CRYPT_MAX_ROUNDS\t65536
"""
PROFILE_UMASK = "/etc/profile.d/telework-umask.sh:umask 027\n"


def defs_host(
    defs: str | Answer = BASELINE_LOGIN_DEFS, profiles: str = PROFILE_UMASK, session: str = ""
) -> dict[str, Any]:
    return {"cat /etc/login.defs": defs, "grep -sHE": profiles, "common-session": session}


def test_lnx13_passes_on_what_role_baseline_writes(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "LNX-13", defs_host())
    assert outcome.status is Status.PASS
    assert outcome.summary == (
        "new accounts: umask 027, passwords 1-365 days (warned 14 days before), SHA512; "
        "login shells too"
    )


def test_lnx13_debians_defaults_fail_on_each_item(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "LNX-13", defs_host(DEBIAN_LOGIN_DEFS, profiles=""))
    assert outcome.summary == (
        "UMASK 022 (at most 027); PASS_MAX_DAYS 99999 (at most 365); "
        "PASS_MIN_DAYS 0 (at least 1); SHA512 with 5000 rounds (at least 65536); "
        "login shells keep a weaker umask: none of /etc/profile /etc/bash.bashrc "
        "/etc/profile.d/*.sh sets 027 and pam_umask does not give it"
    )


def test_lnx13_a_profile_with_a_weaker_umask_fails_even_beside_a_strict_one(
    catalogue: Catalogue,
) -> None:
    profiles = PROFILE_UMASK + "/etc/profile.d/zz-local.sh:  umask 002\n"
    outcome = judge(catalogue, "LNX-13", defs_host(profiles=profiles))
    assert outcome.summary == "/etc/profile.d/zz-local.sh sets umask 002, weaker than 027"


def test_lnx13_pam_umask_reading_a_strict_login_defs_covers_login_shells(
    catalogue: Catalogue,
) -> None:
    session = "session optional pam_umask.so\n"
    assert judge(catalogue, "LNX-13", defs_host(profiles="", session=session)).status is (
        Status.PASS
    )
    session = "session optional pam_umask.so umask=0022\n"
    outcome = judge(catalogue, "LNX-13", defs_host(profiles="", session=session))
    assert outcome.status is Status.FAIL


def test_lnx13_symbolic_umasks_and_yescrypt_are_judged_too(catalogue: Catalogue) -> None:
    defs = BASELINE_LOGIN_DEFS.replace("ENCRYPT_METHOD\tSHA512", "ENCRYPT_METHOD\tYESCRYPT")
    profiles = "/etc/profile:umask u=rwx,g=rx,o=\n"
    assert judge(catalogue, "LNX-13", defs_host(defs, profiles)).status is Status.PASS
    profiles = "/etc/profile:umask u=rwx,g=rwx,o=rx\n/etc/bash.bashrc:umask a+w\n"
    outcome = judge(catalogue, "LNX-13", defs_host(defs, profiles))
    assert outcome.summary.startswith(
        "/etc/profile sets umask 002, weaker than 027; /etc/bash.bashrc: umask a+w cannot be read"
    )


def test_lnx13_des_hashing_and_the_last_value_of_a_key_are_read_as_shadow_reads_them(
    catalogue: Catalogue,
) -> None:
    defs = BASELINE_LOGIN_DEFS.replace("ENCRYPT_METHOD\tSHA512\n", "") + "PASS_MAX_DAYS 400\n"
    outcome = judge(catalogue, "LNX-13", defs_host(defs))
    assert outcome.summary == (
        "PASS_MAX_DAYS 400 (at most 365); ENCRYPT_METHOD not set (DES) (one of SHA512, YESCRYPT)"
    )


def test_lnx13_a_value_that_is_not_a_number_is_an_error(catalogue: Catalogue) -> None:
    defs = BASELINE_LOGIN_DEFS.replace("PASS_MIN_DAYS\t1", "PASS_MIN_DAYS\t\uff11")
    with pytest.raises(ControlError, match=r"PASS_MIN_DAYS .* is not a number"):
        judge(catalogue, "LNX-13", defs_host(defs))


def test_lnx13_an_unreadable_login_defs_is_an_error(catalogue: Catalogue) -> None:
    answers = defs_host(Answer(1, "", "cat: /etc/login.defs: Permission denied"))
    with pytest.raises(ControlError, match="exited 1"):
        judge(catalogue, "LNX-13", answers)


# --- LNX-14: core dumps ---------------------------------------------------------------------

BASELINE_LIMITS = "*       soft    core    0\n*       hard    core    0\nroot hard core 0\n"


def core_host(limits: str = BASELINE_LIMITS, dumpable: str = "0\n", **more: Any) -> dict[str, Any]:
    return {
        "limits.conf": limits,
        "suid_dumpable": dumpable,
        "dpkg-query.*systemd-coredump": Answer(1, "", "no packages found matching"),
        **more,
    }


def test_lnx14_passes_on_what_role_baseline_writes(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "LNX-14", core_host())
    assert outcome.status is Status.PASS


def test_lnx14_debians_defaults_fail(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "LNX-14", core_host(limits="#*  soft  core  0\n", dumpable="2\n",
                                                   **{"systemd-detect-virt": Answer(1, "none\n")}))  # fmt: skip
    assert outcome.summary == (
        "no `* hard core 0` in /etc/security/limits.conf or limits.d; "
        "fs.suid_dumpable is 2: setuid programs may dump core"
    )


def test_lnx14_a_limit_raised_for_someone_fails(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "LNX-14", core_host(BASELINE_LIMITS + "@dev - core unlimited\n"))
    assert outcome.summary == "core dumps allowed by @dev - core unlimited"


DEBIAN13_LIMITS = (
    "*  soft core 0\nroot soft core 0\n*  hard core infinity\nroot hard core infinity\n"
)


def test_lnx14_a_later_file_replaces_debian_13s_unlimited_hard_core(catalogue: Catalogue) -> None:
    # limits.d/10-coredump-debian.conf, then the baseline's 50-telework-coredump.conf
    outcome = judge(catalogue, "LNX-14", core_host(DEBIAN13_LIMITS + BASELINE_LIMITS))
    assert outcome.status is Status.PASS, outcome.summary


def test_lnx14_debian_13s_unlimited_hard_core_alone_fails(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "LNX-14", core_host(DEBIAN13_LIMITS))
    assert outcome.status is Status.FAIL
    assert "core dumps allowed by * hard core infinity, root hard core infinity" in outcome.summary


def test_lnx14_a_container_warns_of_its_kernels_setting(catalogue: Catalogue) -> None:
    outcome = judge(
        catalogue, "LNX-14", core_host(dumpable="2\n", **{"systemd-detect-virt": "podman\n"})
    )
    assert outcome.status is Status.WARN
    assert "the kernel's of the machine running this container" in outcome.summary


def test_lnx14_systemd_coredump_must_store_nothing(catalogue: Catalogue) -> None:
    answers = core_host(**{
        "dpkg-query.*systemd-coredump": "install ok installed",
        "cat-config systemd/coredump.conf": (
            "# /etc/systemd/coredump.conf\n[Coredump]\n#Storage=external\n"
            "# /etc/systemd/coredump.conf.d/50-telework.conf\n[Coredump]\nStorage=none\n"
        ),
    })  # fmt: skip
    outcome = judge(catalogue, "LNX-14", answers)
    assert outcome.summary == "systemd-coredump ProcessSizeMax=32G"


def test_lnx14_a_suid_dumpable_that_is_not_a_number_is_an_error(catalogue: Catalogue) -> None:
    with pytest.raises(ControlError, match=r"fs\.suid_dumpable is not a number"):
        judge(catalogue, "LNX-14", core_host(dumpable="\x1b[2J\n"))
