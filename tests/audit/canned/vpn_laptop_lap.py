"""Managed laptop controls LAP-01..LAP-12 judged both ways on canned answers: each passes on
what roles laptop and vpn_client configure (tests/audit/laptop_fixtures.py) and fails on
the weakness it names. The VPN gateway's cases are in vpn_laptop.py."""

from __future__ import annotations

from tests.audit.canned import Case
from tests.audit.canned.vpn_laptop import on
from tests.audit.conftest import Answer
from tests.audit.laptop_fixtures import (
    CLAMAV_ACTIVE,
    DB,
    DPKG,
    KEYFILE,
    LOCKS,
    MACROS_XCD,
    MODPROBE_BLOCKING,
    NFT_LAPTOP,
    dconf,
)
from tests.audit.test_laptop_access_controls import ACCOUNTS, VPN
from tests.audit.test_laptop_protection_controls import APT_OK
from tests.audit.test_laptop_software_controls import CLEAN, FIREFOX, XCD, office
from toolkit.audit.model import Status

PASS, FAIL = Status.PASS, Status.FAIL
KEYS = "00-telework-laptop"
LUKS = "vg-root lvm\nnvme0n1p3_crypt crypt\nnvme0n1p3 part\nnvme0n1 disk\n"
SIGNATURES = "7200 /var/lib/clamav/daily.cld\n90000 /var/lib/clamav/main.cvd\n"
FIREWALL = {"nft -j list ruleset": NFT_LAPTOP, "is-enabled nftables": "enabled\n"}
ACCEPTING = NFT_LAPTOP.replace(
    '"hook": "input", "prio": 0, "policy": "drop"', '"hook": "input", "prio": 0, "policy": "accept"'
)
SUDO_RULE = "User ag0001 may run the following commands on laptop01:\n    (ALL : ALL) ALL\n"
SECURITY_FIREFOX = (
    "Inst firefox-esr [128.5.0esr-1~deb12u1] (128.6.0esr-1~deb12u1 "
    "Debian-Security:12/stable-security [amd64])\n"
)
ANY_EXTENSION = '{"policies": {"ExtensionSettings": {"*": {"installation_mode": "allowed"}}}}'

CASES: list[Case] = [
    Case(
        "LAP-01",
        PASS,
        "the root filesystem lies on LVM on LUKS",
        on("LAP-01", {"findmnt": "/dev/mapper/vg-root ext4\n", "lsblk": LUKS}),
        "is on dm-crypt device nvme0n1p3_crypt",
    ),
    Case(
        "LAP-01",
        FAIL,
        "the root filesystem lies on a plain partition",
        on("LAP-01", {"findmnt": "/dev/sda2 ext4\n", "lsblk": "sda2 part\nsda disk\n"}),
        "the root filesystem (/dev/sda2) is not encrypted: no dm-crypt (sda2 part, sda disk)",
    ),
    Case(
        "LAP-02",
        PASS,
        "the screen locks after 15 minutes idle, locked in dconf",
        on("LAP-02", dconf()),
        "the screen locks after 900 s idle, locked for the user",
    ),
    Case(
        "LAP-02",
        FAIL,
        "the session goes idle only after an hour",
        on("LAP-02", dconf({KEYS: KEYFILE.replace("uint32 900", "uint32 3600")})),
        "the screen locks after 3600 s (limit 900 s)",
    ),
    Case(
        "LAP-02",
        FAIL,
        "the user may change the idle delay",
        on("LAP-02", dconf(locks=LOCKS.replace("/org/gnome/desktop/session/idle-delay\n", ""))),
        "/org/gnome/desktop/session/idle-delay is not locked: the user can change it",
    ),
    Case(
        "LAP-03",
        PASS,
        "usb_storage and uas are installed as /bin/false",
        on("LAP-03", {"modprobe --showconfig": MODPROBE_BLOCKING, "/proc/modules": ""}),
        "usb_storage and uas refused by the module configuration",
    ),
    Case(
        "LAP-03",
        FAIL,
        "usb_storage is only blacklisted and USBGuard is off",
        on(
            "LAP-03",
            {
                "modprobe --showconfig": MODPROBE_BLOCKING.replace(
                    "install usb_storage /bin/false\n", ""
                ),
                "is-active usbguard": Answer(3, "inactive\n"),
                "/proc/modules": "",
            },
        ),
        "usb_storage is only blacklisted: an explicit modprobe still loads it",
    ),
    Case(
        "LAP-04",
        PASS,
        "automount and autorun are off and locked",
        on("LAP-04", dconf()),
        "automount, automount-open off and autorun never, locked",
    ),
    Case(
        "LAP-04",
        FAIL,
        "removable media mount by themselves",
        on("LAP-04", dconf({KEYS: KEYFILE.replace("automount=false", "automount=true")})),
        f"/org/gnome/desktop/media-handling/automount is true ({DB}.d/{KEYS}), not false",
    ),
    Case(
        "LAP-05",
        PASS,
        "unattended-upgrades is on and nothing is pending",
        on("LAP-05", APT_OK),
        "no security update pending; unattended-upgrades on",
    ),
    Case(
        "LAP-05",
        FAIL,
        "unattended-upgrades is switched off",
        on("LAP-05", {**APT_OK, "apt-config shell": "UPD='1'\nUU='0'\n"}),
        "APT::Periodic::Unattended-Upgrade is off",
    ),
    Case(
        "LAP-06",
        PASS,
        "clamd and freshclam run and the signatures are 2 hours old",
        on(
            "LAP-06",
            {
                "is-active clamav-daemon clamav-freshclam": CLAMAV_ACTIVE,
                "/var/lib/clamav": SIGNATURES,
            },
        ),
        "clamav-daemon running, newest signatures 2 h old",
    ),
    Case(
        "LAP-06",
        FAIL,
        "the newest signatures are 49 hours old",
        on(
            "LAP-06",
            {"is-active clamav-daemon": CLAMAV_ACTIVE, "/var/lib/clamav": "176400 /x/daily.cvd\n"},
        ),
        "the newest signatures are 49 h old (limit 48 h)",
    ),
    Case(
        "LAP-06",
        FAIL,
        "the scanning daemon has failed",
        on(
            "LAP-06",
            {
                "is-active clamav-daemon": Answer(3, "failed\nactive\n"),
                "/var/lib/clamav": SIGNATURES,
            },
        ),
        "clamav-daemon is failed: no antivirus running",
    ),
    Case(
        "LAP-07",
        PASS,
        "the input chain drops by default and nftables starts at boot",
        on("LAP-07", FIREWALL),
        "inbound traffic is dropped by default, also after a reboot",
    ),
    Case(
        "LAP-07",
        FAIL,
        "the input chain accepts by default",
        on("LAP-07", {**FIREWALL, "nft -j list ruleset": ACCEPTING}),
        "no input chain with policy drop for ip, ip6",
    ),
    Case(
        "LAP-08",
        PASS,
        "the teleworker is in no admin group and has no sudo rule",
        on("LAP-08", ACCOUNTS),
        "ag0001: not administrators, no sudo",
    ),
    Case(
        "LAP-08",
        FAIL,
        "the teleworker is in sudo and may run anything as root",
        on(
            "LAP-08",
            {
                **ACCOUNTS,
                "getent group": str(ACCOUNTS["getent group"]).replace(
                    "sudo:x:27:admin", "sudo:x:27:admin,ag0001"
                ),
                "-l -U ag0001": SUDO_RULE,
            },
        ),
        "ag0001 is in sudo; ag0001 may use sudo: (ALL : ALL) ALL",
    ),
    Case(
        "LAP-09",
        PASS,
        "the tunnel is up at boot and shook hands 100 s ago",
        on("LAP-09", VPN),
        "wg-quick@wg0 up at boot and now, last handshake 100 s ago",
    ),
    Case(
        "LAP-09",
        FAIL,
        "the tunnel is down",
        on("LAP-09", {**VPN, "is-active wg-quick@wg0": Answer(3, "inactive\n")}),
        "wg-quick@wg0 is inactive: the tunnel is down",
    ),
    Case(
        "LAP-10",
        PASS,
        "libreoffice's macro security is very high and finalized",
        on("LAP-10", office()),
        f"MacroSecurityLevel 3 finalized in {XCD}",
    ),
    Case(
        "LAP-10",
        FAIL,
        "libreoffice's macro security is low",
        on("LAP-10", office(MACROS_XCD.replace("<value>3<", "<value>1<"))),
        f"{XCD} sets MacroSecurityLevel '1' (at least 2)",
    ),
    Case(
        "LAP-11",
        PASS,
        "firefox-esr is current and its policy blocks all but one extension",
        on("LAP-11", FIREFOX),
        "firefox-esr 128.5.0esr-1~deb12u1 current; firefox-esr: extensions blocked but 1 allowed",
    ),
    Case(
        "LAP-11",
        FAIL,
        "a security update of firefox-esr is pending",
        on("LAP-11", {**FIREFOX, "apt-get -s": SECURITY_FIREFOX}),
        "firefox-esr 128.5.0esr-1~deb12u1 -> 128.6.0esr-1~deb12u1 pending (security update)",
    ),
    Case(
        "LAP-11",
        FAIL,
        "firefox's policy lets any extension in",
        on("LAP-11", {**FIREFOX, "cat -- /etc/firefox/policies/policies.json$": ANY_EXTENSION}),
        'ExtensionSettings "*" installation_mode is allowed, not blocked',
    ),
    Case(
        "LAP-12",
        PASS,
        "only Debian's packages from Debian's servers are installed",
        on("LAP-12", CLEAN),
        "APT sources only from deb.debian.org, security.debian.org; no Flatpak or snap",
    ),
    Case(
        "LAP-12",
        FAIL,
        "nmap is installed",
        on("LAP-12", {**CLEAN, "dpkg-query -W": DPKG + "nmap ii  7.93+dfsg1-1\n"}),
        "hacking tools installed: nmap",
    ),
]
