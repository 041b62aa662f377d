"""LAP-03 (USB mass storage), LAP-05 (updates) and LAP-06 (antivirus) on canned laptop
answers: each passes on what role laptop configures, fails on the weakness it names, and
meets a hostile answer with a failure or an error that says what is wrong, never a crash."""

from __future__ import annotations

import pytest

from tests.audit.conftest import Answer
from tests.audit.laptop_fixtures import CLAMAV_ACTIVE, MODPROBE_BLOCKING, judge
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, Status

# --- LAP-03 --------------------------------------------------------------------------------

USBGUARD = {
    "is-active usbguard": "active\n",
    "usbguard-daemon.conf": "ImplicitPolicyTarget=block\n",
}
ROLE_RULES = (
    "allow with-interface equals { 09:*:* }\n"
    "allow with-interface one-of { 03:00:01 03:01:01 03:00:02 03:01:02 03:00:00 }\n"
)


def test_lap03_install_rules_to_false_for_usb_storage_and_uas_pass(catalogue: Catalogue) -> None:
    outcome = judge(
        catalogue, "LAP-03", {"modprobe --showconfig": MODPROBE_BLOCKING, "/proc/modules": ""}
    )
    assert outcome.status is Status.PASS
    assert outcome.summary == "usb_storage and uas refused by the module configuration"


def test_lap03_both_spellings_of_the_module_name_are_one_module(catalogue: Catalogue) -> None:
    config = "install usb-storage /bin/true\ninstall uas /usr/bin/false\n"
    outcome = judge(catalogue, "LAP-03", {"modprobe --showconfig": config, "/proc/modules": ""})
    assert outcome.status is Status.PASS


def test_lap03_a_blacklist_alone_fails_saying_modprobe_still_loads_it(
    catalogue: Catalogue,
) -> None:
    config = "blacklist usb_storage\nblacklist uas\ninstall uas /bin/false\n"
    outcome = judge(
        catalogue,
        "LAP-03",
        {
            "modprobe --showconfig": config,
            "is-active usbguard": Answer(3, "inactive\n"),
            "/proc/modules": "",
        },
    )
    assert outcome.summary == (
        "usb_storage is only blacklisted: an explicit modprobe still loads it "
        "(no install usb_storage /bin/false); USBGuard is not running"
    )


def test_lap03_usbguard_blocking_what_its_rules_do_not_allow_passes(catalogue: Catalogue) -> None:
    answers = {"modprobe --showconfig": "", **USBGUARD, "rules.conf": ROLE_RULES}
    outcome = judge(catalogue, "LAP-03", {**answers, "/proc/modules": ""})
    assert outcome.summary == "USBGuard blocks USB devices its rules do not allow"


@pytest.mark.parametrize(
    ("daemon_conf", "rules", "why"),
    [
        ("ImplicitPolicyTarget=allow\n", ROLE_RULES, "ImplicitPolicyTarget is allow, not block"),
        ("# nothing\n", ROLE_RULES, "ImplicitPolicyTarget is not set, not block"),
        ("ImplicitPolicyTarget=block\n", "allow\n", "a USBGuard rule allows mass storage: allow"),
        (
            "ImplicitPolicyTarget=block\n",
            "allow with-interface equals { 08:*:* }\n",
            "a USBGuard rule allows mass storage",
        ),
    ],
)
def test_lap03_usbguard_that_lets_mass_storage_in_fails(
    catalogue: Catalogue, daemon_conf: str, rules: str, why: str
) -> None:
    answers = {
        "modprobe --showconfig": "",
        "is-active usbguard": "active\n",
        "usbguard-daemon.conf": daemon_conf,
        "rules.conf": rules,
        "/proc/modules": "",
    }
    outcome = judge(catalogue, "LAP-03", answers)
    assert outcome.status is Status.FAIL
    assert why in outcome.summary


def test_lap03_blocking_usbhid_too_fails_keyboards_must_work(catalogue: Catalogue) -> None:
    config = MODPROBE_BLOCKING + "install usbhid /bin/false\n"
    outcome = judge(catalogue, "LAP-03", {"modprobe --showconfig": config, "/proc/modules": ""})
    assert outcome.summary == "usbhid is blocked too: keyboards and mice would not work"


def test_lap03_a_module_loaded_now_is_a_warning(catalogue: Catalogue) -> None:
    answers = {
        "modprobe --showconfig": MODPROBE_BLOCKING,
        "/proc/modules": "usb_storage 81920 1 uas, Live 0x0000000000000000\n",
    }
    outcome = judge(catalogue, "LAP-03", answers)
    assert (outcome.status, outcome.summary) == (Status.WARN, "usb_storage is loaded now")


def test_lap03_without_modprobe_it_is_an_error_not_a_pass(catalogue: Catalogue) -> None:
    missing = Answer(127, "", "sh: 1: /sbin/modprobe: not found")
    with pytest.raises(ControlError, match="exited 127: sh: 1: /sbin/modprobe: not found"):
        judge(catalogue, "LAP-03", {"modprobe --showconfig": missing})


def test_lap03_junk_in_the_module_configuration_fails_without_a_crash(
    catalogue: Catalogue,
) -> None:
    junk = "install\ninstall usb_storage\nblacklist\n\x00\x1b[2J" + "install uas " * 10_000
    answers = {
        "modprobe --showconfig": junk,
        "is-active usbguard": Answer(4, "", "Unit usbguard.service could not be found."),
        "/proc/modules": "",
    }
    outcome = judge(catalogue, "LAP-03", answers)
    assert outcome.summary.startswith("usb_storage is not blocked")


# --- LAP-05 --------------------------------------------------------------------------------

APT_OK = {
    "dpkg-query": "install ok installed",
    "apt-config shell": "UPD='1'\nUU='1'\n",
    "is-enabled apt-daily": "enabled\nenabled\n",
    "lists": "3600 /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease\n",
    "apt-get -s": "",
}


def test_lap05_judges_updates_as_lnx01_does(catalogue: Catalogue) -> None:
    laptop = judge(catalogue, "LAP-05", APT_OK)
    server = judge(catalogue, "LNX-01", APT_OK)
    assert (laptop.status, laptop.summary) == (Status.PASS, server.summary)
    off = {**APT_OK, "apt-config shell": "UPD='1'\nUU='0'\n"}
    assert judge(catalogue, "LAP-05", off).summary == "APT::Periodic::Unattended-Upgrade is off"


def test_lap05_package_lists_older_than_its_own_limit_fail(catalogue: Catalogue) -> None:
    stale = {**APT_OK, "lists": f"{3 * 86400} /var/lib/apt/lists/x_InRelease\n"}
    outcome = judge(catalogue, "LAP-05", stale, max_pending_days=2)
    assert outcome.summary == "package lists not refreshed for 3 days (max 2)"


# --- LAP-06 --------------------------------------------------------------------------------


def test_lap06_clamd_and_freshclam_running_with_fresh_signatures_pass(
    catalogue: Catalogue,
) -> None:
    answers = {
        "is-active clamav-daemon clamav-freshclam": CLAMAV_ACTIVE,
        "/var/lib/clamav": "7200 /var/lib/clamav/daily.cld\n90000 /var/lib/clamav/main.cvd\n",
    }
    outcome = judge(catalogue, "LAP-06", answers)
    assert outcome.summary == "clamav-daemon running, newest signatures 2 h old"


def test_lap06_local_signatures_without_freshclam_are_a_warning_while_fresh(
    catalogue: Catalogue,
) -> None:
    answers = {
        "is-active clamav-daemon": Answer(3, "active\ninactive\n"),
        "/var/lib/clamav": "600 /var/lib/clamav/telework-local.hdb\n",
    }
    outcome = judge(catalogue, "LAP-06", answers)
    assert outcome.status is Status.WARN
    assert outcome.summary == (
        "clamav-freshclam is inactive: signatures must come from elsewhere "
        "(their age is what is judged)"
    )


def test_lap06_old_signatures_or_a_stopped_daemon_fail(catalogue: Catalogue) -> None:
    old = {
        "is-active clamav-daemon": CLAMAV_ACTIVE,
        "/var/lib/clamav": f"{49 * 3600} /var/lib/clamav/daily.cvd\n",
    }
    assert judge(catalogue, "LAP-06", old).summary == (
        "the newest signatures are 49 h old (limit 48 h)"
    )
    stopped = {"is-active clamav-daemon": Answer(3, "failed\nactive\n"), "/var/lib/clamav": ""}
    assert judge(catalogue, "LAP-06", stopped).summary == (
        "clamav-daemon is failed: no antivirus running; no signature file in /var/lib/clamav"
    )


@pytest.mark.parametrize("listing", ["yesterday /var/lib/clamav/daily.cld\n", "\u00b2\u00b3 x\n"])
def test_lap06_signature_ages_that_are_not_numbers_are_an_error(
    catalogue: Catalogue, listing: str
) -> None:
    answers = {"is-active clamav-daemon": CLAMAV_ACTIVE, "/var/lib/clamav": listing}
    with pytest.raises(ControlError, match="unexpected line where file ages were printed"):
        judge(catalogue, "LAP-06", answers)


def test_lap06_an_unexpected_service_state_is_named_not_trusted(catalogue: Catalogue) -> None:
    answers = {
        "is-active clamav-daemon": Answer(3, "\x1b[2Jactive\n"),
        "/var/lib/clamav": "60 /var/lib/clamav/daily.cld\n",
    }
    outcome = judge(catalogue, "LAP-06", answers)
    assert outcome.summary == "clamav-daemon is \x1b[2Jactive: no antivirus running"
