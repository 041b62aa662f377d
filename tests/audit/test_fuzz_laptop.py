"""Fuzz of the LAP controls: whatever a laptop answers (listings, dconf keyfiles, module
configuration, XML, JSON, passwd, handshakes, APT sources), each control ends with an
Outcome or the project's own ControlError, and everything it says comes out of the
results model printable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.audit.laptop_fixtures import (
    DEBIAN_SOURCES,
    FIREFOX_POLICY,
    KEYFILE,
    LOCKS,
    MACROS_XCD,
    NOW,
    PASSWD,
)
from tests.audit.test_fuzz_parsers import (
    ANY_TEXT,
    HOSTILE,
    assert_printable,
    drawing_context,
    judge,
)
from tests.fuzz import FUZZ
from toolkit.audit.model import ControlError
from toolkit.controls import laptop_parsers as parsers

LAP = [f"LAP-{i:02d}" for i in range(1, 13)]

#: Whole answers and lines of them, so that a drawn answer sometimes gets far into a control.
LINES = [
    f"{NOW}.5 300 /etc/dconf/db/local.d/00-telework-laptop",
    f"{NOW}.5 300 /etc/dconf/db/local.d/locks/00-telework-laptop",
    f"{NOW + 1}.5 4096 /etc/dconf/db/local",
    f"{NOW}.1 900 /etc/libreoffice/registry/telework-macros.xcd",
    f"{NOW}.1 400 /etc/firefox/policies/policies.json",
    f"{NOW}.1 400 /etc/apt/sources.list.d/debian.sources",
    f"{NOW}.1 400 /etc/apt/sources.list",
    f"{NOW}.1 99999999 /etc/apt/sources.list",
    "user-db:user",
    "system-db:local",
    "install usb_storage /bin/false",
    "blacklist uas",
    "/dev/mapper/root ext4",
    "root_crypt crypt",
    "active",
    "enabled",
    "3600 /var/lib/clamav/daily.cld",
    f"{'G' * 42}A=\t{NOW - 5}",
    str(NOW),
    "firefox-esr ii  128.5.0esr-1",
    "libreoffice-core ii  4:7.4.7-1",
    "nmap ii  7.93",
    "admin",
    "sudo:x:27:admin,ag0001",
    "User ag0001 is not allowed to run sudo on laptop01.",
    "deb http://evil.example.test/debian stable main",
    "/snap/telegram-desktop",
]
WHOLE = [KEYFILE, LOCKS, MACROS_XCD, FIREFOX_POLICY, DEBIAN_SOURCES, PASSWD]
_WORD = st.one_of(st.sampled_from(LINES), HOSTILE, ANY_TEXT)
_LINE = st.lists(_WORD, max_size=4).map(" ".join)
ANSWER = st.one_of(
    st.lists(_LINE, max_size=8).map("\n".join),
    st.sampled_from(WHOLE),
    st.sampled_from(WHOLE).map(lambda t: t.replace("3", "\u00b3").replace('"', "")),
)


@pytest.mark.parametrize("control", LAP)
@FUZZ
@given(data=st.data())
def test_a_lap_control_reads_any_answer_without_crashing(control: str, data: st.DataObject) -> None:
    assert_printable(judge(control, drawing_context(data, ANSWER)))


# --- the parsers on their own ----------------------------------------------------------------


@FUZZ
@given(text=ANSWER)
def test_the_xcd_reader_gives_settings_or_a_control_error(text: str) -> None:
    try:
        settings = parsers.office_settings(text)
    except ControlError:
        return
    assert all(s.name in parsers.MACRO_PROPS and len(s.value) < 200 for s in settings)


@FUZZ
@given(text=ANSWER)
def test_the_json_reader_gives_an_object_or_a_control_error(text: str) -> None:
    try:
        policy = parsers.json_object(text)
    except ControlError:
        return
    problems, allowed = parsers.firefox_extensions(policy)
    assert all(isinstance(x, str) for x in (*problems, *allowed))
    assert isinstance(parsers.chromium_blocks_all(policy), bool)


@FUZZ
@given(text=ANSWER, deb822=st.booleans())
def test_the_sources_reader_gives_uris_whose_hosts_are_text(text: str, deb822: bool) -> None:
    for uri in parsers.source_uris(text, deb822):
        assert isinstance(parsers.uri_host(uri), str)
