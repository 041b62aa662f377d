"""The network operating systems the audit knows, how Ansible names them, and the
read-only commands that collect their configuration and version.

An inventory host names its platform with ``ansible_network_os``, as Ansible's network
collections do (``cisco.ios.ios``, ``cisco.asa.asa``, ``fortinet.fortios.fortios``, or the
short names). Any other value is refused before anything is audited."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Platform(StrEnum):
    IOS = "cisco_ios"  # Cisco IOS and IOS-XE
    ASA = "cisco_asa"
    FORTIOS = "fortios"


@dataclass(frozen=True)
class Commands:
    """What the collector sends, in order: every one only reads."""

    version: str
    running: str
    #: netmiko's driver for the platform.
    device_type: str


COMMANDS = {
    Platform.IOS: Commands("show version", "show running-config", "cisco_ios"),
    Platform.ASA: Commands("show version", "show running-config", "cisco_asa"),
    Platform.FORTIOS: Commands("get system status", "show full-configuration", "fortinet"),
}

#: ansible_network_os values (lower case) -> platform.
NETWORK_OS = {
    "cisco.ios.ios": Platform.IOS,
    "ios": Platform.IOS,
    "cisco_ios": Platform.IOS,
    "cisco.iosxe.iosxe": Platform.IOS,
    "iosxe": Platform.IOS,
    "cisco.asa.asa": Platform.ASA,
    "asa": Platform.ASA,
    "cisco_asa": Platform.ASA,
    "fortinet.fortios.fortios": Platform.FORTIOS,
    "fortios": Platform.FORTIOS,
    "fortinet": Platform.FORTIOS,
}

KNOWN = ", ".join(sorted({"cisco.ios.ios", "cisco.asa.asa", "fortinet.fortios.fortios"}))


class UnknownPlatformError(ValueError):
    """An ``ansible_network_os`` the audit has no parser and no controls for."""


def platform_of(network_os: object) -> Platform:
    """The platform an ``ansible_network_os`` value names."""
    name = str(network_os or "").strip().lower()
    if name not in NETWORK_OS:
        shown = str(network_os or "")[:60] or "(not set)"
        raise UnknownPlatformError(f"unknown network OS {shown!r} (known: {KNOWN})")
    return NETWORK_OS[name]
