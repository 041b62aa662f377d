"""Canned cases of the Linux server baseline, LNX-01 to LNX-14 (audits/controls/linux.yml):
each control passes on what role baseline configures and fails on the weakness it names.
The answers are those of the per-family modules (test_controls.py,
test_hardening_controls.py); the logging and backup controls are in linux_logs_backups.py.
"""

from __future__ import annotations

from tests.audit.canned import AUDIT_DAY, Case, judged
from tests.audit.conftest import Answer
from tests.audit.test_controls import (
    NFT_DROP,
    PAM_AUTH,
    PAM_PASSWORD,
    SIMULATION,
    SS,
    SSHD_HARDENED,
)
from tests.audit.test_hardening_controls import (
    BASELINE_LIMITS,
    BASELINE_LOGIN_DEFS,
    DEBIAN13_LIMITS,
    DEBIAN_ISSUE,
    DEBIAN_LOGIN_DEFS,
    banner_host,
    core_host,
    defs_host,
)
from toolkit.audit.model import Status
from toolkit.audit.registry import implementations

IMPL = implementations()
PASS, FAIL = Status.PASS, Status.FAIL

#: What the SSH handshake shows of a host role baseline configured: its post-quantum
#: hybrid first, then its classical algorithms (roles/baseline/defaults/main.yml).
BASELINE_OFFER: dict[str, tuple[str, ...]] = {
    "kex": ("mlkem768x25519-sha256", "curve25519-sha256", "diffie-hellman-group16-sha512"),
    "host_key": ("ssh-ed25519",),
    "ciphers": ("chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes256-ctr"),
    "macs": ("hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com"),
    "auth_methods": ("publickey",),
}


# --- LNX-01, LNX-02: updates and release -------------------------------------------------

UPDATED: dict[str, Answer | str] = {
    "dpkg-query": "install ok installed",
    "apt-config shell": "UPD='1'\nUU='1'\n",
    "is-enabled apt-daily": "enabled\nenabled\n",
    "lists": "3600 /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease\n",
    "apt-get -s": "Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.12/stable [all])\n",
}
PENDING: dict[str, Answer | str] = {
    **UPDATED,
    "apt-get -s": SIMULATION,
    "unattended-upgrades-stamp": Answer(1, ""),
}
NOT_AUTOMATIC: dict[str, Answer | str] = {**UPDATED, "apt-config shell": "UPD='1'\nUU='0'\n"}
TRIXIE = 'ID=debian\nVERSION_ID="13"\nPRETTY_NAME="Debian GNU/Linux 13 (trixie)"\n'
BUSTER = 'ID=debian\nVERSION_ID="10"\nPRETTY_NAME="Debian GNU/Linux 10 (buster)"\n'

# --- LNX-03, LNX-04: SSH ----------------------------------------------------------------

#: ``sshd -T`` of role baseline's 10-telework-baseline.conf: the hardened answer of the
#: LNX-03 tests, with the role's AllowGroups sshadmins in place of a listed user.
SSHD_BASELINE = SSHD_HARDENED.replace("allowusers admin", "allowgroups sshadmins")
assert "allowgroups sshadmins" in SSHD_BASELINE
SSHD_ROOT_PASSWORD = SSHD_BASELINE.replace("permitrootlogin no", "permitrootlogin yes").replace(
    "passwordauthentication no", "passwordauthentication yes"
)
WEAK_OFFER = {
    **BASELINE_OFFER,
    "ciphers": ("aes256-gcm@openssh.com", "aes128-cbc"),
    "macs": ("hmac-sha2-256-etm@openssh.com", "hmac-sha1"),
}

# --- LNX-05 to LNX-11 ---------------------------------------------------------------------

#: Role baseline's pwquality.conf and faillock.conf (LNX-05).
PAM_BASELINE = {
    "common-password": PAM_PASSWORD,
    "common-auth": PAM_AUTH,
    "pwquality.conf": "minlen = 12\nminclass = 3\n",
    "faillock.conf": "deny = 5\n",
}
PAM_DEBIAN = {"common-password": "password [success=1] pam_unix.so obscure\n", "common-auth": ""}
TELNET = SS + 'tcp LISTEN 0 128 [::]:23 [::]:* users:(("inetd",pid=3,fd=3))\n'
EMPTY_RULESET = '{"nftables": [{"metainfo": {}}]}'
TIME_SERVICES = "systemctl is-active"
AUDIT_PATHS = ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/sudoers")
AUDIT_PATHS_ALL = (*AUDIT_PATHS, "/etc/sudoers.d", "/var/log/lastlog")
AIDE = {
    "dpkg-query.*aide": "install ok installed",
    "test -s": "",
    "dailyaidecheck.timer": "enabled\n",
}


def audit_rules(paths: tuple[str, ...]) -> dict[str, Answer | str]:
    rules = "".join(f"-w {path} -p wa -k telework\n" for path in paths)
    return {"is-active auditd": "active\nenabled\n", "auditctl -l": rules}


def accounts(passwd: str = "", shadow: str = "", sudoers: str = "") -> dict[str, Answer | str]:
    """role baseline's accounts: root and an admin, both with a hash, sudo with a password."""
    return {
        "getent passwd": "root:x:0:0::/root:/bin/bash\nadmin:x:1000:1000::/home/admin:/bin/bash\n"
        + passwd,
        "getent shadow": "root:!:1::::::\nadmin:$y$j9T$abc:1::::::\n" + shadow,
        "sudoers": "%sudo ALL=(ALL:ALL) ALL\n" + sudoers,
    }


CASES: list[Case] = [
    Case("LNX-01", PASS, "unattended-upgrades runs and no security update is pending",
         judged("LNX-01", UPDATED), "no security update pending; unattended-upgrades on"),
    Case("LNX-01", FAIL, "a security update of libssl3 waits and unattended-upgrades never ran",
         judged("LNX-01", PENDING),
         "1 security updates pending (libssl3 3.0.11-1~deb12u2 -> 3.0.17-1~deb12u3)"),
    Case("LNX-01", FAIL, "apt's periodic unattended upgrade is switched off",
         judged("LNX-01", NOT_AUTOMATIC), "APT::Periodic::Unattended-Upgrade is off"),
    Case("LNX-02", PASS, "debian 13 still gets security fixes",
         judged("LNX-02", {"os-release": TRIXIE}, context={"today": AUDIT_DAY}),
         "Debian GNU/Linux 13 (trixie) supported until 2030-06-30"),
    Case("LNX-02", FAIL, "debian 10 is past its end of life",
         judged("LNX-02", {"os-release": BUSTER}, context={"today": AUDIT_DAY}),
         "Debian GNU/Linux 10 (buster) reached its end of life on 2024-06-30"),
    Case("LNX-03", PASS, "sshd takes keys only from the admin group, no root, no forwarding",
         judged("LNX-03", {"sshd -T": SSHD_BASELINE}, offer=BASELINE_OFFER),
         "root and password login off, forwarding off, allow-list set"),
    Case("LNX-03", FAIL, "root may log in with a password",
         judged("LNX-03", {"sshd -T": SSHD_ROOT_PASSWORD},
                offer={**BASELINE_OFFER, "auth_methods": ("publickey", "password")}),
         "PermitRootLogin yes"),
    Case("LNX-04", PASS, "the server offers ml-kem first and only strong algorithms",
         judged("LNX-04", {}, offer=BASELINE_OFFER),
         "post-quantum hybrid key exchange mlkem768x25519-sha256 offered"),
    Case("LNX-04", FAIL, "the server offers a cbc cipher and sha-1 macs",
         judged("LNX-04", {}, offer=WEAK_OFFER), "ciphers: aes128-cbc; macs: hmac-sha1"),
    Case("LNX-05", PASS, "pwquality asks 12 characters of 3 classes and faillock locks after 5",
         judged("LNX-05", PAM_BASELINE), "password quality and lockout enforced"),
    Case("LNX-05", FAIL, "debian's pam stack has neither pwquality nor faillock",
         judged("LNX-05", PAM_DEBIAN), "pam_pwquality is not in common-password"),
    Case("LNX-06", PASS, "only sshd listens beyond loopback",
         judged("LNX-06", {"ss -Hlntup": SS}), "only allowed ports listen (tcp/22)"),
    Case("LNX-06", FAIL, "telnet listens", judged("LNX-06", {"ss -Hlntup": TELNET}),
         "tcp/23 (inetd) is forbidden"),
    Case("LNX-07", PASS, "an inet input chain drops by default and nftables starts at boot",
         judged("LNX-07", {"nft -j list ruleset": NFT_DROP, "is-enabled nftables": "enabled\n"}),
         "inbound traffic is dropped by default"),
    Case("LNX-07", FAIL, "the ruleset is empty",
         judged("LNX-07", {"nft -j list ruleset": EMPTY_RULESET}),
         "no input chain with policy drop for ip, ip6"),
    Case("LNX-08", PASS, "chrony runs and the clock is synchronised",
         judged("LNX-08", {TIME_SERVICES: Answer(3, "active\ninactive\ninactive\ninactive\n"),
                           "NTPSynchronized": "yes\n"}),
         "chrony active, clock synchronised"),
    Case("LNX-08", FAIL, "no time service runs though the clock says it is synchronised",
         judged("LNX-08", {TIME_SERVICES: Answer(3, "inactive\ninactive\ninactive\ninactive\n"),
                           "NTPSynchronized": "yes\n"}),
         "no time synchronisation service active"),
    Case("LNX-09", PASS, "auditd watches every identity, sudo and login file",
         judged("LNX-09", audit_rules(AUDIT_PATHS_ALL)), "auditd running with 7 rules"),
    Case("LNX-09", FAIL, "auditd watches neither sudoers.d nor lastlog",
         judged("LNX-09", audit_rules(AUDIT_PATHS)),
         "no audit rule for /etc/sudoers.d, /var/log/lastlog"),
    Case("LNX-10", PASS, "aide has a database and a daily timer", judged("LNX-10", AIDE),
         "AIDE installed with a database and a daily check"),
    Case("LNX-10", FAIL, "aide is not installed",
         judged("LNX-10", {"dpkg-query.*aide": Answer(1, "", "no packages found")}),
         "AIDE is not installed"),
    Case("LNX-11", PASS, "root is the only uid 0 and admins sudo with their password",
         judged("LNX-11", accounts()), "single UID 0, no empty password, no blanket NOPASSWD"),
    Case("LNX-11", FAIL, "a second account has uid 0",
         judged("LNX-11", accounts(passwd="toor:x:0:0::/root:/bin/sh\n")),
         "UID 0 besides root: toor"),
    Case("LNX-11", FAIL, "an account runs every command as root without a password",
         judged("LNX-11", accounts(sudoers="backup ALL=(ALL) NOPASSWD: ALL\n")),
         "NOPASSWD: ALL for backup"),
    Case("LNX-12", PASS, "the console and sshd show the french and arabic banner",
         judged("LNX-12", banner_host()),
         "French and Arabic legal banner in /etc/issue, /etc/issue.net; sshd sends /etc/issue.net"),
    Case("LNX-12", FAIL, "debian's own banners name the system and sshd sends none",
         judged("LNX-12", banner_host(issue=DEBIAN_ISSUE, issue_net="Debian GNU/Linux 12\n",
                                      sshd="banner none\n")),
         "sshd sends no banner before authentication (Banner none)"),
    Case("LNX-13", PASS, "login.defs and the login shells' profile set umask 027",
         judged("LNX-13", defs_host(BASELINE_LOGIN_DEFS)),
         "new accounts: umask 027, passwords 1-365 days"),
    Case("LNX-13", FAIL, "debian's login.defs gives umask 022 and passwords that never age",
         judged("LNX-13", defs_host(DEBIAN_LOGIN_DEFS, profiles="")), "UMASK 022 (at most 027)"),
    Case("LNX-14", PASS, "every login's hard core limit is 0 and setuid programs do not dump",
         judged("LNX-14", core_host(BASELINE_LIMITS)),
         "core dumps off: hard limit 0, fs.suid_dumpable 0"),
    Case("LNX-14", FAIL, "debian 13's unlimited hard core limit is left alone",
         judged("LNX-14", core_host(DEBIAN13_LIMITS)),
         "core dumps allowed by * hard core infinity"),
]  # fmt: skip
