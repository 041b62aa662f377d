"""A personal computer as the roster and the audit's catalogue see it: which teleworker
and device a check is for, and the BYOD controls planned for it with their parameters
(the same for the enrolment, which tells the collector what to look for, and for the
review, which judges what it found)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from toolkit import hacking_tools
from toolkit.adapters.ansible import InventoryHost
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, as_list
from toolkit.audit.targets import HostPlan, PlannedControl, plan
from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.roster.model import DeviceKind, Roster, Teleworker

#: The group the audit's profiles give personal computers' controls to
#: (audits/profiles/30-personal-computers.yml).
GROUP = "personal_computers"
#: Every control the review judges (the profile must plan each of them).
CONTROLS = tuple(f"BYOD-0{i}" for i in range(1, 9))


def personal_device(roster: Roster, teleworker_id: str, device: str) -> Teleworker:
    """The teleworker, if eligible (active, approved) and owner of the personal computer
    ``device``; a ToolkitError (exit 4) saying why not."""
    try:
        worker = roster.by_id(teleworker_id)
    except KeyError:
        raise ToolkitError(
            f"{teleworker_id}: no such teleworker in {roster.path}",
            exit_code=ExitCode.INVALID_INPUT,
        ) from None
    refusal = worker.refusal()
    if refusal is not None:
        raise ToolkitError(f"{worker.id}: {refusal}", exit_code=ExitCode.INVALID_INPUT)
    found = next((d for d in worker.equipment if d.name == device), None)
    if found is None or found.kind is not DeviceKind.PERSONAL:
        known = ", ".join(str(d) for d in worker.equipment if d.kind is DeviceKind.PERSONAL)
        raise ToolkitError(
            f"{worker.id}: {device} is not a personal computer of the roster "
            f"(personal computers: {known or 'none'})",
            exit_code=ExitCode.INVALID_INPUT,
        )
    return worker


def device_plan(
    catalogue: Catalogue, inventory: Path, device: str, mail_domains: tuple[str, ...]
) -> HostPlan:
    """The BYOD controls of ``device`` with their parameters: defaults, then the profiles
    of group personal_computers in order (the audit's own planning); BYOD-06's markers
    get an address of each of the administration's ``mail_domains``."""
    (planned,) = plan(catalogue, [InventoryHost(device, {}, frozenset({GROUP}))], inventory)
    missing = sorted(set(CONTROLS) - {p.control.id for p in planned.controls})
    if missing:
        raise ToolkitError(
            f"no profile of group {GROUP} runs {', '.join(missing)} (audits/profiles/)",
            exit_code=ExitCode.INVALID_INPUT,
        )
    controls = tuple(
        PlannedControl(c.control, with_mail_domains(dict(c.params), mail_domains), c.profiles)
        if c.control.id == "BYOD-06"
        else c
        for c in planned.controls
    )
    return dataclasses.replace(planned, controls=controls)


def with_mail_domains(params: dict[str, Any], domains: tuple[str, ...]) -> dict[str, Any]:
    """BYOD-06's parameters with an address of each mail domain of the administration
    (the roster's telework_mail_domains) added to its markers."""
    markers = [str(m) for m in params["markers"]]
    markers += [f"@{d}" for d in domains if f"@{d}" not in markers]
    return {**params, "markers": markers}


def search_spec(planned: HostPlan) -> dict[str, Any]:
    """What the collector looks for: the hacking tools (audits/hacking_tools.yml and the
    names BYOD-05's ``deny`` adds), BYOD-06's markers, places and bounds."""
    params = {p.control.id: dict(p.params) for p in planned.controls}
    work = params["BYOD-06"]
    try:
        tools = hacking_tools.deny_list(as_list(params["BYOD-05"]["deny"]))
    except ControlError as exc:
        raise ToolkitError(str(exc), exit_code=ExitCode.INVALID_INPUT) from exc
    return {
        "tools": tools,
        "markers": work["markers"],
        "places": [str(p) for p in work["places"]],
        "extensions": [str(e).lower() for e in work["extensions"]],
        "max_files": int(work["max_files"]),
        "max_bytes": int(work["max_bytes"]),
        "max_depth": int(work["max_depth"]),
    }
