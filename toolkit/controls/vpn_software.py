"""VPN gateway software: VPN-01 (docs/controls.md).

The release must still get security support (audits/end_of_life.yml, the table LNX-02
reads too), each VPN package be at least the version that carries the known fixes for
that release (the table in VPN-01's ``releases`` parameter, audits/controls/vpn.yml, says
where each figure comes from), and none of them
(nor the kernel, whose module WireGuard is) wait for an update from the security suite.
Versions are compared as dpkg does (toolkit.controls.debversion); pending updates are read
by LNX-01's parser from the same ``apt-get -s`` run (run once per host).
"""

from __future__ import annotations

import fnmatch
import logging
import re
from datetime import date
from typing import Any

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params, as_list
from toolkit.audit.registry import control
from toolkit.controls import debversion, end_of_life
from toolkit.controls import linux_parsers as parsers
from toolkit.controls.linux import APT_SIMULATION  # LNX-01's: the host runs it once

log = logging.getLogger(__name__)

_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]{0,100}")


def installed_versions(ctx: Context, packages: list[str]) -> dict[str, str]:
    """Package -> installed version, for those of ``packages`` that are installed."""
    names = [p for p in packages if _PACKAGE.fullmatch(p)]
    if len(names) != len(packages):
        raise ControlError(f"not Debian package names: {sorted(set(packages) - set(names))}")
    res = ctx.run(
        "dpkg-query -W -f='${Package}\\t${db:Status-Abbrev}\\t${Version}\\n' " + " ".join(names)
    )
    found = {}
    for line in res.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[0] in names and fields[1].startswith("ii"):
            found[fields[0]] = fields[2].strip()
    return found


def _release(ctx: Context, table: Any) -> tuple[str, date, dict[str, Any]]:
    """The release's name, its end of security support and its row of VPN-01's table (no
    row: no package floor for that release, its support still judged)."""
    info = parsers.os_release(ctx.output("cat /etc/os-release"))
    name = info.get("PRETTY_NAME", "?")
    if info.get("ID") != "debian":
        raise ControlError(f"{name}: VPN-01's table covers Debian releases only")
    version = info.get("VERSION_ID", "?")
    end = end_of_life.support_end("debian", version)
    if end is None:
        raise ControlError(f"{name}: not in the end-of-life table (audits/end_of_life.yml)")
    row = table.get(version) if isinstance(table, dict) else None
    return name, end, row if isinstance(row, dict) else {}


def judge_versions(
    versions: dict[str, str], minimum: dict[str, str], required: list[str]
) -> list[str]:
    """Problems of the installed versions against the table's floors."""
    problems = [f"{pkg} is not installed" for pkg in required if pkg not in versions]
    for pkg, floor in sorted(minimum.items()):
        if pkg not in versions:
            continue
        try:
            current = debversion.at_least(versions[pkg], floor)
        except debversion.VersionError as exc:
            raise ControlError(f"{pkg}: {exc}") from exc
        if not current:
            problems.append(f"{pkg} {versions[pkg]} is older than {floor}")
    return problems


def pending_security(ctx: Context, watched: list[str]) -> list[str]:
    """The security updates apt would install for the packages matching ``watched``
    (LNX-01's simulation, which the host runs once)."""
    return [
        line
        for line in parsers.pending_security(ctx.output(APT_SIMULATION, grep=r"^Inst .*ecurity"))
        if any(fnmatch.fnmatchcase(line.split()[0], w) for w in watched)
    ]


@control("VPN-01")
def gateway_software(ctx: Context, p: Params) -> Outcome:
    """The release is supported, the VPN packages are at least the table's versions and
    none waits for a security update (M7, A10)."""
    name, end, row = _release(ctx, p["releases"])
    problems: list[str] = []
    warnings: list[str] = []
    left = (end - ctx.day()).days
    if left < 0:
        problems.append(f"{name} lost security support on {end}")
    elif left < int(p["warn_days"]):
        warnings.append(f"{name} loses security support on {end} ({left} days)")
    minimum: dict[str, str] = {str(k): str(v) for k, v in (row.get("minimum") or {}).items()}
    required = [str(x) for x in as_list(p["required"]) if x]
    versions = installed_versions(ctx, sorted(set(minimum) | set(required)))
    problems += judge_versions(versions, minimum, required)
    pending = pending_security(ctx, [str(x) for x in as_list(p["watched"]) if x])
    if pending:
        problems.append(f"security updates pending: {', '.join(pending[:8])}")
    shown = ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or "none"
    return Outcome.of(
        problems,
        f"{name} supported until {end}; {shown}; no security update pending",
        warnings=warnings,
    )
