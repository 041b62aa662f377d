"""Network devices (routers, firewalls, VPN concentrators): NET-01..10 (docs/controls.md,
docs/network-devices.md).

Each control judges the device's configuration, read once before its controls run
(toolkit.netdev: over SSH, read-only, or from ``--config-dir``), with the judge of its
platform: toolkit.controls.network_ios (IOS, IOS-XE), network_asa (ASA) and
network_fortios (FortiOS). Every finding quotes the configuration lines it is about with
their numbers, secrets masked; the lines the judge looked at are the evidence."""

from __future__ import annotations

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params
from toolkit.audit.registry import control
from toolkit.controls import network_asa, network_fortios, network_ios
from toolkit.controls.network_common import Judge
from toolkit.netdev.platforms import Platform

JUDGES: dict[Platform, dict[str, Judge]] = {
    Platform.IOS: network_ios.JUDGES,
    Platform.ASA: network_asa.JUDGES,
    Platform.FORTIOS: network_fortios.JUDGES,
}


def judge(ctx: Context, p: Params, control_id: str) -> Outcome:
    """``control_id``'s judge for the device's platform, its findings as an outcome."""
    device = ctx.device
    if device is None:
        raise ControlError("not a network device: no ansible_network_os and not in network_devices")
    verdict = JUDGES[device.platform][control_id](device, p)
    ctx.note(f"{device.source} [{device.platform.value}]", verdict.evidence())
    return Outcome.of(verdict.problems, verdict.ok, warnings=verdict.warnings)


@control("NET-01", needs_ssh=False)
def os_release(ctx: Context, p: Params) -> Outcome:
    """The release is on a supported train and at least its lowest accepted one (A10)."""
    return judge(ctx, p, "NET-01")


@control("NET-02", needs_ssh=False)
def management_protocols(ctx: Context, p: Params) -> Outcome:
    """SSH v2 only; no telnet, no cleartext HTTP management (A11)."""
    return judge(ctx, p, "NET-02")


@control("NET-03", needs_ssh=False)
def management_access(ctx: Context, p: Params) -> Outcome:
    """Management reachable from administration networks only (A13)."""
    return judge(ctx, p, "NET-03")


@control("NET-04", needs_ssh=False)
def local_secrets(ctx: Context, p: Params) -> Outcome:
    """Local secrets stored as strong hashes: no enable password, no type 7 (E9)."""
    return judge(ctx, p, "NET-04")


@control("NET-05", needs_ssh=False)
def central_aaa(ctx: Context, p: Params) -> Outcome:
    """Administrators authenticated by TACACS+ or RADIUS (A13)."""
    return judge(ctx, p, "NET-05")


@control("NET-06", needs_ssh=False)
def idle_and_lockout(ctx: Context, p: Params) -> Outcome:
    """Idle sessions closed, repeated failed logins blocked (E11)."""
    return judge(ctx, p, "NET-06")


@control("NET-07", needs_ssh=False)
def snmp(ctx: Context, p: Params) -> Outcome:
    """SNMP off or v3 authPriv only, no community (A11)."""
    return judge(ctx, p, "NET-07")


@control("NET-08", needs_ssh=False)
def logging_and_time(ctx: Context, p: Params) -> Outcome:
    """Remote syslog, timestamps, NTP (M13)."""
    return judge(ctx, p, "NET-08")


@control("NET-09", needs_ssh=False)
def management_crypto(ctx: Context, p: Params) -> Outcome:
    """TLS 1.2+ and strong SSH for management, RSA keys of min_rsa_bits+ (A11)."""
    return judge(ctx, p, "NET-09")


@control("NET-10", needs_ssh=False)
def firewall_policies(ctx: Context, p: Params) -> Outcome:
    """No any/any accept; the final (implicit) deny is logged (A13)."""
    return judge(ctx, p, "NET-10")
