"""Personal computers (BYOD): BYOD-01..08 (docs/controls.md, docs/byod.md).

They judge the facts of a collector's verified report (toolkit.byod.facts.ReportContext),
never run a command: ``toolkit byod review`` plans them with the audit's catalogue and
profiles and turns their outcomes into the audit's results. Run on a host of the
inventory, they are an error saying so."""

from __future__ import annotations

import re
from datetime import date

from toolkit import hacking_tools
from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params, as_list
from toolkit.audit.registry import control
from toolkit.byod.facts import facts_of, report_of
from toolkit.controls import end_of_life


def _today(ctx: Context) -> date:
    """The day the review judges on (UTC)."""
    return ctx.day()


def _eol_key(family: str, os_id: str, version: str, build: str) -> tuple[str, str]:
    """Row and column of audits/end_of_life.yml for an OS: Linux by os-release ID and
    VERSION_ID, macOS by major version, Windows by build number."""
    if family == "windows":
        return "windows", build.split(".", maxsplit=1)[0]
    if family == "macos":
        return "macos", version.split(".", maxsplit=1)[0]
    return os_id, version


@control("BYOD-01", needs_ssh=False)
def os_genuine_supported(ctx: Context, p: Params) -> Outcome:
    """A licensed Windows; a release not past its end of security support."""
    info = facts_of(ctx, "os").os
    assert info is not None  # noqa: S101 (facts_of checked it)
    name = f"{info.name} {info.version}".strip() + (f" (build {info.build})" if info.build else "")
    ctx.note("report: os", f"{info.family} {info.id} {name}; genuine: {info.genuine}")
    problems = []
    if info.family == "windows" and p["require_licence"] and info.genuine is not True:
        if info.genuine is None:
            raise ControlError(f"{name}: the collector could not read the licence status")
        problems.append(f"{name}: Windows is not activated (no genuine licence)")
    row, column = _eol_key(info.family, info.id, info.version, info.build)
    eol = end_of_life.support_end(row, column)
    if eol is None:
        raise ControlError(f"{name}: {row} {column} is not in audits/end_of_life.yml")
    left = (eol - _today(ctx)).days
    if left < 0:
        problems.append(f"{name} reached its end of security support on {eol}")
    warnings = []
    if 0 <= left < int(p["warn_days"]):
        warnings.append(f"{name} reaches its end of support on {eol} ({left} days)")
    genuine = "licensed and " if info.family == "windows" and info.genuine else ""
    return Outcome.of(problems, f"{name} {genuine}supported until {eol}", warnings=warnings)


@control("BYOD-02", needs_ssh=False)
def os_updated(ctx: Context, p: Params) -> Outcome:
    """The newest OS update was installed within ``max_days``."""
    facts = report_of(ctx)
    ctx.note("report: last_update", str(facts.last_update))
    if facts.last_update is None:
        why = facts.problem("last_update")
        if why:
            raise ControlError(f"the collector could not read the update history: {why}")
        return Outcome.failed("no OS update was ever recorded on this computer")
    age = (_today(ctx) - facts.last_update).days
    if age > int(p["max_days"]):
        return Outcome.failed(
            f"last OS update {facts.last_update}, {age} days ago (limit {p['max_days']})"
        )
    return Outcome.passed(f"last OS update {facts.last_update}, {age} days ago")


@control("BYOD-03", needs_ssh=False)
def antivirus_current(ctx: Context, p: Params) -> Outcome:
    """At least one antivirus runs with signatures at most ``max_signature_days`` old."""
    products = facts_of(ctx, "antivirus").antivirus or []
    ctx.note(
        "report: antivirus",
        "\n".join(f"{a.name}: running={a.running} signatures={a.signatures}" for a in products)
        or "(none)",
    )
    if not products:
        return Outcome.failed("no antivirus found")
    limit = int(p["max_signature_days"])
    problems = []
    for av in products:
        if not av.running:
            problems.append(f"{av.name} is not running")
        elif av.signatures is None:
            problems.append(f"{av.name}: the day of its signatures is unknown")
        elif (age := (_today(ctx) - av.signatures).days) > limit:
            problems.append(f"{av.name}: signatures of {av.signatures}, {age} days old")
        else:
            return Outcome.passed(f"{av.name} running, signatures of {av.signatures}")
    return Outcome.failed("no antivirus running with current signatures", *problems)


def _version(text: str) -> tuple[int, ...]:
    """The leading numbers of a version (``145.0.1`` -> (145, 0, 1), ``26.1 (21622)``
    -> (26, 1))."""
    found = re.match(r"\s*(\d+(?:\.\d+)*)", text)
    if found is None:
        raise ValueError(text)
    return tuple(int(n) for n in found.group(1).split(".")[:4])


@control("BYOD-04", needs_ssh=False)
def browsers_current(ctx: Context, p: Params) -> Outcome:
    """Every browser found is at least its ``minimum`` release."""
    browsers = facts_of(ctx, "browsers").browsers or []
    ctx.note("report: browsers", "\n".join(f"{b.name} {b.version}" for b in browsers) or "(none)")
    minimum = {str(k).lower(): str(v) for k, v in dict(p["minimum"]).items()}
    problems, warnings, current = [], [], []
    for b in browsers:
        floor = minimum.get(b.name.lower())
        try:
            version = _version(b.version)
        except ValueError:
            problems.append(f"{b.name}: unreadable version {b.version!r}")
            continue
        if floor is None:
            warnings.append(f"{b.name} {b.version} is not in the list of judged browsers")
        elif version < _version(floor):
            problems.append(f"{b.name} {b.version} is older than the supported {floor}")
        else:
            current.append(f"{b.name} {b.version}")
    if not browsers:
        warnings.append("no browser found")
    return Outcome.of(problems, f"current browsers: {', '.join(current)}", warnings=warnings)


@control("BYOD-05", needs_ssh=False)
def no_hacking_tools(ctx: Context, p: Params) -> Outcome:
    """None of the hacking tools (audits/hacking_tools.yml, plus the ``deny`` names) is
    installed (the collector looked for all of them)."""
    tools = facts_of(ctx, "tools").tools
    assert tools is not None  # noqa: S101 (facts_of checked it)
    deny = {n.lower() for n in hacking_tools.deny_list(as_list(p["deny"]))}
    ctx.note("report: tools.found", "\n".join(f"{f.name}: {f.path}" for f in tools.found) or "-")
    missed = sorted(deny - {s.lower() for s in tools.searched})
    if missed:
        raise ControlError(
            f"the collector did not look for {', '.join(missed)}: enrol the device again"
        )
    found = [f for f in tools.found if f.name.lower() in deny]
    if found:
        names = sorted({f.name for f in found})
        return Outcome.failed(
            f"hacking tools installed: {', '.join(names)}", *(f"{f.name}: {f.path}" for f in found)
        )
    return Outcome.passed(f"none of {len(deny)} hacking tools found")


@control("BYOD-06", needs_ssh=False)
def no_work_data(ctx: Context, p: Params) -> Outcome:
    """No document of the usual folders holds a marker (the collector looked for every
    marker in every place)."""
    work = facts_of(ctx, "work_data").work_data
    assert work is not None  # noqa: S101 (facts_of checked it)
    ctx.note(
        "report: work_data",
        f"{work.scanned} files read, complete={work.complete}\n"
        + "\n".join(f"{f.path}: {f.marker}" for f in work.found),
    )
    searched = {m.casefold() for m in work.markers}
    missed = [str(m) for m in as_list(p["markers"]) if str(m).casefold() not in searched]
    missed += [f"place {pl}" for pl in as_list(p["places"]) if str(pl) not in work.places]
    if missed:
        raise ControlError(
            f"the collector did not look for {', '.join(missed)}: enrol the device again"
        )
    if work.found:
        return Outcome.failed(
            f"work data on the computer: {len(work.found)} documents",
            *(f"{f.path} ({f.marker})" for f in work.found),
        )
    warnings = [] if work.complete else [f"search stopped at its bounds ({work.scanned} files)"]
    return Outcome.of([], f"no work data in {work.scanned} documents", warnings=warnings)


_GOOD_WIFI = re.compile(r"WPA[23]", re.I)
_BAD_WIFI = re.compile(r"WEP|TKIP|\bopen\b|\bnone\b", re.I)


@control("BYOD-07", needs_ssh=False)
def wifi_protected(ctx: Context, p: Params) -> Outcome:
    """The Wi-Fi in use is WPA2/WPA3 without WEP or TKIP; a computer not on Wi-Fi passes."""
    wifi = facts_of(ctx, "wifi").wifi
    assert wifi is not None  # noqa: S101 (facts_of checked it)
    ctx.note(
        "report: wifi",
        f"connected={wifi.connected} security={wifi.security!r} cipher={wifi.cipher!r}",
    )
    if wifi.connected is None:
        raise ControlError("the collector could not tell whether Wi-Fi is in use")
    if not wifi.connected:
        return Outcome.passed("not connected to a Wi-Fi network")
    seen = f"{wifi.security} {wifi.cipher}".strip()
    if _BAD_WIFI.search(seen) or not _GOOD_WIFI.search(wifi.security):
        return Outcome.failed(f"Wi-Fi network protected by {seen or 'nothing (open)'}")
    return Outcome.passed(f"Wi-Fi network protected by {seen}")


@control("BYOD-08", needs_ssh=False)
def lock_and_account(ctx: Context, p: Params) -> Outcome:
    """The screen locks within ``max_lock_seconds``; the account is not an administrator."""
    session = facts_of(ctx, "session").session
    assert session is not None  # noqa: S101 (facts_of checked it)
    ctx.note(
        "report: session",
        f"user={session.user} admin={session.admin} "
        f"lock={session.lock_enabled} after={session.lock_after_s}s",
    )
    if session.lock_enabled is None or session.admin is None:
        raise ControlError("the collector could not read the screen lock or the account's groups")
    limit = int(p["max_lock_seconds"])
    problems = []
    if not session.lock_enabled or session.lock_after_s is None:
        problems.append("the screen does not lock by itself")
    elif session.lock_after_s == 0 or session.lock_after_s > limit:
        problems.append(f"the screen locks after {session.lock_after_s} s (limit {limit} s)")
    if session.admin and not p["allow_admin"]:
        problems.append(f"{session.user} is an administrator")
    return Outcome.of(
        problems, f"screen locks after {session.lock_after_s} s; {session.user} not an admin"
    )
