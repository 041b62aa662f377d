"""NET-01..10 on Cisco ASA (docs/controls.md), judged on the configuration parsed by
ciscoconfparse2 (toolkit.netdev.ios). Management access is the ``ssh``/``http`` lines;
filtering is the access lists bound by ``access-group``; ``console timeout`` 0 (the
default) never closes an idle console."""

from __future__ import annotations

import re

from toolkit.audit.model import ControlError, Params
from toolkit.controls.network_common import Judge, Verdict, int_of, judge_release
from toolkit.controls.network_ios import host_key
from toolkit.netdev.ios import CiscoConfig
from toolkit.netdev.model import DeviceConfig, Line

_VERSION = re.compile(r"(?:Adaptive Security Appliance Software Version|^ASA Version)\s+(\S+)")
_ANY = r"(0\.0\.0\.0 0\.0\.0\.0|any[46]?|::/0)"


def _cfg(dev: DeviceConfig) -> CiscoConfig:
    if dev.cisco is None:
        raise ControlError(f"{dev.name}: no ASA configuration was parsed")
    return dev.cisco


def release(dev: DeviceConfig, p: Params) -> Verdict:
    v = Verdict("")
    found: str | None = None
    where: Line | None = None
    for source in (dev.version, dev.running):
        for number, text in enumerate(source.splitlines(), start=1):
            m = _VERSION.search(text.strip())
            if m:
                found, where = m.group(1), Line(number, text)
                break
        if found:
            break
    judge_release(found, where, p["supported"].get(dev.platform.value, {}), v)
    return v


def protocols(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("SSH v2 only, no telnet")
    for line in cfg.top(r"telnet \S+ \S+ \S+"):
        v.fail("telnet management allowed", line)
    for line in cfg.top(r"ssh version\b"):
        v.see(line)
        if line.text.split()[-1] != "2":
            v.fail("SSH version 1 accepted", line)
    return v


def management_access(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("SSH and ASDM management limited to named networks")
    lines = cfg.top(r"(ssh|http) (\d|any|[0-9a-f:]+/)\S* ")
    v.see(*lines)
    for line in lines:
        if re.match(rf"(ssh|http) {_ANY}\b", line.words):
            v.fail("management open to any address", line)
    return v


def secrets(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("enable and local accounts hashed with PBKDF2")
    for line in cfg.top(r"(enable password|username \S+ (password|nopassword))\b"):
        v.see(line)
        if re.search(r"\bnopassword\b", line.words):
            v.fail("account without a password", line)
        elif not re.search(r"\bpbkdf2\b", line.words):
            v.fail("password hashed with MD5 (`encrypted`), not PBKDF2", line)
    return v


def central_aaa(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("SSH logins checked by a TACACS+/RADIUS server group")
    groups = {
        ln.text.split()[1]: ln for ln in cfg.top(r"aaa-server \S+ protocol (tacacs\+|radius)")
    }
    v.see(*groups.values())
    if not groups:
        v.fail("no TACACS+ or RADIUS server group (`aaa-server NAME protocol ...`)")
    logins = cfg.top(r"aaa authentication ssh console \S+")
    v.see(*logins)
    if not any(ln.text.split()[4] in groups for ln in logins):
        v.fail(
            "SSH logins are not checked by a server group (`aaa authentication ssh console`)",
            *logins,
        )
    return v


def idle_and_lockout(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    limit = int(p["max_idle_minutes"])
    v = Verdict(f"SSH and console idle timeouts within {limit} min, lockout after failures")
    for what, default in (("ssh timeout", 5), ("console timeout", 0)):
        lines = cfg.top(rf"{what} \d+")
        minutes = int_of(lines[0].text.split()[-1]) if lines else default
        v.see(*lines)
        if minutes == 0 or minutes > limit:
            v.fail(f"`{what}` is {minutes or 'never'} (at most {limit} min)", *lines)
    lock = cfg.top(r"aaa local authentication attempts max-fail \d+")
    v.see(*lock)
    if not lock:
        v.fail("no `aaa local authentication attempts max-fail`: no lockout")
    elif int_of(lock[0].text.split()[-1]) > int(p["max_attempts"]):
        v.fail(f"more than {p['max_attempts']} attempts before lockout", *lock)
    return v


def snmp(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("SNMP off, or v3 with authentication and privacy only")
    for line in cfg.top(r"snmp-server community\b"):
        v.fail("SNMP v1/v2c community", line)
    for line in cfg.top(r"snmp-server (group \S+ v3|user \S+ \S+ v3)\b"):
        v.see(line)
        if not re.search(r"\bv3 priv\b|\bpriv\b", line.words):
            v.fail("SNMPv3 without privacy (authPriv needed)", line)
    for line in cfg.top(r"snmp-server host \S+ \S+"):
        v.see(line)
        if re.search(r"\bcommunity\b|\bversion (1|2c)\b", line.words):
            v.fail("SNMP host reached with a community", line)
    return v


def logging_time(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("logging on, to a syslog host, timestamped; NTP")
    for why, pattern in (
        ("logging is off (`logging enable`)", r"logging enable\b"),
        ("no syslog server (`logging host`)", r"logging host \S+ \S+"),
        ("log messages carry no date (`logging timestamp`)", r"logging timestamp\b"),
        ("no NTP server", r"ntp server\b"),
    ):
        lines = cfg.top(pattern)
        v.see(*lines)
        if not lines:
            v.fail(why)
    return v


def crypto(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    bits = int(p["min_rsa_bits"])
    v = Verdict(f"TLS 1.2+ for ASDM and VPN, strong SSH (RSA >= {bits})")
    host_key(dev, bits, v)
    tls = cfg.top(r"ssl server-version\b")
    v.see(*tls)
    if not tls or not re.search(r"tlsv1\.[23]\b", tls[0].words):
        v.fail("TLS below 1.2 accepted (`ssl server-version tlsv1.2`)", *tls)
    for line in cfg.top(r"ssh (key-exchange group|cipher (encryption|integrity))\b"):
        v.see(line)
        if re.search(r"dh-group1-|\b(all|low)\b|3des|md5", line.words):
            v.fail("weak SSH algorithms offered", line)
    return v


def firewall(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("access lists bound: no any/any accept, final deny logged")
    bound = cfg.top(r"access-group \S+ (in|out|global)\b")
    if not bound:
        v.fail("no access list bound by `access-group`")
    for binding in bound:
        name = binding.text.split()[1]
        entries = cfg.top(rf"access-list {re.escape(name)} (extended )?(permit|deny)\b")
        v.see(binding, *entries)
        if not entries:
            v.fail(f"access list {name} is bound but not defined", binding)
            continue
        for entry in entries:
            if re.search(rf"\bpermit (ip|any) {_ANY} {_ANY}(\s|$)", entry.words):
                v.fail(f"access list {name} accepts any traffic from anywhere", entry)
        if not re.search(rf"\bdeny ip {_ANY} {_ANY} log\b", entries[-1].words):
            v.fail(f"access list {name} ends on an unlogged implicit deny", entries[-1])
    return v


JUDGES: dict[str, Judge] = {
    "NET-01": release,
    "NET-02": protocols,
    "NET-03": management_access,
    "NET-04": secrets,
    "NET-05": central_aaa,
    "NET-06": idle_and_lockout,
    "NET-07": snmp,
    "NET-08": logging_time,
    "NET-09": crypto,
    "NET-10": firewall,
}
