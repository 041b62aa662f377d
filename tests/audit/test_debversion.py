"""Debian version comparison (toolkit.controls.debversion) agrees with dpkg."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.controls.debversion import VersionError, at_least, compare


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("1.0~rc1", "1.0"),  # a tilde sorts before the end of the string
        ("1.0~~", "1.0~"),
        ("1.0", "1.0+deb12u1"),  # a stable update is newer
        ("1.0.6-2+deb12u1", "1.0.6-2+deb12u2"),
        ("1.0.20210914-1", "1.0.20210914-1+b1"),  # a binary rebuild is newer
        ("1.9", "1.10"),  # digits compare as numbers
        ("1.0", "1.0a"),  # letters sort after the end
        ("1.0a", "1.0+"),  # and before other characters
        ("9.9", "1:0.1"),  # the epoch wins
        ("1.0", "1.0-1"),
        ("0.0.20220316-1+b4", "0.0.20230223-1"),
    ],
)
def test_the_older_version_compares_below_the_newer(older: str, newer: str) -> None:
    assert compare(older, newer) < 0
    assert compare(newer, older) > 0
    assert at_least(newer, older)
    assert not at_least(older, newer)


@pytest.mark.parametrize(("a", "b"), [("1.0", "1.0-0"), ("0:1.0-1", "1.0-1"), ("1.01", "1.1")])
def test_spellings_of_one_version_are_equal(a: str, b: str) -> None:
    assert compare(a, b) == 0


@pytest.mark.parametrize("text", ["", "abc", "1:", "x:1.0", "1.0-", "1.0-r/1", "1 0", "²"])
def test_text_that_is_not_a_debian_version_is_refused(text: str) -> None:
    with pytest.raises(VersionError):
        compare(text, "1.0")


_PART = st.text(alphabet="0123456789.+~ab", min_size=0, max_size=6)
VERSIONS = st.builds(
    lambda epoch, up, rev: f"{epoch}{up}{rev}",
    st.sampled_from(["", "1:", "0:"]),
    st.builds(lambda d, rest: d + rest, st.sampled_from("0123456789"), _PART),
    st.one_of(
        st.just(""),
        st.builds(lambda r: "-" + r, st.text(alphabet="0123456789.+~b", min_size=1, max_size=5)),
    ),
)


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is the reference")
@settings(max_examples=150, deadline=None)
@given(VERSIONS, VERSIONS)
def test_every_comparison_agrees_with_dpkg(a: str, b: str) -> None:
    ours = compare(a, b)
    expected = "lt" if ours < 0 else "gt" if ours > 0 else "eq"
    result = subprocess.run(  # the reference: dpkg itself
        ["dpkg", "--compare-versions", a, expected, b], capture_output=True, timeout=10, check=False
    )
    assert result.returncode == 0, f"dpkg does not find {a} {expected} {b}"
