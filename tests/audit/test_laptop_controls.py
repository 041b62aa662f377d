"""LAP-01 (disk encryption), LAP-02 (screen lock) and LAP-04 (automount) on canned laptop
answers: each passes on what role laptop configures, fails on the weakness it names, and
meets a hostile answer with a failure or an error that says what is wrong, never a
crash."""

from __future__ import annotations

import shlex

import pytest

from tests.audit.conftest import Answer, fake_context
from tests.audit.laptop_fixtures import (
    DB,
    KEYFILE,
    LOCKED_KEYS,
    LOCKS,
    NOW,
    dconf,
    judge,
)
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, Status

# --- LAP-01 --------------------------------------------------------------------------------


def test_lap01_a_root_filesystem_on_lvm_on_luks_passes(catalogue: Catalogue) -> None:
    outcome = judge(
        catalogue,
        "LAP-01",
        {
            "findmnt": "/dev/mapper/vg-root ext4\n",
            "lsblk -s -n -r -o NAME,TYPE -- /dev/mapper/vg-root$": (
                "vg-root lvm\nnvme0n1p3_crypt crypt\nnvme0n1p3 part\nnvme0n1 disk\n"
            ),
        },
    )
    assert outcome.status is Status.PASS
    assert outcome.summary == (
        "the root filesystem (/dev/mapper/vg-root) is on dm-crypt device nvme0n1p3_crypt"
    )


def test_lap01_a_plain_partition_fails_naming_what_it_lies_on(catalogue: Catalogue) -> None:
    outcome = judge(
        catalogue,
        "LAP-01",
        {"findmnt": "/dev/sda2 ext4\n", "lsblk": "sda2 part\nsda disk\n"},
    )
    assert outcome.summary == (
        "the root filesystem (/dev/sda2) is not encrypted: no dm-crypt (sda2 part, sda disk)"
    )


def test_lap01_a_container_overlay_fails_without_asking_lsblk(catalogue: Catalogue) -> None:
    ctx = fake_context({"findmnt": "overlay overlay\n"})
    outcome = judge(catalogue, "LAP-01", {}, ctx=ctx)
    assert outcome.status is Status.FAIL
    assert outcome.summary.startswith("the root filesystem is overlay (overlay), not on a block")
    assert not [c for c in ctx.host.commands if "lsblk" in c]  # type: ignore[union-attr]


@pytest.mark.parametrize("source", ["/dev/sda1;reboot", "/dev/$(reboot)", "/dev/a'b"])
def test_lap01_a_source_with_shell_characters_reaches_lsblk_quoted(
    catalogue: Catalogue, source: str
) -> None:
    ctx = fake_context({"findmnt": f"{source} ext4\n", "lsblk": "x part\n"})
    outcome = judge(catalogue, "LAP-01", {}, ctx=ctx)
    assert outcome.status is Status.FAIL
    lsblk = [c for c in ctx.host.commands if "lsblk" in c]  # type: ignore[union-attr]
    assert lsblk == [f"lsblk -s -n -r -o NAME,TYPE -- {shlex.quote(source)}"]


def test_lap01_a_source_with_control_characters_fails_without_lsblk(
    catalogue: Catalogue,
) -> None:
    ctx = fake_context({"findmnt": "/dev/x\x1b]0;pwned\x07 ext4\n", "lsblk": "x crypt\n"})
    outcome = judge(catalogue, "LAP-01", {}, ctx=ctx)
    assert outcome.status is Status.FAIL
    assert not [c for c in ctx.host.commands if "lsblk" in c]  # type: ignore[union-attr]


# --- LAP-02 --------------------------------------------------------------------------------


def test_lap02_the_roles_locked_lock_after_900_seconds_passes(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "LAP-02", dconf())
    assert outcome.status is Status.PASS
    assert outcome.summary == "the screen locks after 900 s idle, locked for the user"


def test_lap02_an_idle_delay_of_0_never_locks_and_fails(catalogue: Catalogue) -> None:
    keyfile = KEYFILE.replace("idle-delay=uint32 900", "idle-delay=uint32 0")
    outcome = judge(catalogue, "LAP-02", dconf({"00-telework-laptop": keyfile}))
    assert outcome.summary == (
        "/org/gnome/desktop/session/idle-delay is 0 "
        f"({DB}.d/00-telework-laptop): the session never goes idle"
    )


def test_lap02_a_lock_delay_adds_to_the_idle_delay(catalogue: Catalogue) -> None:
    keyfile = KEYFILE.replace("lock-delay=uint32 0", "lock-delay=uint32 600")
    outcome = judge(catalogue, "LAP-02", dconf({"00-telework-laptop": keyfile}))
    assert outcome.summary == "the screen locks after 1500 s (limit 900 s)"


def test_lap02_the_last_keyfile_in_name_order_wins_as_dconf_compiles_them(
    catalogue: Catalogue,
) -> None:
    later = "[org/gnome/desktop/session]\nidle-delay=uint32 3600\n"
    outcome = judge(catalogue, "LAP-02", dconf({"00-telework-laptop": KEYFILE, "50-vendor": later}))
    assert outcome.summary == "the screen locks after 3600 s (limit 900 s)"
    earlier = judge(catalogue, "LAP-02", dconf({"00-vendor": later, "10-telework": KEYFILE}))
    assert earlier.status is Status.PASS


def test_lap02_keys_the_user_may_change_fail(catalogue: Catalogue) -> None:
    locks = LOCKS.replace("/org/gnome/desktop/session/idle-delay\n", "")
    outcome = judge(catalogue, "LAP-02", dconf(locks=locks))
    assert outcome.summary == (
        "/org/gnome/desktop/session/idle-delay is not locked: the user can change it"
    )


def test_lap02_keyfiles_changed_since_dconf_update_are_not_in_force(catalogue: Catalogue) -> None:
    stale = judge(catalogue, "LAP-02", dconf(compiled_at=NOW - 3600, changed_at=NOW))
    assert stale.summary == (
        f"dconf update not run since {DB}.d/00-telework-laptop changed: not in force"
    )
    never = judge(catalogue, "LAP-02", dconf(compiled_at=None))
    assert never.summary == f"dconf update not run: no compiled database {DB}"


def test_lap02_without_a_dconf_profile_the_systems_settings_are_not_read(
    catalogue: Catalogue,
) -> None:
    missing = Answer(1, "", "cat: /etc/dconf/profile/user: No such file or directory")
    outcome = judge(catalogue, "LAP-02", dconf(profile=missing))
    assert outcome.summary.startswith(
        "no /etc/dconf/profile/user: the system's settings (/etc/dconf/db) are not read"
    )
    user_only = judge(catalogue, "LAP-02", dconf(profile="user-db:user\n"))
    assert user_only.summary.startswith("/etc/dconf/profile/user names no system-db")


def test_lap02_a_key_locked_but_set_nowhere_takes_gnomes_default(catalogue: Catalogue) -> None:
    keyfile = KEYFILE.replace("idle-delay=uint32 900\n", "")
    outcome = judge(catalogue, "LAP-02", dconf({"00-telework-laptop": keyfile}))
    assert outcome.status is Status.PASS
    assert outcome.summary == "the screen locks after 300 s idle, locked for the user"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("uint32 \u00b2", "is 'uint32 \u00b2' (/etc/dconf/db/local.d/00-telework-laptop)"),
        ("'900'", "is \"'900'\""),
        ("uint32 " + "9" * 5000, "not a number of seconds"),
    ],
)
def test_lap02_an_idle_delay_that_is_not_a_number_fails_saying_so(
    catalogue: Catalogue, value: str, message: str
) -> None:
    keyfile = KEYFILE.replace("uint32 900", value)
    outcome = judge(catalogue, "LAP-02", dconf({"00-telework-laptop": keyfile}))
    assert outcome.status is Status.FAIL
    assert message in outcome.summary


def test_lap02_a_keyfile_over_the_cap_is_not_read_and_is_named(catalogue: Catalogue) -> None:
    answers = dconf()
    answers[f"find -L {DB} "] = (
        f"{NOW}.1 4096 {DB}\n{NOW - 9}.1 999999999 {DB}.d/00-telework-laptop\n"
        f"{NOW - 9}.1 500 {DB}.d/locks/00-telework-laptop\n"
    )
    ctx = fake_context(answers)
    outcome = judge(catalogue, "LAP-02", {}, ctx=ctx)
    assert f"{DB}.d/00-telework-laptop: over 262144 bytes, not judged" in outcome.summary
    assert f"cat -- {DB}.d/00-telework-laptop" not in ctx.host.commands  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "listing",
    [
        "garbage\n",
        f"{NOW} 10 /etc/passwd\n",  # a file outside the folders listed
        f"{NOW} 10 {DB}.d/evil\x1b[2J\n",
        f"{NOW} 10 {DB}.d/../../../../etc/shadow\n",
    ],
)
def test_lap02_a_listing_of_anything_else_is_an_error_naming_the_line(
    catalogue: Catalogue, listing: str
) -> None:
    answers = dconf()
    answers[f"find -L {DB} "] = listing
    with pytest.raises(ControlError, match="unexpected line where files were listed"):
        judge(catalogue, "LAP-02", answers)


def test_lap02_keyfile_and_locks_of_binary_junk_fail_without_a_crash(
    catalogue: Catalogue,
) -> None:
    junk = "\x00\xff[\n=\n[[]]\nidle-delay\n/\x1b[2J\n" + "\ud800" * 10 + "=" * 10_000
    outcome = judge(catalogue, "LAP-02", dconf({"00-telework-laptop": junk}, locks=junk))
    assert outcome.summary == (
        "/org/gnome/desktop/session/idle-delay is not locked: the user can change it; "
        "/org/gnome/desktop/screensaver/lock-delay is not locked: the user can change it; "
        "/org/gnome/desktop/screensaver/lock-enabled is not locked: the user can change it"
    )


# --- LAP-04 --------------------------------------------------------------------------------


def test_lap04_the_roles_media_settings_pass(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "LAP-04", dconf())
    assert outcome.status is Status.PASS


def test_lap04_automount_on_or_autorun_unlocked_fails(catalogue: Catalogue) -> None:
    keyfile = KEYFILE.replace("automount=false", "automount=true")
    locks = LOCKS.replace(f"{LOCKED_KEYS[-1]}\n", "")
    outcome = judge(catalogue, "LAP-04", dconf({"00-telework-laptop": keyfile}, locks=locks))
    assert outcome.summary == (
        "/org/gnome/desktop/media-handling/automount is true "
        f"({DB}.d/00-telework-laptop), not false; "
        "/org/gnome/desktop/media-handling/autorun-never is not locked: the user can change it"
    )


def test_lap04_nothing_set_is_gnomes_defaults_which_mount_and_run(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "LAP-04", dconf({}, locks="", changed_at=NOW - 1))
    assert "/org/gnome/desktop/media-handling/automount is true (GNOME's default)" in (
        outcome.summary
    )
    assert outcome.status is Status.FAIL


def test_lap02_a_key_locked_in_a_lower_database_ignores_the_values_above_it(
    catalogue: Catalogue,
) -> None:
    site = "/etc/dconf/db/site"
    answers = dconf()
    answers["cat /etc/dconf/profile/user"] = "user-db:user\nsystem-db:site\nsystem-db:local\n"
    answers[f"find -L {site} "] = f"{NOW}.1 4096 {site}\n{NOW - 9}.1 60 {site}.d/10-site\n"
    answers[f"cat -- {site}.d/10-site$"] = "[org/gnome/desktop/session]\nidle-delay=uint32 3600\n"
    assert judge(catalogue, "LAP-02", answers).status is Status.PASS
    answers[f"cat -- {DB}.d/locks/00-telework-laptop$"] = ""
    unlocked = judge(catalogue, "LAP-02", answers)
    assert unlocked.summary.startswith("the screen locks after 3600 s (limit 900 s)")


def test_lap02_a_profile_naming_a_database_that_does_not_exist_fails_naming_it(
    catalogue: Catalogue,
) -> None:
    answers = dconf()
    answers["cat /etc/dconf/profile/user"] = "user-db:user\nsystem-db:site\n"
    answers["find -L /etc/dconf/db/site "] = ""
    outcome = judge(catalogue, "LAP-02", answers)
    assert outcome.summary.startswith(
        "no dconf database /etc/dconf/db/site nor /etc/dconf/db/site.d; "
        "/org/gnome/desktop/session/idle-delay is not locked"
    )
