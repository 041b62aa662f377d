"""The configuration parsers: realistic configurations of hundreds of lines (banners,
nested sections, interface ranges, ACLs, crypto maps, multi-line certificates) parse
without error; FortiOS text that is not a configuration is refused naming its line; the
collector only ever lets read-only lines reach a device; unknown platforms are one clear
error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.netdev.conftest import CONFIGS, config
from toolkit.adapters.ansible import InventoryHost
from toolkit.adapters.ssh import Endpoint
from toolkit.controls.network_ios import firewall
from toolkit.errors import InvalidInputError
from toolkit.netdev import fortios
from toolkit.netdev.collect import (
    READ_ONLY,
    ReadOnlyIOS,
    WriteRefusedError,
    ask,
    clean,
    complete,
    parsed,
)
from toolkit.netdev.inventory import device_of
from toolkit.netdev.ios import CiscoConfig
from toolkit.netdev.model import DeviceError, DeviceSpec
from toolkit.netdev.platforms import COMMANDS, Platform, UnknownPlatformError, platform_of


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.cfg")), ids=lambda p: p.name)
def test_every_fixture_configuration_is_realistic_and_parses(path: Path) -> None:
    text = path.read_text()
    assert len(text.splitlines()) >= 300
    if path.name.startswith("fortios"):
        tree = fortios.parse(text)
        assert len(tree.blocks("firewall address")[0].entries) > 40
    else:
        platform = Platform.ASA if path.name.startswith("asa") else Platform.IOS
        assert CiscoConfig(text, platform).top(r"(crypto map|access-list|ip access-list)")


def test_ios_banner_text_is_never_taken_for_commands() -> None:
    cfg = CiscoConfig(config(Platform.IOS, "compliant").read_text(), Platform.IOS)
    vty = [s.head.text for s in cfg.sections(r"line vty\b")]
    assert vty == ["line vty 0 4", "line vty 5 15"]  # not the banner's "line vty 0 4 is ..."
    banner = cfg.sections(r"banner login\b")[0]
    assert any("transport input telnet" in ln.text for ln in banner.body)


def test_ios_sections_keep_nested_lines_and_interface_ranges() -> None:
    cfg = CiscoConfig(config(Platform.IOS, "compliant").read_text(), Platform.IOS)
    policy = cfg.sections(r"policy-map PM-WAN-OUT$")[0]
    assert [ln.words for ln in policy.body][:2] == ["class CM-VOICE", "priority percent 20"]
    ranges = cfg.sections(r"interface range ")
    assert ranges[0].head.text == "interface range GigabitEthernet0/1/0 - 7"
    assert len(cfg.sections(r"interface GigabitEthernet0/0/1\.")) == 40


def test_fortios_nested_blocks_entries_and_multiline_quoted_values() -> None:
    tree = fortios.parse(config(Platform.FORTIOS, "compliant").read_text())
    assert tree.version_header.startswith("FG100F-7.2.10-FW-build1706")
    ntp = tree.block("system ntp")
    assert ntp is not None and ntp.value("ntpsync") == "enable"
    assert [e.value("server") for e in tree.blocks("ntpserver")[0].entries] == [
        "10.20.0.11",
        "10.20.0.12",
    ]
    local = tree.block("vpn certificate local")
    assert local is not None
    key = local.entries[0].value("private-key")
    assert key.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n") and "\nend\nnext\n" in key
    banner = tree.blocks("system replacemsg admin pre_admin-disclaimer-text")[0].value("buffer")
    assert 'config system admin -- this is banner text, "not" a command' in banner
    admins = tree.block("system admin")
    assert admins is not None and [e.name for e in admins.entries] == ["netadmin", "tacacs-admins"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("config system global\n    set a 1\n", "line 1: `config system global` is never closed"),
        ("config a\n    edit 1\n    end\nend\n", "line 4: `end` without an open `config`"),
        ("next\n", "line 1: `next` without an open `edit`"),
        ("set hostname x\n", "line 1: `set` outside any config block"),
        ('config a\n    set b "open\nend\n', "line 2: a quoted value is never closed"),
        ("config a\n    edit 1 2\n", "line 2: `edit NAME` belongs in a config block"),
        ("config a\n    rename 1 to 2\nend\n", "line 2: unknown statement 'rename'"),
    ],
)
def test_fortios_text_that_is_no_configuration_is_refused_naming_the_line(
    text: str, error: str
) -> None:
    with pytest.raises(fortios.ParseError) as exc:
        fortios.parse(text)
    assert str(exc.value) == error


def test_unset_append_and_end_closing_the_last_entry() -> None:
    tree = fortios.parse(
        "config firewall addrgrp\n edit g\n  set member a\n  append member b c\n"
        "  set comment x\n  unset comment\n end\n"
    )
    group = tree.blocks("firewall addrgrp")[0].entries[0]
    assert group.value("member") == "a b c" and group.get("comment") is None


def test_the_collector_lets_only_read_only_lines_reach_a_device() -> None:
    for commands in COMMANDS.values():
        assert READ_ONLY.match(commands.version) and READ_ONLY.match(commands.running)
    for line in ("terminal length 0", "terminal pager 0", "enable", "", "exit"):
        assert READ_ONLY.match(line)
    guarded = object.__new__(ReadOnlyIOS)  # never connected: refusals come first
    for line in (
        "configure terminal",
        "config system console",
        "write memory",
        "reload",
        "show run\nconf t",
        "copy running-config tftp:",
        "show running-config | redirect tftp://192.0.2.9/r1.cfg",
        "set output standard",
    ):
        with pytest.raises(WriteRefusedError, match="read-only"):
            guarded.write_channel(line + "\n")


def test_an_answer_loses_its_echo_pager_marks_and_prompt() -> None:
    raw = "show running-config\r\nhostname r1\r\n --More-- \x08\x08\x08\x08\x08\x08\x08\x08\x08\x08!\r\nend\r\nr1#"
    assert clean(raw, "show running-config") == "hostname r1\n!\nend"


def test_an_unknown_network_os_is_one_clear_error(tmp_path: Path) -> None:
    assert platform_of("cisco.ios.ios") is Platform.IOS
    assert platform_of("FortiOS") is Platform.FORTIOS
    with pytest.raises(UnknownPlatformError, match="unknown network OS 'junos'"):
        platform_of("junos")
    host = InventoryHost(
        "mx1", {"ansible_network_os": "junipernetworks.junos.junos"}, frozenset({"network_devices"})
    )
    with pytest.raises(InvalidInputError) as exc:
        device_of(host, Endpoint("192.0.2.9"), tmp_path, None)
    assert [str(p) for p in exc.value.problems] == [
        f"{tmp_path}:1: mx1.ansible_network_os: unknown network OS "
        "'junipernetworks.junos.junos' (known: cisco.asa.asa, cisco.ios.ios, "
        "fortinet.fortios.fortios)"
    ]
    server = InventoryHost("srv", {}, frozenset({"servers"}))
    assert device_of(server, Endpoint("192.0.2.10"), tmp_path, None) is None


class _Scripted:
    """A device channel that answers with the chunks given, one per read."""

    base_prompt = "r1"
    RETURN = "\n"

    def __init__(self, *chunks: str) -> None:
        self.chunks = list(chunks)
        self.sent: list[str] = []

    def write_channel(self, data: str) -> None:
        self.sent.append(data)

    def read_channel(self) -> str:
        return self.chunks.pop(0) if self.chunks else ""


def test_a_line_that_looks_like_the_prompt_does_not_end_the_answer() -> None:
    device = _Scripted("show running-config\nhostname r1\n", "r1#", "\nbanner x\nend\nr1#")
    assert ask(device, "show running-config", timeout=2, max_output=10_000) == (
        "hostname r1\nr1#\nbanner x\nend"
    )
    paged = _Scripted("show run\nline 1\n --More-- ", "\x08\x08\x08line 2\nend\nr1>")
    assert ask(paged, "show run", timeout=2, max_output=10_000) == "line 1\nline 2\nend"
    assert paged.sent == ["show run\n", " "]


def test_a_configuration_cut_short_is_refused() -> None:
    assert complete("hostname r1\nend\n", "show running-config") == "hostname r1\nend\n"
    assert complete(": Saved\nhostname fw\n: end", "show running-config")
    with pytest.raises(DeviceError, match="cut short"):
        complete("hostname r1\ninterface Gi0/0\n", "show running-config")


def test_an_ios_access_list_ending_on_a_remark_is_judged_by_its_last_entry() -> None:
    text = (
        "interface Gi0/0\n ip access-group EDGE in\n!\nip access-list extended EDGE\n"
        " 10 permit tcp any host 192.0.2.1 eq 443\n 20 deny ip any any log\n"
        " 30 remark end of the list\nend\n"
    )
    device = parsed(DeviceSpec("r", Platform.IOS, "h"), text, "", "t", None)
    verdict = firewall(device, {})
    assert verdict.problems == []
    worse = parsed(DeviceSpec("r", Platform.IOS, "h"), text.replace(" log\n", "\n"), "", "t", None)
    assert firewall(worse, {}).problems == [
        "access list EDGE ends on an unlogged implicit deny (line 6: `20 deny ip any any`)"
    ]
