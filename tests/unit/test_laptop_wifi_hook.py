"""The laptop's NetworkManager hook takes an open, WEP or TKIP-only Wi-Fi connection down
as soon as it comes up, logs why, and leaves WPA2/WPA3 and wired connections alone (E16).
NetworkManager's nmcli and logger are replaced by recording fakes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

HOOK = REPO / "roles/laptop/files/etc/NetworkManager/dispatcher.d/10-telework-refuse-insecure-wifi"

FAKE_NMCLI = """#!/bin/sh
echo "$*" >> "$CALLS"
case "$*" in
  *"-g connection.type"*) echo "$FAKE_TYPE" ;;
  *"-g 802-11-wireless-security.key-mgmt"*) echo "$FAKE_KEY_MGMT" ;;
  *"-g 802-11-wireless-security.pairwise"*) echo "$FAKE_PAIRWISE" ;;
esac
"""
FAKE_LOGGER = """#!/bin/sh
echo "$*" >> "$LOGGED"
"""


def run_hook(
    tmp_path: Path, action: str, kind: str, key_mgmt: str, pairwise: str = ""
) -> tuple[list[str], str]:
    """Run the hook as NetworkManager would; returns the nmcli calls and what was logged."""
    for name, body in (("nmcli", FAKE_NMCLI), ("logger", FAKE_LOGGER)):
        fake = tmp_path / name
        fake.write_text(body, encoding="utf-8")
        fake.chmod(0o755)
    calls, logged = tmp_path / "calls", tmp_path / "logged"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TELEWORK_NMCLI": str(tmp_path / "nmcli"),
        "TELEWORK_LOGGER": str(tmp_path / "logger"),
        "CALLS": str(calls),
        "LOGGED": str(logged),
        "CONNECTION_UUID": "5b0c9d2e-0000-4000-8000-000000000001",
        "CONNECTION_ID": "Cafe Wifi",
        "FAKE_TYPE": kind,
        "FAKE_KEY_MGMT": key_mgmt,
        "FAKE_PAIRWISE": pairwise,
    }
    done = subprocess.run(
        ["/bin/sh", str(HOOK), "wlan0", action],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    def read(path: Path) -> str:
        return path.read_text(encoding="utf-8") if path.exists() else ""

    return read(calls).splitlines(), read(logged)


@pytest.mark.parametrize(
    ("key_mgmt", "pairwise", "why"),
    [
        ("", "", "open"),
        ("none", "", "none"),
        ("ieee8021x", "", "ieee8021x"),
        ("owe", "", "owe"),
        ("wpa-psk", "tkip", "wpa-psk"),
    ],
    ids=["open", "static-wep", "dynamic-wep", "enhanced-open", "wpa-tkip-only"],
)
def test_an_insecure_wifi_connection_is_taken_down_and_logged(
    tmp_path: Path, key_mgmt: str, pairwise: str, why: str
) -> None:
    calls, logged = run_hook(tmp_path, "up", "802-11-wireless", key_mgmt, pairwise)
    assert calls[-1] == "connection down uuid 5b0c9d2e-0000-4000-8000-000000000001"
    assert "refused insecure Wi-Fi on wlan0: connection 'Cafe Wifi'" in logged
    assert f"key-mgmt '{why}'" in logged
    assert "auth.warning" in logged


@pytest.mark.parametrize(
    ("key_mgmt", "pairwise"), [("wpa-psk", ""), ("wpa-psk", "ccmp"), ("sae", ""), ("wpa-eap", "")]
)
def test_a_wpa2_or_wpa3_connection_stays_up(tmp_path: Path, key_mgmt: str, pairwise: str) -> None:
    calls, logged = run_hook(tmp_path, "up", "802-11-wireless", key_mgmt, pairwise)
    assert not any(call.startswith("connection down") for call in calls)
    assert logged == ""


def test_a_wired_connection_is_not_looked_at_further(tmp_path: Path) -> None:
    calls, logged = run_hook(tmp_path, "up", "802-3-ethernet", "")
    assert len(calls) == 1 and "connection.type" in calls[0]
    assert logged == ""


def test_other_actions_are_ignored(tmp_path: Path) -> None:
    calls, logged = run_hook(tmp_path, "down", "802-11-wireless", "")
    assert calls == [] and logged == ""
