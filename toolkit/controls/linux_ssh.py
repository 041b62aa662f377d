"""The SSH server of a Linux host, LNX-03 (effective sshd settings, and the methods offered
on the wire) and LNX-04 (the algorithms offered on the wire, a post-quantum hybrid key
exchange among them when the host's OpenSSH has one) (docs/controls.md).

What the server offers is read from the audit's own connection (toolkit.adapters.ssh);
``sshd -T`` through sudo, ``ssh -Q kex`` as the audit account. Nothing is written.
"""

from __future__ import annotations

import re
from typing import Any

import paramiko

from toolkit.adapters.ssh import OFFER_MEMO, probe_offer
from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params, as_list
from toolkit.audit.registry import control
from toolkit.controls import hardening_parsers
from toolkit.controls import linux_parsers as parsers

# --- LNX-03 sshd settings --------------------------------------------------------------


def sshd_effective(ctx: Context) -> dict[str, list[str]]:
    """``sshd -T``: every effective setting (lowercase key -> values, in order)."""
    text = ctx.output(
        "sshd -T",
        sudo=True,
        grep=r"^(permitrootlogin|passwordauthentication|kbdinteractiveauthentication|"
        r"permitemptypasswords|maxauthtries|x11forwarding|allowagentforwarding|"
        r"allowtcpforwarding|allowusers|allowgroups|usepam) ",
    )
    settings = parsers.sshd_settings(text)
    if not settings:
        raise ControlError("sshd -T printed nothing")
    return settings


def _wire_offer(ctx: Context) -> Any:
    def probe() -> Any:
        try:
            return probe_offer(ctx.ssh_address, ctx.ssh_port, timeout=ctx.probe_timeout)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            return exc

    return ctx.memo(OFFER_MEMO, probe)


@control("LNX-03")
def sshd_settings(ctx: Context, p: Params) -> Outcome:
    """Effective sshd settings: no root or password login, few tries, no forwarding,
    an AllowUsers/AllowGroups list; the methods offered on the wire agree."""
    s = sshd_effective(ctx)

    def one(key: str) -> str:
        return s.get(key, [""])[0].lower()

    problems = []
    if one("permitrootlogin") not in as_list(p["permit_root_login"]):
        problems.append(f"PermitRootLogin {one('permitrootlogin')}")
    if one("passwordauthentication") != "no":
        problems.append(f"PasswordAuthentication {one('passwordauthentication')}")
    if one("kbdinteractiveauthentication") != "no" and one("usepam") == "yes":
        problems.append("KbdInteractiveAuthentication yes with UsePAM (password prompts)")
    if one("permitemptypasswords") != "no":
        problems.append("PermitEmptyPasswords yes")
    tries = one("maxauthtries")
    number = parsers.ascii_int(tries)
    if number is None or number < 0 or number > int(p["max_auth_tries"]):
        problems.append(f"MaxAuthTries {tries} (max {p['max_auth_tries']})")
    for key, name in (
        ("x11forwarding", "X11Forwarding"),
        ("allowagentforwarding", "AllowAgentForwarding"),
        ("allowtcpforwarding", "AllowTcpForwarding"),
    ):
        if one(key) != "no":
            problems.append(f"{name} {one(key)}")
    if p["require_allow_list"] and not (s.get("allowusers") or s.get("allowgroups")):
        problems.append("neither AllowUsers nor AllowGroups is set")
    offer = _wire_offer(ctx)
    if isinstance(offer, Exception):
        ctx.note(f"SSH handshake with {ctx.ssh_address}:{ctx.ssh_port}", f"failed: {offer}")
    elif offer.auth_methods is not None:
        ctx.note(
            f"SSH 'none' authentication request to {ctx.ssh_address}:{ctx.ssh_port}",
            "methods offered: " + ", ".join(offer.auth_methods),
        )
        weak = sorted({"password", "keyboard-interactive", "none"} & set(offer.auth_methods))
        if weak:
            problems.append(f"the server offers {', '.join(weak)} authentication")
    return Outcome.of(problems, "root and password login off, forwarding off, allow-list set")


# --- LNX-04 algorithms on the wire -------------------------------------------------------

_PSEUDO = re.compile(r"^(ext-info-[cs]|kex-strict-[cs]-v00@openssh\.com)$")


@control("LNX-04")
def ssh_algorithms(ctx: Context, p: Params) -> Outcome:
    """Only strong key exchange, host key, cipher and MAC algorithms are offered."""
    offer = _wire_offer(ctx)
    probe = f"SSH KEXINIT from {ctx.ssh_address}:{ctx.ssh_port}"
    if isinstance(offer, Exception):
        raise ControlError(f"{probe}: {offer}")
    lists = {
        "kex": offer.kex,
        "host_key": offer.host_key,
        "ciphers": offer.ciphers,
        "macs": offer.macs,
    }
    ctx.note(probe, "\n".join(f"{k}: {','.join(v)}" for k, v in lists.items()))
    problems = []
    for kind, offered in lists.items():
        allowed = [re.compile(x) for x in as_list(p[f"allowed_{kind}"])]
        bad = [
            a for a in offered if not _PSEUDO.match(a) and not any(r.fullmatch(a) for r in allowed)
        ]
        if bad:
            problems.append(f"{kind}: {', '.join(bad)}")
    hybrid, warnings = _post_quantum(
        ctx, offer.kex, [str(a) for a in as_list(p["post_quantum_kex"])]
    )
    return Outcome.of(
        problems, f"{offer.banner}: only allowed algorithms offered; {hybrid}", warnings=warnings
    )


def _post_quantum(
    ctx: Context, offered: tuple[str, ...], hybrids: list[str]
) -> tuple[str, list[str]]:
    """What LNX-04 says of the post-quantum hybrid key exchanges: the one offered, or
    whether the host's OpenSSH has one it could offer (``ssh -Q kex``: the client comes
    with the server, at the same version on Debian). A warning when it could and does not;
    nothing when it cannot be known."""
    found = [a for a in offered if a in hybrids]
    if found:
        return f"post-quantum hybrid key exchange {found[0]} offered", []
    try:
        res = ctx.run("ssh -Q kex")
    except ControlError as exc:
        return f"no post-quantum hybrid offered (whether OpenSSH has one is unknown: {exc})", []
    if res.rc != 0:
        said = res.stderr.strip()[:100] or f"exit {res.rc}"
        return f"no post-quantum hybrid offered (whether OpenSSH has one is unknown: {said})", []
    known = set(hardening_parsers.algorithm_names(res.stdout))
    could = [a for a in hybrids if a in known]
    if could:
        return "", [
            f"no post-quantum hybrid key exchange offered although this OpenSSH has "
            f"{', '.join(could)}: put it first in sshd's KexAlgorithms"
        ]
    return "no post-quantum hybrid: this OpenSSH has none", []
