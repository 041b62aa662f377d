"""Managed laptops: LAP-10 (office macros), LAP-11 (browser), LAP-12 (unapproved
software) (docs/controls.md). See toolkit/controls/laptop.py."""

from __future__ import annotations

import re
import shlex

from toolkit import hacking_tools
from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params, as_list
from toolkit.audit.registry import control
from toolkit.controls import laptop_parsers as parsers
from toolkit.controls import linux
from toolkit.controls.laptop import HostFile, read_files
from toolkit.controls.linux_parsers import ascii_int, pending_upgrades

#: Every package of the host with its state and version, one listing a host that
#: LAP-10, LAP-11 and LAP-12 share (the context runs it once).
DPKG_LIST = r"dpkg-query -W -f='${Package} ${db:Status-Abbrev} ${Version}\n'"


def installed(ctx: Context, grep: str) -> dict[str, str]:
    """Installed package -> version (the evidence keeps the lines matching ``grep``)."""
    return parsers.installed_packages(ctx.output(DPKG_LIST, grep=grep))


def _unread(files: list[HostFile]) -> list[str]:
    return [
        f"{f.path}: over {parsers.MAX_FILE_BYTES} bytes, not judged"
        for f in files
        if f.text is None
    ]


# --- LAP-10 office macros ------------------------------------------------------------------

OFFICE_PACKAGE = "libreoffice-core"
OFFICE_REGISTRY = "/etc/libreoffice/registry"


@control("LAP-10")
def office_macros(ctx: Context, p: Params) -> Outcome:
    """LibreOffice runs no macro of a document from outside: an .xcd file of
    /etc/libreoffice/registry (the administrator's configuration layer) sets
    Office.Common/Security/Scripting MacroSecurityLevel to at least ``min_level``
    (3 very high, 2 high) finalized, so that the user cannot lower it (or disables macros
    altogether, finalized), and no file there sets a lower level. main.xcd, LibreOffice's
    own defaults (megabytes), is not read."""
    if OFFICE_PACKAGE not in installed(ctx, grep=r"^libreoffice"):
        return Outcome.passed(f"no office suite installed ({OFFICE_PACKAGE})")
    minimum = int(p["min_level"])
    files = [
        f
        for f in read_files(ctx, OFFICE_REGISTRY, names=("*.xcd",))
        if not f.path.endswith("/main.xcd")
    ]
    problems, warnings, enforced = [], _unread(files), []
    for f in files:
        if f.text is None:
            continue
        try:
            settings = parsers.office_settings(f.text)
        except ControlError as exc:
            problems.append(f"{f.path}: {exc}")
            continue
        for s in settings:
            level = ascii_int(s.value)
            if s.name == "MacroSecurityLevel" and (level is None or level < minimum):
                problems.append(
                    f"{f.path} sets MacroSecurityLevel {s.value[:10]!r} (at least {minimum})"
                )
            elif s.name == "MacroSecurityLevel" and s.finalized:
                enforced.append(f"MacroSecurityLevel {level} finalized in {f.path}")
            elif s.name == "DisableMacrosExecution" and s.value == "true" and s.finalized:
                enforced.append(f"macros disabled, finalized in {f.path}")
    if not enforced:
        problems.append(
            f"no .xcd file of {OFFICE_REGISTRY} sets MacroSecurityLevel {minimum} or more "
            "finalized: macros of documents from outside may run, or the user may allow them"
        )
    return Outcome.of(problems, "; ".join(enforced), warnings=warnings)


# --- LAP-11 browser ---------------------------------------------------------------------------

#: Browser packages judged, and where each reads its enterprise policy.
BROWSERS = ("firefox-esr", "firefox", "chromium")
FIREFOX_POLICY = "/etc/firefox/policies/policies.json"
CHROMIUM_POLICIES = "/etc/chromium/policies/managed"


def _firefox_policy(ctx: Context, package: str) -> tuple[list[str], str]:
    """(problems, what the policy says) of the policies.json Firefox reads: the
    system-wide one, else the one in its installation's distribution folder."""
    fallback = f"/usr/lib/{package}/distribution/policies.json"
    files = {f.path: f for f in read_files(ctx, FIREFOX_POLICY, fallback, names=("policies.json",))}
    found = files.get(FIREFOX_POLICY) or files.get(fallback)
    if found is None:
        return [
            f"{package}: no enterprise policy ({FIREFOX_POLICY}): any extension may be installed"
        ], ""
    if found.text is None:
        return _unread([found]), ""
    try:
        policy = parsers.json_object(found.text)
    except ControlError as exc:
        return [f"{found.path}: {exc}: Firefox ignores it"], ""
    problems, allowed = parsers.firefox_extensions(policy)
    policies = policy.get("policies")
    updates = isinstance(policies, dict) and policies.get("DisableAppUpdate") is True
    said = (
        f"{package}: extensions blocked but {len(allowed)} allowed"
        f"{' (' + ', '.join(allowed[:5]) + ')' if allowed else ''}; "
        f"{'updates by apt only (DisableAppUpdate)' if updates else 'its own updater on'}"
    )
    return [f"{found.path}: {x}" for x in problems], said


def _chromium_policy(ctx: Context) -> tuple[list[str], str]:
    """(problems, what the policies say) of Chromium's managed policy files."""
    files = read_files(ctx, CHROMIUM_POLICIES, names=("*.json",))
    problems = _unread(files)
    for f in files:
        if f.text is None:
            continue
        try:
            if parsers.chromium_blocks_all(parsers.json_object(f.text)):
                return [], f"chromium: extensions blocked but the allow-list ({f.path})"
        except ControlError as exc:
            problems.append(f"{f.path}: {exc}")
    problems.append(
        f"chromium: no policy of {CHROMIUM_POLICIES} blocks extensions "
        '(ExtensionInstallBlocklist ["*"])'
    )
    return problems, ""


@control("LAP-11")
def browser_current(ctx: Context, p: Params) -> Outcome:
    """A browser of Debian is installed with no update pending for it (a security one
    fails, another warns), and its enterprise policy blocks every extension but an
    allow-list."""
    packages = installed(ctx, grep=r"^(firefox|chromium)")
    found = [b for b in BROWSERS if b in packages]
    if not found:
        return Outcome.failed(f"no supported browser installed ({', '.join(BROWSERS)})")
    simulation = ctx.output(linux.APT_SIMULATION, grep=r"^Inst (firefox|chromium)")
    problems: list[str] = []
    warnings: list[str] = []
    said: list[str] = []
    for pending in pending_upgrades(simulation):
        if pending.package in found:
            text = f"{pending.package} {pending.current} -> {pending.candidate} pending"
            (problems if pending.security else warnings).append(
                text + (" (security update)" if pending.security else "")
            )
    for browser in found:
        issues, summary = (
            _chromium_policy(ctx) if browser == "chromium" else _firefox_policy(ctx, browser)
        )
        problems += issues
        said.append(summary or browser)
    versions = ", ".join(f"{b} {packages[b][:40]}" for b in found)
    return Outcome.of(problems, f"{versions} current; {'; '.join(said)}", warnings=warnings)


# --- LAP-12 unapproved software ---------------------------------------------------------------

PROGRAM_DIRS = (
    "/usr/local/bin", "/usr/local/sbin", "/usr/bin", "/usr/sbin", "/bin", "/sbin",
    "/opt/*/bin", "/home/*/.local/bin",
)  # fmt: skip
APPS = (
    "for d in /var/lib/flatpak/app/* /home/*/.local/share/flatpak/app/* /snap/*; do "
    '[ -d "$d" ] && echo "$d"; done; true'
)
#: Snaps that are snapd's own bases and shared runtimes, not applications.
SNAP_RUNTIMES = re.compile(
    r"bin|bare|snapd|core\d*|gtk-common-themes|gnome-[0-9-]+|kde-frameworks-.+|mesa-.+"
)


def _apps(ctx: Context) -> list[str]:
    """Flatpak applications (system-wide and each user's) and snaps installed."""
    found = []
    for line in ctx.output(APPS, sudo=True).split("\n"):
        path = line.strip()
        if not path.startswith("/") or parsers.CONTROL_CHARS.search(path):
            continue
        if path.startswith("/snap/"):
            name = path.split("/")[2]
            if not SNAP_RUNTIMES.fullmatch(name):
                found.append(f"snap {name}")
        else:
            found.append(f"flatpak {path.rpartition('/')[2]}")
    return found


@control("LAP-12")
def unapproved_software(ctx: Context, p: Params) -> Outcome:
    """No hacking tool (audits/hacking_tools.yml plus ``deny``) is installed, as a package
    or a program; every APT source downloads from ``allowed_sources``; no Flatpak or snap
    application outside ``allowed_apps``."""
    deny = hacking_tools.deny_list(as_list(p["deny"]))
    packages = installed(ctx, grep="^(" + "|".join(re.escape(n) for n in deny) + ") ")
    names = " ".join(shlex.quote(n) for n in deny)
    programs = ctx.output(
        f"for d in {' '.join(PROGRAM_DIRS)}; do for n in {names}; do "
        '[ -e "$d/$n" ] && echo "$d/$n"; done; done; true',
        sudo=True,
    )
    lowered = {n.lower(): n for n in deny}
    found = {lowered[k.lower()] for k in packages if k.lower() in lowered}
    for path in programs.split("\n"):
        name = path.rpartition("/")[2].lower()
        if path.startswith("/") and name in lowered:
            found.add(lowered[name])
    problems = [f"hacking tools installed: {', '.join(sorted(found))}"] if found else []
    allowed = {str(h).lower() for h in as_list(p["allowed_sources"])}
    sources = read_files(
        ctx, "/etc/apt/sources.list", "/etc/apt/sources.list.d", names=("*.list", "*.sources")
    )
    problems += _unread(sources)
    outside: dict[str, str] = {}
    for f in sources:
        for uri in parsers.source_uris(f.text or "", deb822=f.path.endswith(".sources")):
            if parsers.uri_host(uri) not in allowed:
                outside.setdefault(uri[:100], f.path)
    problems += [
        f"APT source {uri} ({path}) is not an allowed host" for uri, path in outside.items()
    ]
    allowed_apps = {str(a) for a in as_list(p["allowed_apps"])}
    extra = [a for a in _apps(ctx) if a.split(" ", 1)[1] not in allowed_apps]
    if extra:
        problems.append(f"applications outside the allow-list: {', '.join(extra[:10])}")
    return Outcome.of(
        problems,
        f"none of {len(deny)} hacking tools; APT sources only from {', '.join(sorted(allowed))}; "
        "no Flatpak or snap application outside the allow-list",
    )
