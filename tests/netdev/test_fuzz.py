"""Fuzz tests of what reads device text: the FortiOS parser either builds a tree or says
which line it refuses (never another exception), every NET judge gives a verdict on any
configuration the parsers accept, and a masked line never shows its secret."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import FUZZ
from tests.netdev.conftest import net_catalogue
from toolkit.controls.network import JUDGES
from toolkit.controls.network_common import redact
from toolkit.netdev import fortios
from toolkit.netdev.collect import parsed
from toolkit.netdev.model import DeviceError, DeviceSpec
from toolkit.netdev.platforms import Platform

CATALOGUE = net_catalogue()
WORDS = st.sampled_from(
    [
        "config",
        "edit",
        "set",
        "unset",
        "append",
        "next",
        "end",
        '"',
        "'",
        "\\",
        "#x",
        "all",
        "system admin",
        "firewall policy",
        "accept",
        "ALL",
        "10.0.0.0 255.0.0.0",
        "",
        "\t",
    ]
)
LINES = st.lists(st.lists(WORDS, max_size=5).map(" ".join), max_size=30).map("\n".join)
CISCO = st.sampled_from(
    [
        "interface Gi0/0",
        " ip access-group A in",
        "ip access-list extended A",
        " permit ip any any",
        " deny ip any any log",
        "line vty 0 4",
        " transport input all",
        " exec-timeout 0 0",
        "snmp-server community x RO",
        "enable secret 5 $1$x",
        "access-group A in interface outside",
        "access-list A extended permit ip any any",
        "ssh version 1",
        "banner motd ^C",
        "^C",
        "login block-for x attempts y within z",
        "!",
        "ip ssh dh min size many",
        "username u privilege 15 secret",
        "version 17.9",
        "end",
    ]
)


@FUZZ
@given(LINES)
def test_the_fortios_parser_builds_a_tree_or_names_the_line_it_refuses(text: str) -> None:
    refused = ""
    try:
        tree = fortios.parse(text)
    except fortios.ParseError as exc:
        refused = str(exc)
    if refused:
        assert refused.startswith("line ")
    else:
        assert all(n.kind in {"root", "config", "edit"} for n in tree.root.walk())


def _judged(platform: Platform, text: str) -> None:
    try:
        device = parsed(DeviceSpec("fz", platform, "h"), text, "", "fuzz", None)
    except DeviceError:
        return
    for cid, judge in JUDGES[platform].items():
        verdict = judge(device, CATALOGUE.controls[cid].spec.params)
        assert verdict.problems or verdict.ok


@FUZZ
@given(st.lists(CISCO, max_size=25).map("\n".join), st.sampled_from([Platform.IOS, Platform.ASA]))
def test_every_cisco_judge_gives_a_verdict_on_any_configuration(
    text: str, platform: Platform
) -> None:
    _judged(platform, text)


@FUZZ
@given(LINES)
def test_every_fortios_judge_gives_a_verdict_on_any_configuration(text: str) -> None:
    _judged(Platform.FORTIOS, text)


@FUZZ
@given(
    st.sampled_from(
        ["secret 9", "password 7", "password", "community", "key 7", "set psksecret ENC"]
    ),
    st.from_regex(r"[A-Za-z0-9$/.=]{6,30}", fullmatch=True),
)
def test_a_masked_line_never_shows_its_secret(keyword: str, secret: str) -> None:
    assert redact(f"username u {keyword} {secret} extra") == f"username u {keyword} ***** extra"
