"""NET-01..10 on Cisco IOS and IOS-XE (docs/controls.md), judged on the configuration
parsed by ciscoconfparse2 (toolkit.netdev.ios). Defaults that the running configuration
does not print are the releases' own: no ``exec-timeout`` is 10 minutes."""

from __future__ import annotations

import re

from toolkit.audit.model import ControlError, Params
from toolkit.controls.network_common import Judge, Verdict, int_of, judge_release
from toolkit.netdev.ios import CiscoConfig
from toolkit.netdev.model import DeviceConfig, Line

_VERSION = re.compile(r"Cisco IOS[ -]XE Software.*?Version:?\s+([\w.()]+)|IOS.*Version ([\w.()]+)")
_VTY = r"line vty\b"
_REMARK = re.compile(r"(\d+ )?remark\b")


def _cfg(dev: DeviceConfig) -> CiscoConfig:
    if dev.cisco is None:
        raise ControlError(f"{dev.name}: no IOS configuration was parsed")
    return dev.cisco


def release(dev: DeviceConfig, p: Params) -> Verdict:
    v = Verdict("")
    found: str | None = None
    where: Line | None = None
    for number, text in enumerate(dev.version.splitlines(), start=1):
        m = _VERSION.search(text)
        if m:
            found, where = (m.group(1) or m.group(2)), Line(number, text)
            break
    train_only = found is None
    if found is None:  # offline without NAME.version: the configuration's `version 17.9`
        lines = _cfg(dev).top(r"version \d")
        if lines:
            found, where = lines[0].text.split()[1], lines[0]
    table = p["supported"].get(dev.platform.value, {})
    judge_release(found, where, table, v, train_only=train_only)
    return v


def protocols(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("SSH v2 only on every vty line, no HTTP server")
    ssh2 = cfg.top(r"ip ssh version 2\b")
    v.see(*ssh2)
    if not ssh2:
        v.fail("SSH version 1 still accepted: no `ip ssh version 2`")
    for vty in cfg.sections(_VTY):
        transport = vty.find(r"^transport input\b")
        if not transport:
            v.fail(
                f"`{vty.head.text}` sets no `transport input` (telnet may be accepted)", vty.head
            )
        for line in transport:
            if re.search(r"\b(telnet|all|rlogin)\b", line.words):
                v.fail("telnet accepted", vty.head, line)
            v.see(line)
    for line in cfg.top(r"ip http server\b"):
        v.fail("HTTP management server on", line)
    return v


def _acl_entries(cfg: CiscoConfig, name: str) -> list[Line]:
    named = cfg.sections(rf"(ip|ipv6) access-list (standard |extended )?{re.escape(name)}$")
    entries = [ln for s in named for ln in s.body if not _REMARK.match(ln.words)]
    numbered = cfg.top(rf"access-list {re.escape(name)} (?!remark)")
    return entries + numbered if (named or numbered) else []


def management_access(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("every vty line limited by an access-class")
    for vty in cfg.sections(_VTY):
        classes = vty.find(r"^access-class \S+ in\b")
        if not classes:
            v.fail(f"`{vty.head.text}` accepts logins from any address (no access-class)", vty.head)
        for line in classes:
            name = line.text.split()[1]
            entries = _acl_entries(cfg, name)
            v.see(line, *entries)
            if not entries:
                v.fail(f"access-class {name} names no access list", line)
            for entry in entries:
                if re.search(r"\bpermit( ip)? any\b", entry.words):
                    v.fail(f"access list {name} lets any address in", entry)
    return v


def secrets(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("enable and local accounts use type 8/9 hashes")
    for line in cfg.top(r"enable password\b"):
        v.fail("`enable password` is stored reversibly", line)
    enable = cfg.top(r"enable secret\b")
    if not enable:
        v.fail("no `enable secret`")
    for line in enable + cfg.top(r"username \S+ .*\b(secret|password)\b"):
        m = re.search(r"\b(secret|password)\s+(\d)\s", line.text + " ")
        kind, number = (m.group(1), m.group(2)) if m else ("password", "0")
        v.see(line)
        if kind == "password":
            v.fail(f"password of type {number} is reversible (type 7) or clear", line)
        elif number not in {"8", "9"}:
            v.fail(f"secret of type {number} is a weak hash (type 8 or 9 needed)", line)
    for line in cfg.top(r"username \S+ .*\bnopassword\b"):
        v.fail("account without a password", line)
    return v


def central_aaa(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("logins checked by TACACS+/RADIUS (aaa new-model)")
    new_model = cfg.top(r"aaa new-model\b")
    servers = [s.head for s in cfg.sections(r"(tacacs|radius) server \S+")]
    servers += cfg.top(r"(tacacs-server|radius-server) host \S+")
    login = cfg.top(r"aaa authentication login \S+ .*\bgroup \S+")
    v.see(*new_model, *servers, *login)
    if not new_model:
        v.fail("no `aaa new-model`: local accounts only")
    if not servers:
        v.fail("no TACACS+ or RADIUS server")
    if not login:
        v.fail("no `aaa authentication login ... group ...`: logins never reach the servers")
    return v


def idle_and_lockout(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    limit = int(p["max_idle_minutes"]) * 60
    v = Verdict(f"idle sessions closed within {p['max_idle_minutes']} min, login block set")
    for line_sec in cfg.sections(r"line (vty|con)\b"):
        timeouts = line_sec.find(r"^exec-timeout\b")
        if not timeouts and limit < 600:
            v.fail(f"`{line_sec.head.text}`: default 10 min idle timeout", line_sec.head)
        for line in timeouts:
            words = line.text.split()
            seconds = int_of(words[1], 0) * 60 + (int_of(words[2], 0) if len(words) > 2 else 0)
            v.see(line)
            if seconds == 0 or seconds > limit:
                v.fail(f"`{line_sec.head.text}`: idle timeout too long or never", line)
    block = cfg.top(r"login block-for \d+ attempts \d+ within \d+")
    v.see(*block)
    if not block:
        v.fail("no `login block-for`: password guessing is never slowed")
    for line in block:
        if int_of(line.text.split()[4]) > int(p["max_attempts"]):
            v.fail(f"more than {p['max_attempts']} attempts before the block", line)
    return v


def snmp(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("SNMP off, or v3 with authentication and privacy only")
    for line in cfg.top(r"snmp-server community\b"):
        v.fail("SNMP v1/v2c community", line)
    for line in cfg.top(r"snmp-server group \S+ v3\b"):
        v.see(line)
        if not re.search(r"\bv3 priv\b", line.words):
            v.fail("SNMPv3 group without privacy (authPriv needed)", line)
    for line in cfg.top(r"snmp-server host\b"):
        v.see(line)
        if not re.search(r"\bversion 3 priv\b", line.words):
            v.fail("SNMP notifications not sent as v3 authPriv", line)
    return v


def logging_time(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("remote syslog, timestamped logs, NTP")
    wanted = {
        "no remote syslog server (`logging host`)": r"logging (host )?\d[\d.]*\b|logging host\b",
        "log messages carry no date (`service timestamps log datetime`)": (
            r"service timestamps log datetime\b"
        ),
        "no NTP server": r"ntp server\b",
    }
    for why, pattern in wanted.items():
        lines = cfg.top(pattern)
        v.see(*lines)
        if not lines:
            v.fail(why)
    return v


def crypto(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    bits = int(p["min_rsa_bits"])
    v = Verdict(f"SSH and HTTPS management with strong crypto (RSA >= {bits})")
    host_key(dev, bits, v)
    dh = cfg.top(r"ip ssh dh min size \d+")
    v.see(*dh)
    if not dh or int_of(dh[0].text.split()[-1]) < bits:
        v.fail(f"SSH Diffie-Hellman groups under {bits} bits accepted (`ip ssh dh min size`)", *dh)
    for line in cfg.top(r"ip ssh server algorithm (encryption|mac)\b"):
        v.see(line)
        if re.search(r"cbc|3des|md5|sha1-96", line.words):
            v.fail("weak SSH algorithm offered", line)
    https = cfg.top(r"ip http secure-server\b")
    tls = cfg.top(r"ip http tls-version TLSv1\.[23]\b")
    v.see(*https, *tls)
    if https and not tls:
        v.fail("HTTPS management accepts TLS below 1.2 (no `ip http tls-version TLSv1.2`)", *https)
    for tp in cfg.sections(r"crypto pki trustpoint\b"):
        for line in tp.find(r"^rsakeypair \S+ \d+"):
            if int_of(line.text.split()[2]) < bits:
                v.fail(f"trustpoint key under {bits} bits", line)
    return v


def host_key(dev: DeviceConfig, bits: int, v: Verdict) -> None:
    """The SSH host key the device presented while it was read (not seen offline)."""
    key = dev.host_key
    if key is None:
        v.warn("SSH host key not seen (offline audit)")
    elif key.kind == "ssh-rsa" and key.bits < bits:
        v.fail(f"SSH host key {key.kind} of {key.bits} bits (at least {bits} needed)")
    else:
        v.ok += f"; host key {key.kind} {key.bits} bits"


def _filtering(v: Verdict, name: str, entries: list[Line], binding: Line) -> None:
    v.see(binding, *entries)
    if not entries:
        v.fail(f"access list {name} is applied but not defined", binding)
        return
    for entry in entries:
        if re.search(
            r"\bpermit (ip|ipv6|any4?|any6?)? ?(any[46]?|0\.0\.0\.0 0\.0\.0\.0) "
            r"(any[46]?|0\.0\.0\.0 0\.0\.0\.0)\b",
            entry.text,
        ):
            v.fail(f"access list {name} accepts any traffic from anywhere", entry)
    last = entries[-1]
    if not re.search(r"\bdeny (ip|ipv6) any any\b.*\blog", last.words):
        v.fail(f"access list {name} ends on an unlogged implicit deny", last)


def firewall(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("interface access lists: no any/any accept, final deny logged")
    applied: list[tuple[str, Line]] = []
    for iface in cfg.sections(r"interface\b"):
        applied += [(ln.text.split()[2], ln) for ln in iface.find(r"^ip(v6)? access-group \S+")]
    if not applied:
        v.fail("no interface filtered by an access list")
    for name, line in applied:
        _filtering(v, name, _acl_entries(cfg, name), line)
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
