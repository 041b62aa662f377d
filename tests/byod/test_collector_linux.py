"""The Linux collector on recorded command outputs and a fake computer (root, home and
program folders), judged by the review's controls: a computer with nmap and hydra
installed and a work document at home fails BYOD-05 and BYOD-06; a clean one passes
(M9)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.byod.conftest import SEARCH, Computer, collector, judged, recorded
from toolkit.audit.model import Status
from toolkit.byod.device import GROUP

CLEAN = {
    "clamscan --version": "clamscan-version",
    "systemctl is-active clamav-daemon": "active",
    "firefox --version": "firefox-version",
    "nmcli -t -f ACTIVE,SSID,SECURITY device wifi": "nmcli-wpa",
    "id -Gn": "id-groups",
    "id -u": "id-uid",
    "gsettings get org.gnome.desktop.screensaver lock-enabled": "gs-lock-enabled",
    "gsettings get org.gnome.desktop.session idle-delay": "gs-idle-delay",
    "gsettings get org.gnome.desktop.screensaver lock-delay": "gs-lock-delay",
}


def facts_of(computer: Computer, table: Mapping[str, str | None], **search: Any) -> dict[str, Any]:
    found: dict[str, Any] = collector.Collector(
        {**SEARCH, **search},
        system="Linux",
        run=recorded("linux", table),
        home=computer.home,
        path_dirs=[str(computer.bin)],
        root=computer.root,
    ).facts()
    return found


def test_a_computer_with_nmap_hydra_and_a_work_document_fails_byod_05_and_06(
    computer: Computer,
) -> None:
    computer.install("nmap", "hydra")
    computer.document("Documents/Rapports/budget.docx", "Note DIFFUSION RESTREINTE du DSI")
    computer.document("mail.txt", "de: amina@example.gov.ma")
    # dpkg-query exits 1 as john is no package: its lines for nmap and hydra count
    table = {**CLEAN, "dpkg-query*": "1:dpkg-query-tools"}
    facts = facts_of(computer, table)
    names = sorted({f["name"] for f in facts["tools"]["found"]})
    assert names == ["hydra", "nmap"]
    assert {"name": "hydra", "path": "dpkg"} in facts["tools"]["found"]
    assert {"name": "nmap", "path": str(computer.bin / "nmap")} in facts["tools"]["found"]
    assert facts["work_data"]["found"] == [
        {"path": "Documents/Rapports/budget.docx", "marker": "DIFFUSION RESTREINTE"},
        {"path": "mail.txt", "marker": "@example.gov.ma"},
    ]
    status = judged(facts)
    assert status["BYOD-05"] is Status.FAIL
    assert status["BYOD-06"] is Status.FAIL


def test_a_clean_computer_passes_and_its_facts_are_read_from_the_recorded_outputs(
    computer: Computer,
) -> None:
    computer.document("Documents/recette.txt", "Tajine aux olives")
    computer.document("Documents/deep/a/b/c/d/old.txt", "DIFFUSION RESTREINTE")  # too deep
    facts = facts_of(computer, CLEAN)
    assert facts["problems"] == []
    assert facts["os"] == {
        "family": "linux",
        "id": "ubuntu",
        "name": "Ubuntu",
        "version": "24.04",
        "build": "",
        "genuine": None,
    }
    assert facts["last_update"] == "2026-11-19"  # the install of nmap is not an update
    assert facts["antivirus"] == [
        {"name": "ClamAV 1.4.3", "running": True, "signatures": "2026-11-24"}
    ]
    assert facts["browsers"] == [{"name": "firefox", "version": "146.0.1"}]
    assert facts["tools"] == {"searched": SEARCH["tools"], "found": []}
    assert facts["work_data"]["found"] == []
    assert facts["work_data"]["scanned"] == 1
    assert facts["wifi"] == {"connected": True, "security": "WPA2 WPA3", "cipher": ""}
    assert facts["session"]["admin"] is False
    assert facts["session"]["lock_enabled"] is True
    assert facts["session"]["lock_after_s"] == 300
    status = judged(facts)
    assert list(status) == [f"BYOD-0{i}" for i in range(1, 9)]
    assert set(status.values()) == {Status.PASS}, status


def test_open_wifi_an_admin_account_and_no_screen_lock_fail_byod_07_and_08(
    computer: Computer,
) -> None:
    table = {
        **CLEAN,
        "nmcli -t -f ACTIVE,SSID,SECURITY device wifi": "nmcli-open",
        "id -Gn": "id-groups-sudo",
        "gsettings get org.gnome.desktop.session idle-delay": "gs-idle-never",
    }
    facts = facts_of(computer, table)
    assert facts["wifi"] == {"connected": True, "security": "open", "cipher": ""}
    assert facts["session"]["admin"] is True
    assert (facts["session"]["lock_enabled"], facts["session"]["lock_after_s"]) == (False, None)
    status = judged(facts)
    assert (status["BYOD-07"], status["BYOD-08"]) == (Status.FAIL, Status.FAIL)


def test_without_nmcli_a_computer_without_wireless_interface_is_not_on_wifi(
    computer: Computer,
) -> None:
    (computer.root / "sys" / "class" / "net" / "eth0").mkdir(parents=True)
    table = {k: v for k, v in CLEAN.items() if not k.startswith("nmcli")}
    assert facts_of(computer, table)["wifi"] == {"connected": False, "security": "", "cipher": ""}


def test_what_cannot_be_read_is_a_named_problem_and_the_control_an_error(
    computer: Computer,
) -> None:
    (computer.root / "etc" / "os-release").unlink()
    (computer.root / "sys" / "class" / "net" / "wlan0" / "wireless").mkdir(parents=True)
    table = {k: v for k, v in CLEAN.items() if not k.startswith("nmcli")}
    facts = facts_of(computer, table)
    assert facts["os"] is None and facts["wifi"] is None
    assert [p["fact"] for p in facts["problems"]] == ["os", "wifi"]
    assert judged(facts)["BYOD-07"] is Status.ERROR


def test_the_search_is_bounded_and_says_so(computer: Computer) -> None:
    for i in range(5):
        computer.document(f"Documents/n{i}.txt", "rien")
    facts = facts_of(computer, CLEAN, max_files=3)
    assert (facts["work_data"]["scanned"], facts["work_data"]["complete"]) == (3, False)


def test_symbolic_links_and_hidden_folders_are_not_followed(
    computer: Computer, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("DIFFUSION RESTREINTE")
    (computer.home / "Documents" / "link").symlink_to(outside)
    computer.document("Documents/.cache/x.txt", "DIFFUSION RESTREINTE")
    assert facts_of(computer, CLEAN)["work_data"]["found"] == []


def test_the_group_of_personal_computers_is_the_profiles_group() -> None:
    assert GROUP == "personal_computers"
