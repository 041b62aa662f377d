"""What a collector reports about a personal computer (M9, M10): the facts BYOD-01..08
judge, as a strict model. A report is hostile input: every field has a type, a bound and
no extra key; strings are kept as sent and made printable where they are shown (the
audit's results model, :class:`toolkit.errors.Problem`).

The controls (``toolkit/controls/byod.py``) get these facts through
:class:`ReportContext`, the audit's host context with the facts of one report instead of
an SSH session."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError

FACTS_FORMAT = "telework-byod-facts/1"

#: One short value (a name, a version, a path); longer ones are refused, not cut.
Text = Annotated[str, StringConstraints(max_length=512)]
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
MAX_ITEMS = 500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class OsFacts(_Strict):
    family: Literal["linux", "macos", "windows"]
    #: os-release ID (linux), "macos", "windows".
    id: Ident
    name: Text
    #: VERSION_ID (linux), product version (macOS 14.5), display version (Windows 23H2).
    version: Text
    #: Windows build number (22631), macOS build (23F79); empty on Linux.
    build: Text = ""
    #: Windows: an activated licence; None where it means nothing (Linux, macOS).
    genuine: bool | None = None


class Antivirus(_Strict):
    name: Text
    running: bool
    #: Day of the signatures in use, None when unknown.
    signatures: date | None = None


class Browser(_Strict):
    name: Ident
    version: Text


class Found(_Strict):
    name: Text
    path: Text


class ToolSearch(_Strict):
    searched: list[Text] = Field(max_length=MAX_ITEMS)
    found: list[Found] = Field(max_length=MAX_ITEMS)


class WorkFile(_Strict):
    path: Text
    marker: Text


class WorkDataSearch(_Strict):
    markers: list[Text] = Field(max_length=MAX_ITEMS)
    places: list[Text] = Field(max_length=MAX_ITEMS)
    scanned: int = Field(ge=0)
    #: False when a bound (files, depth) stopped the search before its end.
    complete: bool
    found: list[WorkFile] = Field(max_length=MAX_ITEMS)


class Wifi(_Strict):
    #: None: the collector could not tell.
    connected: bool | None
    #: As the OS names it: "WPA2-Personal", "WPA2 WPA3", "Open", "WEP", "" (open).
    security: Text = ""
    cipher: Text = ""


class Session(_Strict):
    user: Text
    admin: bool | None
    lock_enabled: bool | None
    lock_after_s: int | None = Field(default=None, ge=0)


#: A command's whole output (netsh, whoami): bounded too.
Output = Annotated[str, StringConstraints(max_length=65536)]


class WinOs(_Strict):
    Caption: Text
    Version: Text
    BuildNumber: Text
    DisplayVersion: Text = ""


class WinLicence(_Strict):
    Name: Text
    LicenseStatus: int


class WinHotfix(_Strict):
    HotFixID: Text
    #: As Win32_QuickFixEngineering gives it: ``11/20/2026`` (M/d/yyyy), sometimes empty.
    InstalledOn: Text | None = None


class WinDefender(_Strict):
    AMServiceEnabled: bool
    AntivirusEnabled: bool
    RealTimeProtectionEnabled: bool
    AntivirusSignatureLastUpdated: Text | None = None


class WinAvProduct(_Strict):
    displayName: Text  # noqa: N815 (Security Center's names, as reported)
    productState: int  # noqa: N815
    timestamp: Text | None = None


class WinLock(_Strict):
    ScreenSaveActive: Text | None = None
    ScreenSaverIsSecure: Text | None = None
    ScreenSaveTimeOut: Text | None = None
    InactivityTimeoutSecs: int | None = None


class WindowsOutputs(_Strict):
    """What the Windows collector reports as Windows' commands gave it; the toolkit turns it
    into the facts (toolkit.byod.windows), so the parsing is Python, tested on recorded
    outputs. ``None``: the command failed (the report's problems say why)."""

    os: WinOs | None = None
    licences: list[WinLicence] | None = Field(default=None, max_length=50)
    hotfixes: list[WinHotfix] | None = Field(default=None, max_length=MAX_ITEMS)
    defender: WinDefender | None = None
    av_products: list[WinAvProduct] | None = Field(default=None, max_length=50)
    wlan: Output | None = None
    groups: Output | None = None
    user: Text = ""
    lock: WinLock | None = None


class Problem(_Strict):
    """A fact the collector could not gather, and why."""

    fact: Ident
    message: Text


class Facts(_Strict):
    format: Literal["telework-byod-facts/1"]
    teleworker: Ident
    device: Ident
    token_id: Ident
    collected_at: datetime
    collector: Text
    os: OsFacts | None
    last_update: date | None
    antivirus: list[Antivirus] | None = Field(max_length=50)
    browsers: list[Browser] | None = Field(max_length=50)
    tools: ToolSearch | None
    work_data: WorkDataSearch | None
    wifi: Wifi | None
    session: Session | None
    problems: list[Problem] = Field(default_factory=list, max_length=MAX_ITEMS)
    #: Windows only: the outputs os, last_update, antivirus, wifi and session come from.
    windows: WindowsOutputs | None = None

    def problem(self, fact: str) -> str | None:
        """Why the collector could not gather ``fact`` (None when it did not say)."""
        return next((p.message for p in self.problems if p.fact == fact), None)


@dataclasses.dataclass
class ReportContext(Context):
    """The audit's context of one personal computer: the facts of its verified report in
    place of an SSH session (``host`` stays None; no command is ever run)."""

    facts: Facts | None = None

    @classmethod
    def of(cls, facts: Facts, today: date) -> ReportContext:
        """The context of one report, judged on ``today``: no address, no SSH port."""
        return cls(
            name=facts.device,
            address="-",
            ssh_address="-",
            ssh_port=0,
            tls_ports=(),
            http_ports=(),
            probe_timeout=0.0,
            facts=facts,
            today=today,
        )


def report_of(ctx: Context) -> Facts:
    """The facts a BYOD control judges; a ControlError when the context is a host of the
    inventory (BYOD controls judge a collector's report)."""
    if not isinstance(ctx, ReportContext) or ctx.facts is None:
        raise ControlError(
            "judged on a personal computer's report only (toolkit byod review REPORT)"
        )
    return ctx.facts


def facts_of(ctx: Context, fact: str) -> Facts:
    """:func:`report_of`, and a ControlError when the collector could not gather ``fact``."""
    facts = report_of(ctx)
    if getattr(facts, fact) is None:
        why = facts.problem(fact) or "not in the report"
        raise ControlError(f"the collector could not gather {fact}: {why}")
    return facts
