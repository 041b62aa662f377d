"""The readings of toolkit.controls.hardening_parsers on what hosts print: ``ssh -Q kex``,
banners, login.defs, umasks, pam_umask, limits.conf and systemd's cat-config; a line that
is not what the tool writes is skipped or read as None, and a huge answer costs what its
first part costs."""

from __future__ import annotations

import time

import pytest

from toolkit.controls import hardening_parsers as hp


def test_algorithm_names_are_one_a_line_and_anything_else_is_skipped() -> None:
    text = "curve25519-sha256\n  sntrup761x25519-sha512@openssh.com \n\nnot a name\n; rm -rf /\n"
    assert hp.algorithm_names(text) == [
        "curve25519-sha256",
        "sntrup761x25519-sha512@openssh.com",
    ]
    assert hp.algorithm_names("x" * 65) == []


def test_letters_counts_latin_and_arabic_letters_only() -> None:
    found = hp.letters("Accès réservé ١٢ تنبيه: 42 \u202e\ud800")
    assert found == hp.Scripts(latin=12, arabic=5)  # digits are no letters


def test_letters_of_a_huge_banner_costs_its_first_64_kib() -> None:
    start = time.monotonic()
    assert hp.letters("é" * 10**7).latin == hp.MAX_TEXT
    assert time.monotonic() - start < 5


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("644 0 0\n", hp.FileStat(0o644, 0, 0)),
        ("4755 1000 27", hp.FileStat(0o4755, 1000, 27)),
        ("rw-r--r-- root root", None),
        ("644 0", None),
        ("999 0 0", None),
        ("644 0 0\n644 0 0", None),
        ("", None),
    ],
)
def test_file_stat_reads_mode_owner_and_group_or_nothing(
    answer: str, expected: hp.FileStat | None
) -> None:
    assert hp.file_stat(answer) == expected


def test_login_defs_keeps_the_last_value_of_a_key_and_skips_comments_and_prose() -> None:
    text = (
        "# UMASK is the default umask value for pam_umask\n"
        "UMASK\t\t022\n#SHA_CRYPT_MIN_ROUNDS 5000\nENV_PATH PATH=/usr/bin:/bin\n"
        "umask 000\nUMASK 027\nPASS_MAX_DAYS\n"
    )
    assert hp.login_defs(text) == {
        "UMASK": "027",
        "ENV_PATH": "PATH=/usr/bin:/bin",
        "PASS_MAX_DAYS": "",
    }


@pytest.mark.parametrize(
    ("word", "mask"),
    [
        ("027", 0o027),
        ("0077", 0o077),
        ("u=rwx,g=rx,o=", 0o027),
        ("u=rwx,g=,o=", 0o077),
        ("u=rwx,g=rwx,o=rwx", 0o000),
        ("0o27", None),
        ("a+w", None),
        ("0899", None),
        ("27", None),
        ("\uff10\uff12\uff17", None),
        ("", None),
    ],
)
def test_umask_value_reads_octal_and_symbolic_masks(word: str, mask: int | None) -> None:
    assert hp.umask_value(word) == mask


def test_a_stricter_umask_is_at_least_as_strict_and_an_overlapping_one_is_not() -> None:
    assert hp.at_least_as_strict(0o077, 0o027)
    assert hp.at_least_as_strict(0o027, 0o027)
    assert not hp.at_least_as_strict(0o022, 0o027)
    assert not hp.at_least_as_strict(0o007, 0o027)


def test_profile_umasks_are_read_from_grep_h_lines() -> None:
    text = (
        "/etc/profile.d/telework-umask.sh:umask 027\n"
        "/etc/bash.bashrc:   umask 002 # comment\n"
        "/etc/profile:umask -S\n"
        "relative:umask 000\n"
        "/etc/profile:umask\n"
    )
    assert hp.profile_umasks(text) == [
        ("/etc/profile.d/telework-umask.sh", "027"),
        ("/etc/bash.bashrc", "002"),
    ]


def test_pam_umask_is_found_with_its_umask_argument_and_a_comment_is_not() -> None:
    assert hp.pam_umask("session optional pam_umask.so umask=0027 usergroups\n") == (
        True,
        "0027",
    )
    assert hp.pam_umask("session optional pam_umask.so\n") == (True, None)
    assert hp.pam_umask("# session optional pam_umask.so umask=0000\n") == (False, None)


def test_core_limits_are_the_core_lines_of_four_words() -> None:
    text = (
        "*  hard  core  0\n# *  soft  core  unlimited\n@dev - core unlimited\n"
        "* hard nofile 1024\nroot hard core\n* maybe core 0\n"
    )
    assert hp.core_limits(text) == [
        hp.CoreLimit("*", "hard", "0"),
        hp.CoreLimit("@dev", "-", "unlimited"),
    ]


@pytest.mark.parametrize(("value", "zero"), [("0", True), ("00", True), ("unlimited", False),
                                             ("-1", False), ("\uff10", False), ("1", False)])  # fmt: skip
def test_a_core_limit_is_zero_only_when_pam_limits_reads_zero(value: str, zero: bool) -> None:
    assert hp.limit_is_zero(value) is zero


def test_unit_settings_keep_the_last_value_of_a_key() -> None:
    text = "# /etc/systemd/coredump.conf\n[Coredump]\n#Storage=external\nStorage=external\n"
    text += "; comment\n[Coredump]\nStorage = none\nnot a setting\n"
    assert hp.unit_settings(text) == {"Storage": "none"}


def test_a_line_of_many_megabytes_costs_its_first_characters() -> None:
    start = time.monotonic()
    huge = "UMASK " + "0" * 10**7
    assert hp.login_defs(huge) == {"UMASK": "0" * (512 - len("UMASK "))}
    assert hp.core_limits("* hard core " + "9" * 10**7) == [
        hp.CoreLimit("*", "hard", "9" * (512 - len("* hard core ")))
    ]
    assert time.monotonic() - start < 5
