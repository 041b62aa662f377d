"""Personal computers (BYOD-01..08) judged both ways on canned reports, through the
controls' own ``check``; the network devices' NET-* cases are in byod_netdev_net.py.

A BYOD control judges the facts of a collector's report (toolkit.byod.facts.ReportContext):
here the report of a Windows computer whose command outputs are the recordings of
tests/byod/fixtures/windows, read by toolkit.byod.windows as ``toolkit byod review`` reads
them, judged on the day it was collected (M9, M10). The computer that passes is a licensed
Windows 11 25H2 with current hotfixes, Defender running, current browsers, no hacking tool,
no work document, WPA2 Wi-Fi, a standard account and a 10 minute screen lock; each failing
one changes the one output the control is about."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.audit.canned import Case, Judge
from tests.audit.conftest import params
from tests.byod.conftest import NOW
from tests.byod.test_windows import WIN, outputs, report_facts
from toolkit import hacking_tools
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import Outcome, Status
from toolkit.audit.registry import implementations
from toolkit.byod import windows
from toolkit.byod.facts import FACTS_FORMAT, Facts, ReportContext

IMPL = implementations()
PASS, FAIL = Status.PASS, Status.FAIL
#: The Windows outputs of an old, neglected computer (Windows 10 22H2, unactivated,
#: hotfixes of March, Defender off, screen saver off).
OLD: dict[str, Any] = json.loads((WIN / "old.json").read_text(encoding="utf-8"))


def computer(
    *, wlan: str = "netsh-wlan-en.txt", groups: str = "whoami-standard.csv", **changes: Any
) -> dict[str, Any]:
    """The facts of the current Windows 11 computer, with ``changes``: a key of the Windows
    outputs (os, licences, hotfixes, defender, lock...) replaces that output, any other key
    (browsers, tools, work_data) replaces that fact of the collector."""
    out = outputs("current.json", wlan, groups)
    for key in set(changes) & set(out):
        out[key] = changes.pop(key)
    return report_facts(out, **changes)


def on_computer(control: str, facts: Mapping[str, Any]) -> Judge:
    """``control`` on the report of a computer with ``facts``, judged the day it was
    collected, as ``toolkit byod review`` reads and judges it."""

    def judge(catalogue: Catalogue, _tmp: Path) -> Outcome:
        report = Facts.model_validate(
            {
                "format": FACTS_FORMAT,
                "teleworker": "a3",
                "device": "pc-3",
                "token_id": "0123456789abcdef",
                "collected_at": NOW.isoformat(),
                "collector": "canned",
                **facts,
            },
            strict=False,
        )
        ctx = ReportContext.of(windows.complete(report), NOW.date())
        return IMPL[control].check(ctx, params(catalogue, control))

    return judge


def with_defender(**changes: Any) -> dict[str, Any]:
    """Get-MpComputerStatus of the current computer, with ``changes``."""
    defender: dict[str, Any] = computer()["windows"]["defender"]
    return {**defender, **changes}


TOOLS = hacking_tools.deny_list([])
STALE_SIGNATURES = (NOW - timedelta(days=30)).date()
WORK_DOCUMENT = r"C:\Users\khadija\Documents\Note de service 2026-114.docx"

CASES: list[Case] = [
    Case(
        "BYOD-01",
        PASS,
        "an activated Windows 11 25H2, supported until October 2027",
        on_computer("BYOD-01", computer()),
        "(build 26200) licensed and supported until 2027-10-12",
    ),
    Case(
        "BYOD-01",
        FAIL,
        "a Windows 11 whose licence is not activated",
        on_computer("BYOD-01", computer(licences=OLD["licences"])),
        "Windows is not activated (no genuine licence)",
    ),
    Case(
        "BYOD-01",
        FAIL,
        "an activated Windows 10 22H2, past its end of support",
        on_computer("BYOD-01", computer(os=OLD["os"])),
        "(build 19045) reached its end of security support on 2025-10-14",
    ),
    Case(
        "BYOD-02",
        PASS,
        "the hotfix of November's patch Tuesday installed",
        on_computer("BYOD-02", computer()),
        "last OS update 2026-11-12, 13 days ago",
    ),
    Case(
        "BYOD-02",
        FAIL,
        "no hotfix installed since March",
        on_computer("BYOD-02", computer(hotfixes=OLD["hotfixes"])),
        "last OS update 2026-03-12, 258 days ago (limit 30)",
    ),
    Case(
        "BYOD-03",
        PASS,
        "defender running with yesterday's signatures",
        on_computer("BYOD-03", computer()),
        "Microsoft Defender Antivirus running, signatures of 2026-11-24",
    ),
    Case(
        "BYOD-03",
        FAIL,
        "defender's real-time protection turned off",
        on_computer("BYOD-03", computer(defender=OLD["defender"])),
        "Microsoft Defender Antivirus is not running",
    ),
    Case(
        "BYOD-03",
        FAIL,
        "defender running with signatures a month old",
        on_computer(
            "BYOD-03",
            computer(
                defender=with_defender(AntivirusSignatureLastUpdated=STALE_SIGNATURES.isoformat())
            ),
        ),
        f"Microsoft Defender Antivirus: signatures of {STALE_SIGNATURES}, 30 days old",
    ),
    Case(
        "BYOD-04",
        PASS,
        "edge and chrome at their current release",
        on_computer("BYOD-04", computer()),
        "current browsers: edge 142.0.3595.94, chrome 142.0.7444.176",
    ),
    Case(
        "BYOD-04",
        FAIL,
        "a chrome of a release no longer supported",
        on_computer(
            "BYOD-04",
            computer(
                browsers=[
                    {"name": "edge", "version": "142.0.3595.94"},
                    {"name": "chrome", "version": "131.0.6778.86"},
                ]
            ),
        ),
        "chrome 131.0.6778.86 is older than the supported 142",
    ),
    Case(
        "BYOD-05",
        PASS,
        "none of the hacking tools installed",
        on_computer("BYOD-05", computer()),
        f"none of {len(TOOLS)} hacking tools found",
    ),
    Case(
        "BYOD-05",
        FAIL,
        "nmap installed in program files",
        on_computer(
            "BYOD-05",
            computer(
                tools={
                    "searched": TOOLS,
                    "found": [{"name": "nmap", "path": r"C:\Program Files (x86)\Nmap\nmap.exe"}],
                }
            ),
        ),
        r"hacking tools installed: nmap",
    ),
    Case(
        "BYOD-06",
        PASS,
        "no marked document in the 40 documents read",
        on_computer("BYOD-06", computer()),
        "no work data in 40 documents",
    ),
    Case(
        "BYOD-06",
        FAIL,
        "a restricted circular in the documents folder",
        on_computer(
            "BYOD-06",
            computer(
                work_data={
                    **computer()["work_data"],
                    "found": [{"path": WORK_DOCUMENT, "marker": "DIFFUSION RESTREINTE"}],
                }
            ),
        ),
        f"{WORK_DOCUMENT} (DIFFUSION RESTREINTE)",
    ),
    Case(
        "BYOD-07",
        PASS,
        "a home wi-fi of wpa2 with ccmp",
        on_computer("BYOD-07", computer()),
        "Wi-Fi network protected by WPA2-Personal CCMP",
    ),
    Case(
        "BYOD-07",
        FAIL,
        "a café's wi-fi of wpa with tkip (french windows)",
        on_computer("BYOD-07", computer(wlan="netsh-wlan-fr-tkip.txt")),
        "Wi-Fi network protected by WPA-Personnel TKIP",
    ),
    Case(
        "BYOD-08",
        PASS,
        "a standard account and a secure screen saver after 10 minutes",
        on_computer("BYOD-08", computer()),
        "screen locks after 600 s; khadija not an admin",
    ),
    Case(
        "BYOD-08",
        FAIL,
        "the screen saver turned off",
        on_computer("BYOD-08", computer(lock=OLD["lock"])),
        "the screen does not lock by itself",
    ),
    Case(
        "BYOD-08",
        FAIL,
        "the account in the administrators group (french windows)",
        on_computer("BYOD-08", computer(groups="whoami-admin-fr.csv")),
        "khadija is an administrator",
    ),
]
