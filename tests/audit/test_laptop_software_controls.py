"""LAP-10 (office macros), LAP-11 (browser) and LAP-12 (unapproved software) on canned
laptop answers: each passes on what role laptop configures, fails on the weakness it
names, and meets hostile files (XML bombs, JSON of every wrong shape) with a failure that
says so, never a crash."""

from __future__ import annotations

import pytest

from tests.audit.conftest import Answer, fake_context
from tests.audit.laptop_fixtures import (
    DEBIAN_SOURCES,
    DPKG,
    FIREFOX_POLICY,
    MACROS_XCD,
    NOW,
    judge,
)
from toolkit import hacking_tools
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, Status

# --- LAP-10 --------------------------------------------------------------------------------

XCD = "/etc/libreoffice/registry/telework-macros.xcd"
MAIN = "/etc/libreoffice/registry/main.xcd"


def office(xcd: str = MACROS_XCD, size: int | None = None) -> dict[str, Answer | str]:
    return {
        "dpkg-query -W": DPKG,
        "find -L /etc/libreoffice/registry ": (
            f"{NOW}.1 4194304 {MAIN}\n{NOW}.1 {len(xcd) if size is None else size} {XCD}\n"
        ),
        f"cat -- {XCD}$": xcd,
    }


def test_lap10_the_roles_finalized_very_high_level_passes(catalogue: Catalogue) -> None:
    ctx = fake_context(office())
    outcome = judge(catalogue, "LAP-10", {}, ctx=ctx)
    assert outcome.summary == f"MacroSecurityLevel 3 finalized in {XCD}"
    assert f"cat -- {MAIN}" not in ctx.host.commands  # type: ignore[union-attr]


def test_lap10_a_laptop_without_libreoffice_passes(catalogue: Catalogue) -> None:
    answers = {"dpkg-query -W": DPKG.replace("libreoffice-core ii ", "libreoffice-core rc ")}
    outcome = judge(catalogue, "LAP-10", answers)
    assert outcome.summary == "no office suite installed (libreoffice-core)"


def test_lap10_a_level_below_the_minimum_fails_high_or_very_high_pass(
    catalogue: Catalogue,
) -> None:
    low = judge(catalogue, "LAP-10", office(MACROS_XCD.replace("<value>3<", "<value>1<")))
    assert low.summary.startswith(f"{XCD} sets MacroSecurityLevel '1' (at least 2); no .xcd")
    high = office(MACROS_XCD.replace("<value>3<", "<value>2<"))
    assert judge(catalogue, "LAP-10", high).summary == (f"MacroSecurityLevel 2 finalized in {XCD}")
    strict = judge(catalogue, "LAP-10", high, min_level=3)
    assert strict.summary.startswith(f"{XCD} sets MacroSecurityLevel '2' (at least 3)")


def test_lap10_a_level_the_user_may_lower_fails(catalogue: Catalogue) -> None:
    answers = office(MACROS_XCD.replace('oor:op="fuse" oor:finalized="true">\n          <value>3', 'oor:op="fuse">\n          <value>3'))  # fmt: skip
    outcome = judge(catalogue, "LAP-10", answers)
    assert outcome.summary.startswith(
        "no .xcd file of /etc/libreoffice/registry sets MacroSecurityLevel 2 or more finalized"
    )


def test_lap10_a_node_finalized_above_the_property_finalizes_it(catalogue: Catalogue) -> None:
    xcd = MACROS_XCD.replace('oor:finalized="true"', "").replace(
        '<node oor:name="Scripting">', '<node oor:name="Scripting" oor:finalized="true">'
    )
    assert judge(catalogue, "LAP-10", office(xcd)).status is Status.PASS


def test_lap10_macros_disabled_altogether_and_finalized_pass(catalogue: Catalogue) -> None:
    start = MACROS_XCD.index('<prop oor:name="MacroSecurityLevel"')
    end = MACROS_XCD.index('<prop oor:name="DisableMacrosExecution"')
    xcd = (MACROS_XCD[:start] + MACROS_XCD[end:]).replace("<value>false<", "<value>true<")
    outcome = judge(catalogue, "LAP-10", office(xcd))
    assert outcome.summary == f"macros disabled, finalized in {XCD}"


def test_lap10_the_level_elsewhere_than_common_security_scripting_does_not_count(
    catalogue: Catalogue,
) -> None:
    xcd = MACROS_XCD.replace('oor:name="Scripting"', 'oor:name="Elsewhere"')
    assert judge(catalogue, "LAP-10", office(xcd)).status is Status.FAIL


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<oor:data xmlns:oor="http://openoffice.org/2001/registry">&lol2;</oor:data>
"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/shadow">]>
<oor:data xmlns:oor="http://openoffice.org/2001/registry"><v>&xxe;</v></oor:data>
"""


@pytest.mark.parametrize(
    ("xcd", "message"),
    [
        (BILLION_LAUGHS, "not read: a DOCTYPE or an entity declaration"),
        (EXTERNAL, "not read: a DOCTYPE or an entity declaration"),
        ("<oor:data>", "not XML LibreOffice reads"),
        ("\x00\xff garbage", "not XML LibreOffice reads"),
        ("<a>" * 100 + "</a>" * 100, "not read: elements nested deeper than 64"),
        ("<a>" + "x" * 300_000 + "</a>", "over 262144 bytes: not read"),
    ],
)
def test_lap10_a_hostile_registry_file_fails_naming_it_never_parsed_further(
    catalogue: Catalogue, xcd: str, message: str
) -> None:
    outcome = judge(catalogue, "LAP-10", office(xcd, size=len(xcd) % 1000))
    assert outcome.status is Status.FAIL
    assert f"{XCD}: {message}" in outcome.summary


def test_lap10_a_registry_file_over_the_cap_is_a_warning_and_not_read(
    catalogue: Catalogue,
) -> None:
    ctx = fake_context(office(size=10_000_000))
    outcome = judge(catalogue, "LAP-10", {}, ctx=ctx)
    assert outcome.status is Status.FAIL
    assert outcome.details == [f"{XCD}: over 262144 bytes, not judged"]
    assert f"cat -- {XCD}" not in ctx.host.commands  # type: ignore[union-attr]


# --- LAP-11 --------------------------------------------------------------------------------

POLICY = "/etc/firefox/policies/policies.json"
FIREFOX = {
    "dpkg-query -W": DPKG,
    "apt-get -s": "Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.12/stable [all])\n",
    "find -L /etc/firefox/policies/policies.json ": f"{NOW}.1 400 {POLICY}\n",
    f"cat -- {POLICY}$": FIREFOX_POLICY,
}


def test_lap11_current_firefox_esr_with_the_roles_policy_passes(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "LAP-11", FIREFOX)
    assert outcome.summary == (
        "firefox-esr 128.5.0esr-1~deb12u1 current; firefox-esr: extensions blocked but 1 "
        "allowed (uBlock0@raymondhill.net); updates by apt only (DisableAppUpdate)"
    )


def test_lap11_a_pending_security_update_fails_another_warns(catalogue: Catalogue) -> None:
    security = "Inst firefox-esr [128.5.0esr-1~deb12u1] (128.6.0esr-1~deb12u1 Debian-Security:12/stable-security [amd64])\n"
    outcome = judge(catalogue, "LAP-11", {**FIREFOX, "apt-get -s": security})
    assert outcome.summary == (
        "firefox-esr 128.5.0esr-1~deb12u1 -> 128.6.0esr-1~deb12u1 pending (security update)"
    )
    other = security.replace("Debian-Security:12/stable-security", "Debian:12.9/stable")
    warned = judge(catalogue, "LAP-11", {**FIREFOX, "apt-get -s": other})
    assert warned.status is Status.WARN


def test_lap11_no_browser_fails(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "LAP-11", {"dpkg-query -W": "bash ii  5.2\n"})
    assert outcome.summary == "no supported browser installed (firefox-esr, firefox, chromium)"


def test_lap11_no_policy_anywhere_lets_any_extension_in(catalogue: Catalogue) -> None:
    answers = {**FIREFOX, "find -L /etc/firefox/policies/policies.json ": ""}
    outcome = judge(catalogue, "LAP-11", answers)
    assert outcome.summary == (
        "firefox-esr: no enterprise policy (/etc/firefox/policies/policies.json): "
        "any extension may be installed"
    )


def test_lap11_the_distribution_policy_counts_when_etc_has_none(catalogue: Catalogue) -> None:
    dist = "/usr/lib/firefox-esr/distribution/policies.json"
    answers = {
        **FIREFOX,
        "find -L /etc/firefox/policies/policies.json ": f"{NOW}.1 400 {dist}\n",
        f"cat -- {dist}$": FIREFOX_POLICY,
    }
    assert judge(catalogue, "LAP-11", answers).status is Status.PASS


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ('{"policies": {}}', "no ExtensionSettings object: every extension may be installed"),
        ('{"policies": {"ExtensionSettings": "blocked"}}', "no ExtensionSettings object"),
        ('{"policies": {"ExtensionSettings": {"*": []}}}', "installation_mode is not set"),
        (
            '{"policies": {"ExtensionSettings": {"*": {"installation_mode": "allowed"}}}}',
            'ExtensionSettings "*" installation_mode is allowed, not blocked',
        ),
        ('{"policies": []}', 'no "policies" object'),
        ("[1, 2]", "JSON list, not an object: Firefox ignores it"),
        ("{" * 100_000, "not JSON"),
        ('{"a": ' + "9" * 5000 + "}", "not JSON"),
        ("\x00\x1b[2J", "not JSON"),
    ],
)
def test_lap11_a_policy_of_the_wrong_shape_fails_saying_what_is_wrong(
    catalogue: Catalogue, policy: str, message: str
) -> None:
    answers = {
        **FIREFOX,
        "find -L /etc/firefox/policies/policies.json ": f"{NOW}.1 {len(policy) % 1000} {POLICY}\n",
        f"cat -- {POLICY}$": policy,
    }
    outcome = judge(catalogue, "LAP-11", answers)
    assert outcome.status is Status.FAIL
    assert message in outcome.summary


def test_lap11_chromium_needs_a_blocklist_of_everything(catalogue: Catalogue) -> None:
    managed = "/etc/chromium/policies/managed"
    answers = {
        "dpkg-query -W": "chromium ii  131.0.6778.85-1~deb12u1\n",
        "apt-get -s": "",
        f"find -L {managed} ": f"{NOW}.1 80 {managed}/telework.json\n",
        f"cat -- {managed}/telework.json$": '{"ExtensionInstallBlocklist": ["*"]}',
    }
    assert judge(catalogue, "LAP-11", answers).status is Status.PASS
    answers[f"cat -- {managed}/telework.json$"] = '{"ExtensionInstallBlocklist": ["bad"]}'
    outcome = judge(catalogue, "LAP-11", answers)
    assert outcome.summary.startswith(f"chromium: no policy of {managed} blocks extensions")


# --- LAP-12 --------------------------------------------------------------------------------

SOURCES = "/etc/apt/sources.list.d/debian.sources"
CLEAN = {
    "dpkg-query -W": DPKG,
    "for n in": "",
    "find -L /etc/apt/sources.list ": f"{NOW}.1 400 {SOURCES}\n",
    f"cat -- {SOURCES}$": DEBIAN_SOURCES,
    "flatpak/app": "",
}


def test_lap12_debian_packages_only_from_debian_pass(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "LAP-12", CLEAN)
    assert outcome.summary == (
        f"none of {len(hacking_tools.deny_list())} hacking tools; APT sources only from "
        "deb.debian.org, security.debian.org; no Flatpak or snap application outside the "
        "allow-list"
    )


def test_lap12_hacking_tools_as_packages_or_programs_fail(catalogue: Catalogue) -> None:
    answers = {
        **CLEAN,
        "dpkg-query -W": DPKG + "nmap ii  7.93+dfsg1-1\n",
        "for n in": "/usr/local/bin/hashcat\n/home/ag0001/.local/bin/sqlmap\n",
    }
    outcome = judge(catalogue, "LAP-12", answers)
    assert outcome.summary == "hacking tools installed: hashcat, nmap, sqlmap"


def test_lap12_judges_the_same_list_byod05_looks_for_plus_its_own_names(
    catalogue: Catalogue,
) -> None:
    ctx = fake_context({**CLEAN, "dpkg-query -W": DPKG + "netcat-openbsd ii  1.219-1\n"})
    outcome = judge(catalogue, "LAP-12", {}, ctx=ctx, deny=["netcat-openbsd"])
    assert outcome.summary == "hacking tools installed: netcat-openbsd"
    search = next(c for c in ctx.host.commands if "for n in" in c)  # type: ignore[union-attr]
    assert all(f" {name}" in search for name in hacking_tools.deny_list())
    assert catalogue.controls["BYOD-05"].spec.params["deny"] == []


def test_lap12_a_deny_name_that_is_not_a_name_is_an_error(catalogue: Catalogue) -> None:
    with pytest.raises(ControlError, match=r"deny: '\$\(reboot\)' is not a package or program"):
        judge(catalogue, "LAP-12", CLEAN, deny=["$(reboot)"])


def test_lap12_sources_outside_debian_fail_in_both_formats(catalogue: Catalogue) -> None:
    one_line = "/etc/apt/sources.list.d/vscode.list"
    answers = {
        **CLEAN,
        "find -L /etc/apt/sources.list ": f"{NOW}.1 400 {SOURCES}\n{NOW}.1 90 {one_line}\n",
        f"cat -- {SOURCES}$": DEBIAN_SOURCES
        + "\nTypes: deb\nURIs: https://download.docker.com/linux/debian\nSuites: x\n"
        + "\nEnabled: no\nURIs: http://off.example.test/debian\n",
        f"cat -- {one_line}$": "# comment\ndeb [arch=amd64 signed-by=/k.gpg] "
        "https://packages.microsoft.com/repos/code stable main\n",
    }
    outcome = judge(catalogue, "LAP-12", answers)
    assert outcome.summary == (
        f"APT source https://download.docker.com/linux/debian ({SOURCES}) is not an allowed "
        f"host; APT source https://packages.microsoft.com/repos/code ({one_line}) is not an "
        "allowed host"
    )


def test_lap12_flatpak_and_snap_applications_outside_the_allow_list_fail(
    catalogue: Catalogue,
) -> None:
    apps = (
        "/var/lib/flatpak/app/org.mozilla.firefox\n/home/ag0001/.local/share/flatpak/app/"
        "com.spotify.Client\n/snap/bin\n/snap/core22\n/snap/snapd\n/snap/telegram-desktop\n"
    )
    answers = {**CLEAN, "flatpak/app": apps}
    outcome = judge(catalogue, "LAP-12", answers)
    assert outcome.summary == (
        "applications outside the allow-list: flatpak org.mozilla.firefox, "
        "flatpak com.spotify.Client, snap telegram-desktop"
    )
    allowed = ["org.mozilla.firefox", "com.spotify.Client", "telegram-desktop"]
    assert judge(catalogue, "LAP-12", answers, allowed_apps=allowed).status is Status.PASS


def test_lap12_hostile_sources_and_listings_fail_or_err_never_crash(
    catalogue: Catalogue,
) -> None:
    junk = "deb [\ndeb [unterminated\ndeb http://[::1/ x\nURIs:\n\x00\x1b[2J\n" * 100
    listed = "/etc/apt/sources.list"
    answers = {
        **CLEAN,
        "find -L /etc/apt/sources.list ": f"{NOW}.1 400 {SOURCES}\n{NOW}.1 700 {listed}\n",
        f"cat -- {SOURCES}$": junk,
        f"cat -- {listed}$": junk,
        "flatpak/app": "\x1b[2J\nrelative\n",
    }
    outcome = judge(catalogue, "LAP-12", answers)
    assert outcome.summary == f"APT source http://[::1/ ({listed}) is not an allowed host"
    answers["find -L /etc/apt/sources.list "] = f"{NOW} 1 /etc/apt/../../root/.ssh/id_rsa\n"
    with pytest.raises(ControlError, match="unexpected line where files were listed"):
        judge(catalogue, "LAP-12", answers)
