"""What a hardened Debian server shows an auditor beyond the usual roles: LNX-12 the legal
banner before login, LNX-13 the defaults of new accounts (login.defs) and the umask of
login shells, LNX-14 core dumps off (docs/controls.md; role baseline writes all three).

Files are read with ``cat``, ``head -c`` and ``stat`` as the audit account (they are
world-readable on Debian), ``sshd -T`` through sudo. Nothing is written on the host.
"""

from __future__ import annotations

import re
import shlex

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params, as_list
from toolkit.audit.registry import control
from toolkit.controls import hardening_parsers as hp
from toolkit.controls import linux_parsers as parsers

#: Bytes of a banner file that are read.
BANNER_BYTES = 16 * 1024
_PATH = re.compile(r"/[A-Za-z0-9._/+-]{1,255}")


# --- LNX-12 legal banner ---------------------------------------------------------------


def _sshd_banner(ctx: Context) -> str:
    """The file sshd sends before authentication (``sshd -T``), "none" when none."""
    text = ctx.output("sshd -T", sudo=True, grep=r"^banner ")
    settings = parsers.sshd_settings(text)
    if not settings:
        raise ControlError("sshd -T printed nothing")
    return settings.get("banner", ["none"])[0].strip() or "none"


def _banner_problems(ctx: Context, path: str, p: Params, *, sudo: bool) -> list[str]:
    """What is wrong with one banner file: missing, writable by others, without French or
    Arabic text, naming the system."""
    quoted = shlex.quote(path)
    stat = ctx.run(f"stat -c '%a %u %g' -- {quoted}", sudo=sudo)
    if stat.rc != 0:
        return [f"{path} is missing"]
    problems = []
    owner = hp.file_stat(stat.stdout)
    if owner is None:
        raise ControlError(f"stat of {path} printed no mode and owner: {stat.stdout[:80]!r}")
    if owner.mode & ~0o644 or owner.uid != 0 or owner.gid != 0:
        problems.append(f"{path} is {owner.mode:o} {owner.uid}:{owner.gid}, not 644 root:root")
    text = ctx.output(f"head -c {BANNER_BYTES} -- {quoted}", sudo=sudo)
    found = hp.letters(text)
    least = int(p["min_letters"])
    missing = [
        language
        for language, count in (("French", found.latin), ("Arabic", found.arabic))
        if count < least
    ]
    if missing:
        problems.append(f"{path} has no {' nor '.join(missing)} text (< {least} letters)")
    lowered = text.lower()
    named = [str(w) for w in as_list(p["forbidden"]) if str(w).lower() in lowered]
    if named:
        problems.append(f"{path} names the system ({', '.join(named)})")
    return problems


@control("LNX-12")
def legal_banner(ctx: Context, p: Params) -> Outcome:
    """A legal warning in French and Arabic before every login: /etc/issue (console),
    /etc/issue.net and the file sshd sends (its Banner); root's files, naming no system."""
    files = [str(f) for f in as_list(p["files"])]
    banner = _sshd_banner(ctx)
    problems = []
    if banner.lower() == "none":
        problems.append("sshd sends no banner before authentication (Banner none)")
    elif not _PATH.fullmatch(banner):
        problems.append(f"sshd's Banner is not a file path: {banner[:80]}")
    elif banner not in files:
        files.append(banner)
    for path in files:
        # a Banner file elsewhere may be readable by root alone: sshd reads it as root
        problems += _banner_problems(ctx, path, p, sudo=path not in as_list(p["files"]))
    shown = ", ".join(files)
    return Outcome.of(problems, f"French and Arabic legal banner in {shown}; sshd sends {banner}")


# --- LNX-13 login.defs and umasks --------------------------------------------------------

_DEFS_KEYS = (
    "UMASK|PASS_MAX_DAYS|PASS_MIN_DAYS|PASS_WARN_AGE|ENCRYPT_METHOD|SHA_CRYPT_M(IN|AX)_ROUNDS"
)
PROFILES = "/etc/profile /etc/bash.bashrc /etc/profile.d/*.sh"


def _defs_int(defs: dict[str, str], key: str, default: int) -> int:
    if key not in defs:
        return default
    number = parsers.ascii_int(defs[key])
    if number is None:
        raise ControlError(f"login.defs: {key} {defs[key][:50]} is not a number")
    return number


def _hashing_problems(defs: dict[str, str], p: Params) -> list[str]:
    method = defs.get("ENCRYPT_METHOD", "")
    allowed = [str(m) for m in as_list(p["encrypt_methods"])]
    if method not in allowed:
        shown = method[:30] or "not set (DES)"
        return [f"ENCRYPT_METHOD {shown} (one of {', '.join(allowed)})"]
    if method not in ("SHA512", "SHA256"):
        return []
    # shadow takes the lower bound when both are set, the one set otherwise; glibc's 5000
    bounds = [
        _defs_int(defs, key, 5000)
        for key in ("SHA_CRYPT_MIN_ROUNDS", "SHA_CRYPT_MAX_ROUNDS")
        if key in defs
    ]
    rounds = min(bounds, default=5000)
    least = int(p["min_sha_rounds"])
    return [f"{method} with {rounds} rounds (at least {least})"] if rounds < least else []


def _login_shell_problems(ctx: Context, defs_umask: int | None, required: int) -> list[str]:
    """Whether login shells get the umask: from a shell profile, or from pam_umask (which
    reads login.defs) in the sessions' PAM stack; no profile may set a weaker one."""
    lines = ctx.output(f"grep -sHE '^[[:space:]]*umask[[:space:]]' {PROFILES}; true")
    session = ctx.output("cat /etc/pam.d/common-session 2>/dev/null; true", grep="pam_umask")
    problems, strict = [], False
    for path, word in hp.profile_umasks(lines):
        mask = hp.umask_value(word)
        if mask is None:
            problems.append(f"{path}: umask {word[:20]} cannot be read")
        elif not hp.at_least_as_strict(mask, required):
            problems.append(f"{path} sets umask {mask:03o}, weaker than {required:03o}")
        else:
            strict = True
    present, given = hp.pam_umask(session)
    pam_mask = hp.umask_value(given) if given is not None else defs_umask
    if present and pam_mask is not None and hp.at_least_as_strict(pam_mask, required):
        strict = True
    if not strict:
        problems.append(
            f"login shells keep a weaker umask: none of {PROFILES} sets {required:03o} "
            "and pam_umask does not give it"
        )
    return problems


@control("LNX-13")
def account_defaults(ctx: Context, p: Params) -> Outcome:
    """login.defs gives new accounts a strict umask, password ages and a strong hashing
    method with enough rounds; login shells get that umask."""
    defs = hp.login_defs(ctx.output("cat /etc/login.defs", grep=rf"^\s*({_DEFS_KEYS})\b"))
    required = hp.umask_value(str(p["umask"]))
    if required is None:
        raise ControlError(f"umask parameter {p['umask']!r} is not an octal umask")
    problems = []
    umask = hp.umask_value(defs.get("UMASK", "022"))
    if umask is None or not hp.at_least_as_strict(umask, required):
        problems.append(f"UMASK {defs.get('UMASK', 'not set (022)')[:20]} (at most {p['umask']})")
    max_days = _defs_int(defs, "PASS_MAX_DAYS", 99999)
    if max_days < 0 or max_days > int(p["max_password_days"]):
        problems.append(f"PASS_MAX_DAYS {max_days} (at most {p['max_password_days']})")
    min_days = _defs_int(defs, "PASS_MIN_DAYS", 0)
    if min_days < int(p["min_password_days"]):
        problems.append(f"PASS_MIN_DAYS {min_days} (at least {p['min_password_days']})")
    warn = _defs_int(defs, "PASS_WARN_AGE", 0)
    if warn < int(p["min_warn_days"]):
        problems.append(f"PASS_WARN_AGE {warn} (at least {p['min_warn_days']})")
    problems += _hashing_problems(defs, p)
    if p["login_shells"]:
        problems += _login_shell_problems(ctx, umask, required)
    return Outcome.of(
        problems,
        f"new accounts: umask {defs.get('UMASK')}, passwords {min_days}-{max_days} days "
        f"(warned {warn} days before), {defs.get('ENCRYPT_METHOD')}; login shells too",
    )


# --- LNX-14 core dumps -------------------------------------------------------------------------


def _in_container(ctx: Context) -> bool:
    res = ctx.run("systemd-detect-virt --container")
    return res.rc == 0 and res.stdout.strip() not in ("", "none")


@control("LNX-14")
def core_dumps_off(ctx: Context, p: Params) -> Outcome:
    """No core dumps: a hard core limit of 0 for every login and none raised, setuid
    programs never dumped (fs.suid_dumpable 0), systemd-coredump storing nothing."""
    limits = hp.core_limits(
        ctx.output(
            "cat /etc/security/limits.conf /etc/security/limits.d/*.conf 2>/dev/null; true",
            grep=r"\score\s",
        )
    )
    problems, warnings = [], []
    # the files in pam_limits' order (the shell's glob sorts limits.d by name)
    hard = list(hp.effective_hard_core(limits).values())
    if not any(x.domain == "*" and hp.limit_is_zero(x.value) for x in hard):
        problems.append("no `* hard core 0` in /etc/security/limits.conf or limits.d")
    raised = [x for x in hard if not hp.limit_is_zero(x.value)]
    if raised:
        shown = ", ".join(f"{x.domain} {x.kind} core {x.value}" for x in raised[:5])
        problems.append(f"core dumps allowed by {shown}")
    dumpable_text = ctx.output("cat /proc/sys/fs/suid_dumpable").strip()
    dumpable = parsers.ascii_int(dumpable_text)
    if dumpable is None:
        raise ControlError(f"fs.suid_dumpable is not a number: {dumpable_text[:50]!r}")
    if dumpable != 0:
        said = f"fs.suid_dumpable is {dumpable}: setuid programs may dump core"
        if _in_container(ctx):
            # not namespaced: the setting of the machine that runs the container
            warnings.append(f"{said} (the kernel's of the machine running this container)")
        else:
            problems.append(said)
    installed = ctx.run("dpkg-query -W -f='${Status}' systemd-coredump").stdout
    if "install ok installed" in installed:
        conf = hp.unit_settings(
            ctx.output(
                "systemd-analyze cat-config systemd/coredump.conf",
                grep=r"^\s*(Storage|ProcessSizeMax)\s*=",
            )
        )
        storage, size = conf.get("Storage", "external"), conf.get("ProcessSizeMax", "32G")
        if storage != "none":
            problems.append(f"systemd-coredump stores dumps (Storage={storage})")
        if size != "0":
            problems.append(f"systemd-coredump ProcessSizeMax={size}")
    return Outcome.of(
        problems,
        "core dumps off: hard limit 0, fs.suid_dumpable 0, systemd-coredump storing nothing",
        warnings=warnings,
    )
