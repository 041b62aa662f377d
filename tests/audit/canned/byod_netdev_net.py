"""Network devices (NET-01..10) judged both ways on canned configurations, through the
controls' own ``check``; the personal computers' BYOD-* cases are in byod_netdev.py.

A NET control judges a device's configuration (Context.device): here the compliant and
non-compliant configurations of tests/netdev/configs (IOS-XE, ASA, FortiOS) read as an
offline audit reads them, with the SSH host key a live read would have seen (NET-09). The
non-compliant configurations break every control but NET-05 and NET-08: those fail on the
compliant IOS-XE configuration with one line edited."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Mapping
from pathlib import Path

from tests.audit.canned import Case, Judge
from tests.audit.conftest import fake_context, params
from tests.netdev.conftest import config
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import Outcome, Status
from toolkit.audit.registry import implementations
from toolkit.netdev.collect import VERSION_SUFFIX, read_saved
from toolkit.netdev.model import DeviceConfig, DeviceSpec, HostKey
from toolkit.netdev.platforms import Platform

IMPL = implementations()
PASS, FAIL = Status.PASS, Status.FAIL
IOS, ASA, FORTIOS = Platform.IOS, Platform.ASA, Platform.FORTIOS
#: The key a device presents when its configuration is read over SSH.
RSA_3072 = HostKey("ssh-rsa", 3072)


def on_device(
    control: str,
    platform: Platform,
    kind: str,
    edits: Mapping[str, str | None] | None = None,
    host_key: HostKey = RSA_3072,
) -> Judge:
    """``control`` on the ``kind`` configuration of ``platform`` (with ``edits``: a whole
    line -> the line that replaces it, None to drop it), read as an offline audit reads
    it, with the SSH host key ``host_key`` seen as a live read sees it."""

    def judge(catalogue: Catalogue, tmp_path: Path) -> Outcome:
        ctx = fake_context({}, device=device(platform, kind, edits or {}, tmp_path, host_key))
        return IMPL[control].check(ctx, params(catalogue, control))

    return judge


def device(
    platform: Platform,
    kind: str,
    edits: Mapping[str, str | None],
    folder: Path,
    host_key: HostKey,
) -> DeviceConfig:
    """The fixture configuration, edited into ``folder`` when there are ``edits`` (its
    version output beside it), read by the offline audit's reader, with ``host_key``."""
    saved = config(platform, kind)
    if edits:
        lines = saved.read_text(encoding="utf-8").splitlines()
        absent = sorted(set(edits) - set(lines))
        if absent:  # an edit that changes nothing would leave the case judging the original
            raise AssertionError(f"{saved.name} has no line {absent}")
        text = "\n".join(n for ln in lines if (n := edits.get(ln, ln)) is not None) + "\n"
        edited = folder / saved.name
        edited.write_text(text, encoding="utf-8")
        version = saved.with_suffix(VERSION_SUFFIX)
        if version.is_file():
            shutil.copyfile(version, edited.with_suffix(VERSION_SUFFIX))
        saved = edited
    read = read_saved(
        DeviceSpec(
            name=f"{platform.value}-{kind}", platform=platform, host="192.0.2.1", saved=saved
        )
    )
    return dataclasses.replace(read, host_key=host_key)


CASES: list[Case] = [
    Case(
        "NET-01",
        PASS,
        "an IOS-XE router on 17.9.5",
        on_device("NET-01", IOS, "compliant"),
        "release 17.09.05 (train 17.9, at least 17.9.5)",
    ),
    Case(
        "NET-01",
        FAIL,
        "an IOS-XE router on 17.6, a train no longer fixed",
        on_device("NET-01", IOS, "noncompliant"),
        "release 17.06.01: train 17.6 is not a supported one",
    ),
    Case(
        "NET-01",
        FAIL,
        "an ASA on 9.18(2), without the fixes of 9.18(4)",
        on_device("NET-01", ASA, "noncompliant"),
        "release 9.18(2) is older than 9.18.4, the lowest accepted on train 9.18",
    ),
    Case(
        "NET-02",
        PASS,
        "an ASA managed over SSH v2 only",
        on_device("NET-02", ASA, "compliant"),
        "SSH v2 only, no telnet",
    ),
    Case(
        "NET-02",
        FAIL,
        "an ASA accepting telnet from the inside network",
        on_device("NET-02", ASA, "noncompliant"),
        "telnet management allowed (line 281: `telnet 10.20.0.0 255.255.255.0 inside`)",
    ),
    Case(
        "NET-03",
        PASS,
        "a FortiGate whose administrators have trusted hosts",
        on_device("NET-03", FORTIOS, "compliant"),
        "every administrator limited to trusted hosts",
    ),
    Case(
        "NET-03",
        FAIL,
        "a FortiGate administrator without trusted hosts",
        on_device("NET-03", FORTIOS, "noncompliant"),
        "administrator netadmin may log in from any address",
    ),
    Case(
        "NET-04",
        PASS,
        "an IOS-XE router with type 9 secrets only",
        on_device("NET-04", IOS, "compliant"),
        "enable and local accounts use type 8/9 hashes",
    ),
    Case(
        "NET-04",
        FAIL,
        "an IOS-XE break-glass account with a type 7 password",
        on_device("NET-04", IOS, "noncompliant"),
        "password of type 7 is reversible (type 7) or clear",
    ),
    Case(
        "NET-05",
        PASS,
        "an ASA whose SSH logins go to a TACACS+ group",
        on_device("NET-05", ASA, "compliant"),
        "SSH logins checked by a TACACS+/RADIUS server group",
    ),
    Case(
        "NET-05",
        FAIL,
        "an IOS-XE router whose logins stay local though TACACS+ servers are defined",
        on_device(
            "NET-05",
            IOS,
            "compliant",
            {
                "aaa authentication login default group TAC-ADMIN local": "aaa authentication login default local"
            },
        ),
        "no `aaa authentication login ... group ...`: logins never reach the servers",
    ),
    Case(
        "NET-06",
        PASS,
        "a FortiGate closing idle sessions and locking out after 5 failures",
        on_device("NET-06", FORTIOS, "compliant"),
        "admin sessions closed within 10 min, lockout after 5 failures",
    ),
    Case(
        "NET-06",
        FAIL,
        "a FortiGate keeping idle administrators 8 hours",
        on_device("NET-06", FORTIOS, "noncompliant"),
        "administrators idle 480 min before logout (line 16: `set admintimeout 480`)",
    ),
    Case(
        "NET-07",
        PASS,
        "an IOS-XE router with SNMPv3 authPriv only",
        on_device("NET-07", IOS, "compliant"),
        "SNMP off, or v3 with authentication and privacy only",
    ),
    Case(
        "NET-07",
        FAIL,
        "an IOS-XE router with the public community",
        on_device("NET-07", IOS, "noncompliant"),
        "SNMP v1/v2c community (line 534: `snmp-server community ***** RO`)",
    ),
    Case(
        "NET-08",
        PASS,
        "a FortiGate sending its logs to syslog, clock on NTP",
        on_device("NET-08", FORTIOS, "compliant"),
        "remote syslog on, NTP synchronised",
    ),
    Case(
        "NET-08",
        FAIL,
        "an IOS-XE router that keeps its logs in its buffer",
        on_device(
            "NET-08",
            IOS,
            "compliant",
            {
                "logging host 10.20.0.15": None,
                "logging host 10.20.0.16 transport tcp port 6514": None,
            },
        ),
        "no remote syslog server (`logging host`)",
    ),
    Case(
        "NET-09",
        PASS,
        "an ASA with TLS 1.2+ and an RSA host key of 3072 bits",
        on_device("NET-09", ASA, "compliant"),
        "TLS 1.2+ for ASDM and VPN, strong SSH (RSA >= 2048); host key ssh-rsa 3072 bits",
    ),
    Case(
        "NET-09",
        FAIL,
        "an ASA still accepting TLS 1.0",
        on_device("NET-09", ASA, "noncompliant"),
        "TLS below 1.2 accepted",
    ),
    Case(
        "NET-09",
        FAIL,
        "an IOS-XE router presenting an RSA host key of 1024 bits",
        on_device("NET-09", IOS, "compliant", host_key=HostKey("ssh-rsa", 1024)),
        "SSH host key ssh-rsa of 1024 bits (at least 2048 needed)",
    ),
    Case(
        "NET-10",
        PASS,
        "a FortiGate without an all/all accept, implicit deny logged",
        on_device("NET-10", FORTIOS, "compliant"),
        "no all/all/ALL accept policy, implicit deny logged",
    ),
    Case(
        "NET-10",
        FAIL,
        "a FortiGate policy accepting all to all",
        on_device("NET-10", FORTIOS, "noncompliant"),
        "policy 2 accepts all to all, any service",
    ),
]
