"""Managed laptops: LAP-07 (firewall), LAP-08 (the teleworker is not an administrator),
LAP-09 (the VPN always on) (docs/controls.md). See toolkit/controls/laptop.py."""

from __future__ import annotations

import re
import shlex

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params, as_list
from toolkit.audit.registry import control
from toolkit.controls import laptop_parsers as parsers
from toolkit.controls import linux, vpn
from toolkit.controls.linux_parsers import ascii_int

# --- LAP-07 firewall -----------------------------------------------------------------------


@control("LAP-07")
def firewall(ctx: Context, p: Params) -> Outcome:
    """Inbound traffic is dropped by default, judged as LNX-07 judges a server (an
    nftables input base chain with policy drop for IPv4 and IPv6; accepts of replies,
    loopback and ICMP are the laptop's business), and the rules come back at boot."""
    problems = linux.inbound_drop_gaps(ctx)
    boot = ctx.run("systemctl is-enabled nftables.service").stdout.strip()
    if boot != "enabled":
        problems.append(f"nftables.service is {boot[:20] or 'missing'}: no rules after a reboot")
    return Outcome.of(problems, "inbound traffic is dropped by default, also after a reboot")


# --- LAP-08 not an administrator -------------------------------------------------------------

#: A login name safe to judge (anything else is reported, never put in a command).
LOGIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?")
#: Human accounts: Debian's range for them (adduser's FIRST_UID..LAST_UID).
HUMAN_UIDS = range(1000, 60000)
#: Accounts judged at most (a laptop has a few; a directory's thousands are not looked at).
MAX_ACCOUNTS = 50


def _sudo_rules(ctx: Context, name: str) -> str | None:
    """What sudo lets ``name`` run, None when nothing (``sudo -l -U``, run as root)."""
    res = ctx.run(f"sudo -n -l -U {shlex.quote(name)}", sudo=True)
    text = (res.stdout + res.stderr).strip()
    if "is not allowed to run sudo" in text:
        return None
    if res.rc != 0 or "may run the following commands" not in text:
        raise ControlError(f"sudo -l -U {name} said: {text[:200]}")
    rules = text.split("may run the following commands", 1)[1].partition(":")[2]
    return " ".join(rules.split())[:120] or "some commands"


@control("LAP-08")
def not_administrator(ctx: Context, p: Params) -> Outcome:
    """No human account (UID 1000-59999 with a login shell) is in an administrators'
    group (``admin_groups``, its primary group included) or has a sudo rule, but the
    account the audit logs in as (it needs sudo to audit) and ``admin_accounts``."""
    me = ctx.output("id -un").strip()
    exempt = {me, *(str(a) for a in as_list(p["admin_accounts"]))}
    admin_groups = [str(g) for g in as_list(p["admin_groups"])]
    table = parsers.groups(ctx.output("getent group"))
    people = [
        a
        for a in parsers.passwd(ctx.output("getent passwd"))
        if a.uid in HUMAN_UIDS
        and a.shell.rpartition("/")[2] not in ("nologin", "false", "")
        and a.name not in exempt
    ]
    problems, judged = [], []
    for account in people[:MAX_ACCOUNTS]:
        if not LOGIN.fullmatch(account.name):
            problems.append(f"account {account.name[:40]!r}: a name that cannot be checked")
            continue
        judged.append(account.name)
        member = [
            g
            for g in admin_groups
            if g in table and (account.name in table[g][1] or table[g][0] == account.gid)
        ]
        if member:
            problems.append(f"{account.name} is in {', '.join(member)}")
        rules = _sudo_rules(ctx, account.name)
        if rules is not None:
            problems.append(f"{account.name} may use sudo: {rules}")
    warnings = []
    if len(people) > MAX_ACCOUNTS:
        warnings.append(f"{len(people)} accounts: only the first {MAX_ACCOUNTS} were judged")
    if not people:
        warnings.append(f"no account besides {', '.join(sorted(exempt))}: no teleworker's")
    return Outcome.of(
        problems, f"{', '.join(judged)}: not administrators, no sudo", warnings=warnings
    )


# --- LAP-09 VPN always on -----------------------------------------------------------------------

_INTERFACE = re.compile(r"[A-Za-z0-9_=+.-]{1,15}")


@control("LAP-09")
def vpn_always_on(ctx: Context, p: Params) -> Outcome:
    """The WireGuard tunnel is configured, started at boot, up, and its peer answered
    within ``max_handshake_seconds``; the timer that follows a moving gateway, when the
    laptop has one, is on."""
    interface = str(p["interface"])
    if not _INTERFACE.fullmatch(interface):
        raise ControlError(f"interface: {interface[:40]!r} is not a WireGuard interface name")
    conf = f"/etc/wireguard/{interface}.conf"
    unit = f"wg-quick@{interface}"
    if ctx.run(f"test -f {conf}", sudo=True).rc != 0:
        return Outcome.failed(f"no {conf}: no VPN configured")
    problems, warnings = [], []
    enabled = ctx.run(f"systemctl is-enabled {unit}").stdout.strip()
    if enabled != "enabled":
        problems.append(f"{unit} is {enabled[:20] or 'missing'}: the tunnel is not up at boot")
    active = ctx.run(f"systemctl is-active {unit}").stdout.strip()
    if active != "active":
        problems.append(f"{unit} is {active[:20] or 'missing'}: the tunnel is down")
        return Outcome.of(problems, "")
    now = ascii_int(ctx.output("date +%s"))
    if now is None:
        raise ControlError("date +%s printed no number")
    peers = vpn.latest_handshakes(ctx, interface)
    newest = max(peers.values(), default=0)
    limit = int(p["max_handshake_seconds"])
    if not peers:
        problems.append(f"{interface} has no peer")
    elif newest == 0:
        problems.append("tunnel configured but never connected (no handshake)")
    elif now - newest > limit:
        problems.append(f"last handshake {now - newest} s ago (limit {limit} s)")
    timer = str(p["reresolve_timer"])
    if timer:
        state = ctx.run(f"systemctl is-enabled {shlex.quote(timer)}")
        said = state.stdout.strip()
        if said not in ("enabled", "", "not-found"):  # a laptop without the timer: not judged
            warnings.append(f"{timer} is {said[:20]}: a moved gateway is not followed")
    age = f"{now - newest} s ago" if newest else "never"
    return Outcome.of(
        problems, f"{unit} up at boot and now, last handshake {age}", warnings=warnings
    )
