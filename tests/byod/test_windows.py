"""The Windows report: the PowerShell collector reports the outputs of Windows' own
commands (Win32_OperatingSystem, SoftwareLicensingProduct, Win32_QuickFixEngineering,
Get-MpComputerStatus, SecurityCenter2 AntiVirusProduct, netsh wlan, whoami /groups, the
screen saver settings), and toolkit.byod.windows reads the facts from them: tested here
on recorded outputs, English and French Windows (M9)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.byod.conftest import FIXTURES, SEARCH, judged
from toolkit.audit.model import Status
from toolkit.byod import windows
from toolkit.byod.envelope import REPORT_FORMAT, parse_facts, read_envelope, seal, seal_key, verify
from toolkit.byod.facts import WinAvProduct, WinLock

WIN = FIXTURES / "windows"


def outputs(name: str, wlan: str, groups: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WIN / name).read_text(encoding="utf-8"))
    data["wlan"] = (WIN / wlan).read_text(encoding="utf-8")
    data["groups"] = (WIN / groups).read_text(encoding="utf-8")
    return data


def report_facts(windows_outputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A Windows collector's facts: what it computes itself, and the command outputs."""
    return {
        "os": None,
        "last_update": None,
        "antivirus": None,
        "wifi": None,
        "session": None,
        "browsers": [
            {"name": "edge", "version": "142.0.3595.94"},
            {"name": "chrome", "version": "142.0.7444.176"},
        ],
        "tools": {"searched": SEARCH["tools"], "found": []},
        "work_data": {
            "markers": SEARCH["markers"],
            "places": SEARCH["places"],
            "scanned": 40,
            "complete": True,
            "found": [],
        },
        "problems": [],
        "windows": windows_outputs,
        **extra,
    }


def test_a_current_licensed_windows_11_passes_every_control() -> None:
    facts = report_facts(outputs("current.json", "netsh-wlan-en.txt", "whoami-standard.csv"))
    status = judged(facts)
    assert set(status.values()) == {Status.PASS}, status


def test_an_unlicensed_windows_10_with_defender_off_and_an_admin_on_tkip_fails() -> None:
    facts = report_facts(outputs("old.json", "netsh-wlan-fr-tkip.txt", "whoami-admin-fr.csv"))
    status = judged(facts)
    for cid in ("BYOD-01", "BYOD-02", "BYOD-03", "BYOD-07", "BYOD-08"):
        assert status[cid] is Status.FAIL, cid


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("11/12/2026", date(2026, 11, 12)),
        ("1/9/2026", date(2026, 1, 9)),
        ("20260312", date(2026, 3, 12)),
        ("2026-11-24T06:41:12Z", date(2026, 11, 24)),
        ("/Date(1770000000000)/", date(2026, 2, 2)),
        ("Mon, 24 Nov 2026 06:41:12 GMT", date(2026, 11, 24)),
        ("", None),
        ("soon", None),
    ],
)
def test_windows_days_are_read_in_every_form_windows_writes_them(
    text: str, day: date | None
) -> None:
    assert windows.parse_day(text) == day


def test_security_center_states_say_on_off_and_up_to_date() -> None:
    collected = date(2026, 11, 25)
    on = windows.security_center(
        WinAvProduct(displayName="Defender", productState=0x61100, timestamp=""), collected
    )
    off = windows.security_center(WinAvProduct(displayName="X", productState=0x60100), collected)
    stale = windows.security_center(
        WinAvProduct(displayName="Avast", productState=0x41010), collected
    )
    assert (on.running, on.signatures) == (True, collected)
    assert (off.running, off.signatures) == (False, collected)
    assert (stale.running, stale.signatures) == (True, None)


def test_netsh_in_english_and_french_and_without_wireless() -> None:
    en = windows.wifi((WIN / "netsh-wlan-en.txt").read_text(encoding="utf-8"))
    fr = windows.wifi((WIN / "netsh-wlan-fr-tkip.txt").read_text(encoding="utf-8"))
    none = windows.wifi((WIN / "netsh-wlan-none.txt").read_text(encoding="utf-8"))
    assert (en.connected, en.security, en.cipher) == (True, "WPA2-Personal", "CCMP")
    assert (fr.connected, fr.security, fr.cipher) == (True, "WPA-Personnel", "TKIP")
    assert none.connected is False


def test_an_interface_in_an_unknown_language_is_an_error_not_a_pass() -> None:
    text = "    Nombre : Wi-Fi\n    Estado : conectado\n"
    assert windows.wifi(text).connected is None
    facts = report_facts(outputs("current.json", "netsh-wlan-en.txt", "whoami-standard.csv"))
    facts["windows"]["wlan"] = "    Name : Wi-Fi\n    Zustand : verbunden\n"
    assert judged(facts)["BYOD-07"] is Status.ERROR


def test_the_screen_lock_comes_from_the_policy_or_a_secure_screen_saver() -> None:
    assert windows.screen_lock(WinLock(InactivityTimeoutSecs=300)) == (True, 300)
    assert windows.screen_lock(
        WinLock(ScreenSaveActive="1", ScreenSaverIsSecure="1", ScreenSaveTimeOut="600")
    ) == (True, 600)
    assert windows.screen_lock(
        WinLock(ScreenSaveActive="1", ScreenSaverIsSecure="0", ScreenSaveTimeOut="600")
    ) == (False, None)


def test_a_command_the_collector_could_not_run_leaves_its_fact_empty_with_the_reason() -> None:
    data = outputs("current.json", "netsh-wlan-en.txt", "whoami-standard.csv")
    data["defender"] = data["av_products"] = data["os"] = None
    facts = report_facts(
        data,
        problems=[{"fact": "windows.defender", "message": "CommandNotFoundException: no"}],
    )
    status = judged(facts)
    assert (status["BYOD-01"], status["BYOD-03"]) == (Status.ERROR, Status.ERROR)


def test_a_body_as_windows_powershell_writes_it_is_read_strictly(tmp_path: Path) -> None:
    """The body the PowerShell collector seals, in Windows PowerShell 5.1's JSON (no
    spaces, <>&' escaped as \\u003c...): accepted by the strict model, its facts read."""
    body = (WIN / "body-ps51.json").read_text(encoding="utf-8").strip()
    path = tmp_path / "r.json"
    path.write_text(
        json.dumps(
            {
                "format": REPORT_FORMAT,
                "token_id": "0123456789abcdef",
                "body": body,
                "hmac_sha256": seal(seal_key("t"), "0123456789abcdef", body),
            }
        )
    )
    envelope = read_envelope(path)
    verify(envelope, seal_key("t"))
    facts = windows.complete(parse_facts(envelope))
    assert facts.os is not None and (facts.os.build, facts.os.genuine) == ("26200", True)
    assert facts.last_update == date(2026, 11, 12)
    assert facts.wifi is not None and (facts.wifi.security, facts.wifi.cipher) == (
        "WPA2 - Personnel",
        "CCMP",
    )
    assert facts.session is not None and facts.session.admin is False
    assert facts.work_data is not None
    assert facts.work_data.found[0].path == "Documents\\Budget <2027> & notes d'équipe.docx"
