"""The macOS collector on recorded outputs of sw_vers, softwareupdate --history, spctl,
system_profiler, sysadminctl, defaults and id, judged by the review's controls (M9)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.byod.conftest import SEARCH, Computer, collector, judged, recorded
from toolkit.audit.model import Status

BROWSER = "defaults read /Applications/{}.app/Contents/Info.plist CFBundleShortVersionString"
CURRENT = {
    "sw_vers": "sw_vers",
    "softwareupdate --history": "softwareupdate-history",
    "spctl --status": "spctl-status",
    "system_profiler SPAirPortDataType": "system_profiler-wpa2",
    "sysadminctl -screenLock status": "sysadminctl-immediate",
    "defaults -currentHost read com.apple.screensaver idleTime": "idleTime",
    "id -Gn": "id-standard",
    "id -u": "id-uid",
    BROWSER.format("Safari"): "safari-version",
    BROWSER.format("Firefox"): "firefox-version",
}


def mac_facts(computer: Computer, table: Mapping[str, str | None]) -> dict[str, Any]:
    found: dict[str, Any] = collector.Collector(
        SEARCH,
        system="Darwin",
        run=recorded("macos", table),
        home=computer.home,
        path_dirs=[str(computer.bin)],
    ).facts()
    return found


def test_a_current_mac_reads_its_release_updates_xprotect_browsers_wifi_and_lock(
    computer: Computer,
) -> None:
    facts = mac_facts(computer, CURRENT)
    assert facts["problems"] == []
    assert facts["os"] == {
        "family": "macos",
        "id": "macos",
        "name": "macOS",
        "version": "15.7.2",
        "build": "24G325",
        "genuine": None,
    }
    # Safari and XProtect rows are not OS updates; the Background Security one is.
    assert facts["last_update"] == "2026-11-17"
    assert facts["antivirus"] == [{"name": "XProtect", "running": True, "signatures": "2026-11-21"}]
    assert facts["browsers"] == [
        {"name": "firefox", "version": "146.0"},
        {"name": "safari", "version": "26.1"},
    ]
    assert facts["wifi"] == {"connected": True, "security": "WPA2 Personal", "cipher": ""}
    assert facts["session"]["admin"] is False
    assert (facts["session"]["lock_enabled"], facts["session"]["lock_after_s"]) == (True, 600)
    assert set(judged(facts).values()) == {Status.PASS}


def test_an_old_mac_fails_release_updates_antivirus_browser_wifi_and_account(
    computer: Computer,
) -> None:
    table = {
        **CURRENT,
        "sw_vers": "sw_vers-ventura",
        "softwareupdate --history": "softwareupdate-history-old",
        "system_profiler SPAirPortDataType": "system_profiler-wep",
        "sysadminctl -screenLock status": "sysadminctl-off",
        "id -Gn": "id-admin",
        BROWSER.format("Google Chrome"): "chrome-old-version",
    }
    facts = mac_facts(computer, table)
    assert facts["browsers"][0] == {"name": "chrome", "version": "131.0.6778.205"}
    status = judged(facts)
    for cid in ("BYOD-01", "BYOD-02", "BYOD-03", "BYOD-04", "BYOD-07", "BYOD-08"):
        assert status[cid] is Status.FAIL, cid
    assert (status["BYOD-05"], status["BYOD-06"]) == (Status.PASS, Status.PASS)


def test_a_failing_softwareupdate_is_a_problem_and_an_error_not_a_pass(
    computer: Computer,
) -> None:
    facts = mac_facts(computer, {**CURRENT, "softwareupdate --history": None})
    assert facts["last_update"] is None and facts["antivirus"] is None
    assert {p["fact"] for p in facts["problems"]} == {"last_update", "antivirus"}
    status = judged(facts)
    assert (status["BYOD-02"], status["BYOD-03"]) == (Status.ERROR, Status.ERROR)
