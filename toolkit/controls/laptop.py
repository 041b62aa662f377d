"""Managed laptops: LAP-01 to LAP-06 (docs/controls.md, docs/audit.md); LAP-07..09 in
laptop_access.py, LAP-10..12 in laptop_software.py.

A teleworker's laptop (Debian with GNOME, inventory group ``laptops``) is read over SSH
like a server: commands as the audit's account, root-only state through the context's
sudo, nothing written. The controls judge the state in force (the compiled dconf
database, the module configuration kmod reads, the services running), whoever configured
it: role laptop or anything else.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params
from toolkit.audit.registry import control
from toolkit.controls import laptop_parsers as parsers
from toolkit.controls import linux
from toolkit.controls.linux_parsers import ages

HOUR = 3600
#: Files one listing may name before the control gives up (a dconf folder, APT sources).
MAX_FILES = 64

# --- files of the host -------------------------------------------------------------------


@dataclass(frozen=True)
class HostFile:
    """A file of the host: its listing and its text (None when over the size cap)."""

    path: str
    mtime: int
    size: int
    text: str | None


def list_files(
    ctx: Context, *starts: str, names: tuple[str, ...] = ("*",), sudo: bool = False
) -> list[parsers.Listed]:
    """The regular files among ``starts`` and directly in those that are folders, whose
    names match one of ``names`` (hidden ones left out, symbolic links followed), in path
    order; at most MAX_FILES."""
    match = " -o ".join(f"-name {shlex.quote(n)}" for n in names)
    command = (
        f"find -L {' '.join(shlex.quote(s) for s in starts)} -maxdepth 1 -type f "
        f"! -name '.*' \\( {match} \\) -printf '%T@ %s %p\\n' 2>/dev/null; true"
    )
    listed = parsers.listing(ctx.output(command, sudo=sudo), starts)
    if len(listed) > MAX_FILES:
        raise ControlError(f"more than {MAX_FILES} files in {', '.join(starts)}: not judged")
    return sorted(listed, key=lambda f: f.path)


def read_file(ctx: Context, item: parsers.Listed, sudo: bool = False) -> HostFile:
    """A listed file with its text, read with ``cat`` unless over parsers.MAX_FILE_BYTES."""
    text = None
    if item.size <= parsers.MAX_FILE_BYTES:
        text = ctx.output(f"cat -- {shlex.quote(item.path)}", sudo=sudo)
    return HostFile(item.path, item.mtime, item.size, text)


def read_files(
    ctx: Context, *starts: str, names: tuple[str, ...] = ("*",), sudo: bool = False
) -> list[HostFile]:
    """Every file :func:`list_files` names, read."""
    return [read_file(ctx, f, sudo) for f in list_files(ctx, *starts, names=names, sudo=sudo)]


# --- LAP-01 full-disk encryption ----------------------------------------------------------


@control("LAP-01")
def disk_encrypted(ctx: Context, p: Params) -> Outcome:
    """The root filesystem lies on a dm-crypt (LUKS) device: ``lsblk -s`` of its source,
    from the filesystem down to the disk, has a ``crypt`` layer."""
    mounted = ctx.output("findmnt -n -o SOURCE,FSTYPE /").split()
    source = mounted[0].split("[", 1)[0] if mounted else ""
    fstype = mounted[1] if len(mounted) > 1 else "?"
    if not source.startswith("/dev/") or parsers.CONTROL_CHARS.search(source):
        return Outcome.failed(
            f"the root filesystem is {source[:80] or 'unknown'} ({fstype[:20]}), not on a "
            "block device of this computer: nothing encrypts it"
        )
    layers = ctx.output(f"lsblk -s -n -r -o NAME,TYPE -- {shlex.quote(source)}")
    stack = [ln.split() for ln in layers.splitlines() if len(ln.split()) == 2]
    crypt = [name for name, kind in stack if kind == "crypt"]
    if crypt:
        return Outcome.passed(f"the root filesystem ({source}) is on dm-crypt device {crypt[0]}")
    seen = ", ".join(f"{name} {kind}" for name, kind in stack[:6]) or "nothing listed"
    return Outcome.failed(f"the root filesystem ({source}) is not encrypted: no dm-crypt ({seen})")


# --- LAP-02 and LAP-04 dconf ---------------------------------------------------------------

PROFILE = "/etc/dconf/profile/user"
#: Values GNOME uses when no database sets a key (its schemas' defaults).
GNOME_DEFAULTS = {
    "/org/gnome/desktop/session/idle-delay": "uint32 300",
    "/org/gnome/desktop/screensaver/lock-enabled": "true",
    "/org/gnome/desktop/screensaver/lock-delay": "uint32 0",
    "/org/gnome/desktop/screensaver/idle-activation-enabled": "true",
    "/org/gnome/desktop/media-handling/automount": "true",
    "/org/gnome/desktop/media-handling/automount-open": "true",
    "/org/gnome/desktop/media-handling/autorun-never": "false",
}


@dataclass
class Dconf:
    """The system's dconf settings as a user's session reads them."""

    problems: list[str] = field(default_factory=list)
    #: key path -> (value, the keyfile that sets it) from the databases in force
    values: dict[str, tuple[str, str]] = field(default_factory=dict)
    locked: set[str] = field(default_factory=set)

    def setting(self, key: str) -> tuple[str, str]:
        """A key's value and where it comes from (GNOME's default when no file sets it)."""
        return self.values.get(key) or (GNOME_DEFAULTS.get(key, ""), "GNOME's default")


def _database(ctx: Context, name: str) -> tuple[list[str], dict[str, tuple[str, str]], set[str]]:
    """(problems, values, locked keys) of system database ``name``: its keyfiles in name
    order (a later file overrides an earlier one, as ``dconf update`` compiles them), its
    locks, and whether ``dconf update`` ran since they last changed."""
    base = f"/etc/dconf/db/{name}"
    listed = list_files(ctx, base, f"{base}.d", f"{base}.d/locks")
    compiled = next((f for f in listed if f.path == base), None)  # binary: not read
    sources = [read_file(ctx, f) for f in listed if f.path != base]
    problems: list[str] = [] if listed else [f"no dconf database {base} nor {base}.d"]
    values: dict[str, tuple[str, str]] = {}
    locked: set[str] = set()
    for f in sources:
        if f.text is None:
            problems.append(f"{f.path}: over {parsers.MAX_FILE_BYTES} bytes, not judged")
        elif f.path.startswith(f"{base}.d/locks/"):
            locked |= parsers.locks(f.text)
        else:
            values.update({k: (v, f.path) for k, v in parsers.keyfile(f.text).items()})
    newest = max(sources, key=lambda f: f.mtime, default=None)
    if compiled is None and sources:
        problems.append(f"dconf update not run: no compiled database {base}")
    elif compiled is not None and newest is not None and newest.mtime > compiled.mtime:
        problems.append(f"dconf update not run since {newest.path} changed: not in force")
    return problems, values, locked


def dconf_settings(ctx: Context) -> Dconf:
    """The profile's system databases, read from the first (highest) to the last: a key
    locked in one takes its value from that database or a later one, the user's own
    value ignored; a key no database locks is the user's to change."""
    profile = ctx.run(f"cat {PROFILE}")
    if profile.rc != 0:
        return Dconf([f"no {PROFILE}: the system's settings (/etc/dconf/db) are not read"])
    names = parsers.dconf_system_dbs(profile.stdout)
    if not names:
        return Dconf([f"{PROFILE} names no system-db: nothing the system sets is read"])
    result = Dconf()
    databases = []
    for name in names:
        problems, values, locked = _database(ctx, name)
        result.problems += problems
        databases.append((values, locked))
    for key in {k for values, locked in databases for k in (*values, *locked)}:
        level = next((i for i, (_, lk) in enumerate(databases) if key in lk), None)
        start = level if level is not None else 0
        found = next((v[key] for v, _ in databases[start:] if key in v), None)
        if found is not None:
            result.values[key] = found
        if level is not None:
            result.locked.add(key)
    return result


def _judge_keys(dconf: Dconf, wanted: dict[str, bool]) -> list[str]:
    """Problems of boolean keys that must have a value and be locked."""
    problems = []
    for key, value in wanted.items():
        raw, where = dconf.setting(key)
        if parsers.gvariant_bool(raw) is not value:
            problems.append(f"{key} is {raw[:40] or 'unset'} ({where}), not {str(value).lower()}")
        if key not in dconf.locked:
            problems.append(f"{key} is not locked: the user can change it")
    return problems


@control("LAP-02")
def screen_lock(ctx: Context, p: Params) -> Outcome:
    """The session goes idle within ``max_idle_seconds`` and the screen then locks at once;
    those keys are locked in a dconf system database in force."""
    limit = int(p["max_idle_seconds"])
    dconf = dconf_settings(ctx)
    problems = list(dconf.problems)
    idle_key = "/org/gnome/desktop/session/idle-delay"
    delay_key = "/org/gnome/desktop/screensaver/lock-delay"
    idle_raw, idle_from = dconf.setting(idle_key)
    idle = parsers.gvariant_int(idle_raw)
    delay = parsers.gvariant_int(dconf.setting(delay_key)[0])
    if idle is None:
        problems.append(f"{idle_key} is {idle_raw[:40]!r} ({idle_from}), not a number of seconds")
    elif idle == 0:
        problems.append(f"{idle_key} is 0 ({idle_from}): the session never goes idle")
    elif idle + (delay or 0) > limit:
        problems.append(f"the screen locks after {idle + (delay or 0)} s (limit {limit} s)")
    if delay is None:
        problems.append(f"{delay_key} is not a number of seconds")
    for key in (idle_key, delay_key):
        if key not in dconf.locked:
            problems.append(f"{key} is not locked: the user can change it")
    problems += _judge_keys(dconf, {"/org/gnome/desktop/screensaver/lock-enabled": True})
    activation = "/org/gnome/desktop/screensaver/idle-activation-enabled"
    if parsers.gvariant_bool(dconf.setting(activation)[0]) is False:
        problems.append(f"{activation} is false: the screen saver never starts")
    return Outcome.of(problems, f"the screen locks after {idle} s idle, locked for the user")


@control("LAP-04")
def no_automount(ctx: Context, p: Params) -> Outcome:
    """Removable media are neither mounted nor opened nor run by themselves: GNOME's
    media-handling keys, locked in a dconf system database in force."""
    dconf = dconf_settings(ctx)
    base = "/org/gnome/desktop/media-handling"
    wanted = {f"{base}/automount": False, f"{base}/automount-open": False}
    wanted[f"{base}/autorun-never"] = True
    problems = dconf.problems + _judge_keys(dconf, wanted)
    return Outcome.of(problems, "automount, automount-open off and autorun never, locked")


# --- LAP-03 USB mass storage --------------------------------------------------------------

MODPROBE_CONFIG = (
    "config=$(/sbin/modprobe --showconfig) || exit $?; "
    "printf '%s\\n' \"$config\" | grep -E '^(blacklist|install) (usb[-_]storage|uas|usbhid) ?'"
    "; true"
)


def _usbguard(ctx: Context) -> str | None:
    """Why USBGuard does not stand in for the module configuration (None when it does):
    it runs, blocks what its rules do not allow, and no rule allows mass storage."""
    if ctx.run("systemctl is-active usbguard").stdout.strip() != "active":
        return "USBGuard is not running"
    conf = ctx.run("cat /etc/usbguard/usbguard-daemon.conf", sudo=True).stdout
    target = [
        ln.partition("=")[2].strip()
        for ln in conf.splitlines()
        if ln.strip().startswith("ImplicitPolicyTarget")
    ]
    if target[-1:] not in (["block"], ["reject"]):
        return f"USBGuard's ImplicitPolicyTarget is {(target or ['not set'])[-1][:20]}, not block"
    rules = ctx.run("cat /etc/usbguard/rules.conf", sudo=True).stdout
    for line in rules.splitlines():
        words = line.split("#", 1)[0].split()
        if words[:1] == ["allow"] and (len(words) == 1 or any(w.startswith("08:") for w in words)):
            return f"a USBGuard rule allows mass storage: {line.strip()[:80]}"
    return None


@control("LAP-03")
def usb_storage_blocked(ctx: Context, p: Params) -> Outcome:
    """usb-storage and uas cannot be loaded (``install MODULE /bin/false`` in the module
    configuration; a blacklist alone does not stop an explicit modprobe), or USBGuard
    blocks new devices; keyboards and mice (usbhid) stay allowed."""
    rules = parsers.module_rules(ctx.output(MODPROBE_CONFIG))
    problems, blocked = [], []
    for module in ("usb_storage", "uas"):
        rule = rules.get(module, parsers.ModuleRules())
        if parsers.install_refuses(rule.install):
            blocked.append(module)
        elif rule.blacklisted:
            problems.append(
                f"{module} is only blacklisted: an explicit modprobe still loads it "
                f"(no install {module} /bin/false)"
            )
        else:
            problems.append(f"{module} is not blocked (no install {module} /bin/false)")
    hid = rules.get("usbhid", parsers.ModuleRules())
    hid_off = hid.blacklisted or hid.install is not None
    summary = f"{' and '.join(blocked)} refused by the module configuration"
    if problems:
        why = _usbguard(ctx)
        if why is None:
            problems, summary = [], "USBGuard blocks USB devices its rules do not allow"
        else:
            problems.append(why)
    if hid_off:
        problems.append("usbhid is blocked too: keyboards and mice would not work")
    loaded = ctx.output("grep -E '^(usb_storage|uas) ' /proc/modules; true").split("\n")
    warnings = [f"{ln.split()[0]} is loaded now" for ln in loaded if ln.strip()]
    return Outcome.of(problems, summary, warnings=warnings)


# --- LAP-05 updates ------------------------------------------------------------------------


@control("LAP-05")
def automatic_updates(ctx: Context, p: Params) -> Outcome:
    """Judged as LNX-01 judges a server (toolkit.controls.linux.security_updates): no
    security update pending past ``max_pending_days``, unattended-upgrades installed and
    on, package lists fresh."""
    return linux.security_updates(ctx, p)


# --- LAP-06 antivirus ----------------------------------------------------------------------

SIGNATURES = (
    "cvd", "cld", "cud", "hdb", "hsb", "hdu", "hsu", "mdb", "msb", "mdu", "msu", "ndb", "ndu",
    "ldb", "ldu", "cdb", "idb", "pdb", "gdb", "wdb", "yar", "yara", "cbc", "ftm",
)  # fmt: skip


@control("LAP-06")
def antivirus(ctx: Context, p: Params) -> Outcome:
    """ClamAV's daemon runs and its newest signature file is younger than
    ``max_signature_hours``; freshclam running is expected, another source of signatures
    (an administration's mirror, files it copies) is a warning."""
    limit = int(p["max_signature_hours"])
    daemon, updater = str(p["daemon"]), str(p["updater"])
    states = ctx.run(f"systemctl is-active {shlex.quote(daemon)} {shlex.quote(updater)}")
    running = [*states.stdout.split(), "missing", "missing"][:2]
    problems, warnings = [], []
    if running[0] != "active":
        problems.append(f"{daemon} is {running[0]}: no antivirus running")
    if running[1] != "active":
        warnings.append(
            f"{updater} is {running[1]}: signatures must come from elsewhere "
            "(their age is what is judged)"
        )
    globs = " ".join(f"/var/lib/clamav/*.{ext}" for ext in SIGNATURES)
    listed = ctx.output(
        f"now=$(date +%s); for f in {globs}; do "
        '[ -f "$f" ] && echo "$(( now - $(stat -c %Y "$f") )) $f"; done; true'
    )
    newest = min((max(a, 0) for a in ages(listed)), default=None)
    if newest is None:
        problems.append("no signature file in /var/lib/clamav")
    elif newest > limit * HOUR:
        problems.append(f"the newest signatures are {newest // HOUR} h old (limit {limit} h)")
    age = f"{newest // HOUR} h" if newest is not None else "?"
    return Outcome.of(problems, f"{daemon} running, newest signatures {age} old", warnings=warnings)
