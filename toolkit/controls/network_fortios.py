"""NET-01..10 on FortiOS (docs/controls.md), judged on ``show full-configuration``
parsed by toolkit.netdev.fortios. The full configuration prints every setting, defaults
included; a setting missing from a saved partial ``show`` falls back to FortiOS's default
(``admintimeout`` 5, ``admin-lockout-threshold`` 3, a policy's ``action`` deny)."""

from __future__ import annotations

import re

from toolkit.audit.model import ControlError, Params
from toolkit.controls.network_common import Judge, Verdict, int_of, judge_release
from toolkit.controls.network_ios import host_key
from toolkit.netdev.fortios import FortiConfig, Node
from toolkit.netdev.model import DeviceConfig, Line

_STATUS = re.compile(r"^Version:\s.*?\bv(\d+\.\d+\.\d+)")
_HEADER = re.compile(r"-(\d+\.\d+\.\d+)-")
_ANYWHERE = {"", "0.0.0.0 0.0.0.0", "0.0.0.0/0"}


def _cfg(dev: DeviceConfig) -> FortiConfig:
    if dev.forti is None:
        raise ControlError(f"{dev.name}: no FortiOS configuration was parsed")
    return dev.forti


def _global(cfg: FortiConfig, v: Verdict) -> Node:
    node = cfg.block("system global")
    if node is None:
        return Node("config", "system global", None)
    v.see(node.line)
    return node


def _setting(node: Node, key: str, v: Verdict, default: str = "") -> tuple[str, Line | None]:
    found = node.get(key)
    if found is None:
        return default, None
    v.see(found.line)
    return found.text, found.line


def release(dev: DeviceConfig, p: Params) -> Verdict:
    v = Verdict("")
    found: str | None = None
    where: Line | None = None
    for number, text in enumerate(dev.version.splitlines(), start=1):
        m = _STATUS.search(text.strip())
        if m:
            found, where = m.group(1), Line(number, text)
            break
    cfg = _cfg(dev)
    if found is None and cfg.header_line is not None:
        m = _HEADER.search(cfg.version_header)
        found, where = (m.group(1) if m else None), cfg.header_line
    judge_release(found, where, p["supported"].get(dev.platform.value, {}), v)
    return v


def protocols(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("no telnet or HTTP administration, SSH v2 only")
    for block in cfg.blocks("system interface"):
        for iface in block.entries:
            access = iface.get("allowaccess")
            if access is None:
                continue
            v.see(access.line)
            weak = sorted({"telnet", "http"} & set(access.values))
            if weak:
                v.fail(f"interface {iface.name} allows {', '.join(weak)}", access.line)
    glob = _global(cfg, v)
    for key in ("admin-telnet", "admin-ssh-v1"):
        value, line = _setting(glob, key, v, "disable")
        if value == "enable" and line is not None:
            v.fail(f"`{key}` is on", line)
    return v


def management_access(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("every administrator limited to trusted hosts")
    admins = [e for b in cfg.blocks("system admin") for e in b.entries]
    if not admins:
        v.fail("no administrator account in the configuration")
    for admin in admins:
        trusted = [admin.get(f"trusthost{i}") for i in range(1, 11)]
        kept = [s for s in trusted if s is not None and s.text not in _ANYWHERE]
        v.see(admin.line, *(s.line for s in kept))
        if not kept and admin.line is not None:
            v.fail(f"administrator {admin.name} may log in from any address", admin.line)
    return v


def secrets(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    length = int(p["min_password_length"])
    v = Verdict(f"SHA-256 admin hashes, password policy of {length}+ characters")
    for block in cfg.blocks("system admin"):
        for admin in block.entries:
            password = admin.get("password")
            if password is None:
                continue
            v.see(password.line)
            if len(password.values) < 2 or not password.values[1].startswith("SH2"):
                v.fail(f"administrator {admin.name}: weak or clear password hash", password.line)
    policy = cfg.block("system password-policy")
    status, line = _setting(policy, "status", v, "disable") if policy else ("disable", None)
    if status != "enable":
        v.fail("no administrator password policy", *([line] if line else []))
    elif policy is not None:
        size, where = _setting(policy, "minimum-length", v, "8")
        if int_of(size) < length:
            v.fail(f"password policy allows fewer than {length} characters", *filter(None, [where]))
    return v


def central_aaa(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("administrators checked by TACACS+/RADIUS")
    servers = [
        e for path in ("user tacacs+", "user radius") for b in cfg.blocks(path) for e in b.entries
    ]
    v.see(*(e.line for e in servers))
    if not any(e.get("server") for e in servers):
        v.fail("no TACACS+ or RADIUS server")
    remote = [
        e
        for b in cfg.blocks("system admin")
        for e in b.entries
        if e.value("remote-auth") == "enable" or e.value("wildcard") == "enable"
    ]
    v.see(*(e.line for e in remote))
    if not remote:
        v.fail("no administrator authenticated remotely (`set remote-auth enable`)")
    return v


def idle_and_lockout(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    limit, attempts = int(p["max_idle_minutes"]), int(p["max_attempts"])
    v = Verdict(f"admin sessions closed within {limit} min, lockout after {attempts} failures")
    glob = _global(cfg, v)
    idle, line = _setting(glob, "admintimeout", v, "5")
    if int_of(idle) > limit:
        v.fail(f"administrators idle {idle} min before logout", *filter(None, [line]))
    tries, line = _setting(glob, "admin-lockout-threshold", v, "3")
    if int_of(tries) > attempts:
        v.fail(f"{tries} failed logins before lockout", *filter(None, [line]))
    return v


def snmp(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("SNMP off, or v3 with authentication and privacy only")
    for community in (e for b in cfg.blocks("system snmp community") for e in b.entries):
        if community.value("status", "enable") == "enable" and community.line is not None:
            v.fail(f"SNMP community {community.name} is on", community.line)
    for user in (e for b in cfg.blocks("system snmp user") for e in b.entries):
        level = user.get("security-level")
        v.see(user.line, level.line if level else None)
        if (level.text if level else "no-auth-no-priv") != "auth-priv" and user.line:
            v.fail(f"SNMPv3 user {user.name} without authPriv", user.line)
    return v


def logging_time(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("remote syslog on, NTP synchronised (FortiOS logs are always timestamped)")
    syslog = cfg.block("log syslogd setting")
    if syslog is None or syslog.value("status") != "enable" or not syslog.value("server"):
        v.fail("remote syslog off (`config log syslogd setting`)")
    if syslog is not None:
        v.see(
            syslog.line,
            *(s.line for s in syslog.settings.values() if s.key in {"status", "server"}),
        )
    ntp = cfg.block("system ntp")
    if ntp is None or ntp.value("ntpsync") != "enable":
        v.fail("time not synchronised (`config system ntp` / `set ntpsync enable`)")
    if ntp is not None:
        v.see(ntp.line, *(s.line for s in ntp.settings.values() if s.key == "ntpsync"))
    return v


def crypto(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    bits = int(p["min_rsa_bits"])
    v = Verdict(f"TLS 1.2+ for HTTPS administration, strong crypto (RSA >= {bits})")
    host_key(dev, bits, v)
    glob = _global(cfg, v)
    versions, line = _setting(glob, "admin-https-ssl-versions", v, "tlsv1-2 tlsv1-3")
    old = sorted(set(versions.split()) & {"tlsv1-0", "tlsv1-1", "sslv3"})
    if old:
        v.fail(f"HTTPS administration accepts {', '.join(old)}", *filter(None, [line]))
    strong, line = _setting(glob, "strong-crypto", v, "enable")
    if strong != "enable":
        v.fail("`strong-crypto` is off", *filter(None, [line]))
    return v


def firewall(dev: DeviceConfig, p: Params) -> Verdict:
    cfg = _cfg(dev)
    v = Verdict("no all/all/ALL accept policy, implicit deny logged")
    for policy in (e for b in cfg.blocks("firewall policy") for e in b.entries):
        fields = {k: policy.value(k) for k in ("srcaddr", "dstaddr", "service", "action")}
        v.see(policy.line)
        if (
            fields["action"] == "accept"
            and fields["srcaddr"] == "all"
            and fields["dstaddr"] == "all"
            and fields["service"] == "ALL"
            and policy.line is not None
        ):
            v.fail(f"policy {policy.name} accepts all to all, any service", policy.line)
    setting = cfg.block("log setting")
    implicit, line = (
        _setting(setting, "fwpolicy-implicit-log", v, "disable")
        if setting
        else (
            "disable",
            None,
        )
    )
    if implicit != "enable":
        v.fail("the implicit deny is not logged (`fwpolicy-implicit-log`)", *filter(None, [line]))
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
