"""What ``toolkit init`` is told about an administration, checked before anything is
written: one Problem per bad flag, naming it."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from enum import StrEnum

from toolkit.errors import InvalidInputError, Problem
from toolkit.roster.reference import Reference

#: Platform groups of every playbook and audit profile; the first seven are ``servers``.
SERVER_GROUPS = (
    "vpn_gateways",
    "directory_servers",
    "mail_servers",
    "collaboration_servers",
    "videoconference_servers",
    "backup_servers",
    "log_collectors",
)
OTHER_GROUPS = ("laptops", "vpn_test_peers", "network_devices")
GROUPS = SERVER_GROUPS + OTHER_GROUPS

_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$")
_HOST_ADDRESS = re.compile(r"^[A-Za-z0-9.:-]{1,253}$")
_UNIT = re.compile(r"^([a-z][a-z0-9_-]{0,31}):(\d+):(\d+):(.+)$")


class Directory(StrEnum):
    """Where the teleworkers' accounts live."""

    PROJECT = "project"  # the directory role's OpenLDAP, fed by the roster
    EXISTING = "existing"  # the administration's Active Directory or LDAP server


class Certificates(StrEnum):
    """Where the public services' certificates come from."""

    PROJECT = "project"  # the project's internal CA (role pki)
    FILES = "files"  # the administration's own files, copied to the hosts
    ACME = "acme"  # Let's Encrypt or another ACME CA, renewed on the hosts (certbot)


@dataclass(frozen=True)
class Host:
    name: str
    groups: tuple[str, ...]
    address: str  # where its services are reached from inside (VPN rules)
    connect: str  # where Ansible reaches it over SSH
    port: int = 22


@dataclass(frozen=True)
class ExistingDirectory:
    provider: str  # active_directory or ldap
    uri: str
    ca_file: str
    people_dn: str
    groups_dn: str


@dataclass(frozen=True)
class Settings:
    env: str
    domain: str
    reference: Reference
    hosts: tuple[Host, ...]
    vpn_endpoint: str
    vpn_network: str
    internal_networks: tuple[str, ...]
    admin_networks: tuple[str, ...]
    directory: Directory = Directory.PROJECT
    existing: ExistingDirectory | None = None
    certificates: Certificates = Certificates.PROJECT
    ssh_user: str = "admin"
    ssh_key: str = ""
    known_hosts: str = ""
    admin_public_key: str = ""
    mail_admin: str = ""
    dns_servers: tuple[str, ...] = ()
    support_contact: str = ""
    continuity_owner: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def base_dn(self) -> str:
        return ",".join(f"dc={part}" for part in self.domain.split("."))

    def members(self, group: str) -> list[Host]:
        return [h for h in self.hosts if group in h.groups]


def _address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return bool(_NAME.match(value.lower()))
    return True


def parse_hosts(
    specs: tuple[str, ...], addresses: tuple[str, ...], connects: tuple[str, ...]
) -> tuple[tuple[Host, ...], list[Problem]]:
    """``--host GROUP=NAME`` (repeatable, a host may be in several groups), ``--address
    NAME=IP`` (its inside address; default: the name) and ``--connect NAME=HOST[:PORT]``
    (how Ansible reaches it; default: the address, port 22)."""
    problems: list[Problem] = []
    groups: dict[str, list[str]] = {}
    for spec in specs:
        group, _, name = spec.partition("=")
        if group not in GROUPS:
            problems.append(
                Problem("--host", 0, spec, f"unknown group (one of {', '.join(GROUPS)})")
            )
        elif not _NAME.match(name):
            problems.append(
                Problem("--host", 0, spec, "host name: lower-case letters, digits, - .")
            )
        else:
            groups.setdefault(name, [])
            if group not in groups[name]:
                groups[name].append(group)

    def pairs(flag: str, values: tuple[str, ...]) -> dict[str, str]:
        found: dict[str, str] = {}
        for value in values:
            name, sep, rest = value.partition("=")
            if not sep or name not in groups:
                problems.append(Problem(flag, 0, value, "NAME=VALUE for a host named by --host"))
            elif not rest or not _HOST_ADDRESS.match(rest):
                problems.append(Problem(flag, 0, value, "not a host name or address"))
            else:
                found[name] = rest
        return found

    inside, reach = pairs("--address", addresses), pairs("--connect", connects)
    hosts = []
    for name, member_of in groups.items():
        address = inside.get(name, name)
        if not _address(address):
            problems.append(Problem("--address", 0, name, f"not an address: {address}"))
        connect, port = reach.get(name, address), 22
        if re.search(r":\d+$", connect) and connect.count(":") == 1:
            connect, _, number = connect.rpartition(":")
            port = int(number)
            if not 0 < port < 65536:
                problems.append(Problem("--connect", 0, name, f"not a port: {port}"))
        hosts.append(Host(name, tuple(member_of), address, connect, port))
    return tuple(hosts), problems


def parse_units(specs: tuple[str, ...]) -> tuple[dict[str, dict[str, object]], list[Problem]]:
    """``--unit CODE:STAFF:MIN_ONSITE:NAME[|ARABIC NAME]`` (repeatable)."""
    units: dict[str, dict[str, object]] = {}
    problems = []
    for spec in specs:
        match = _UNIT.match(spec)
        if match is None:
            problems.append(
                Problem("--unit", 0, spec, "CODE:STAFF:MIN_ONSITE:NAME, e.g. dsi:12:4:DSI")
            )
            continue
        code, staff, onsite, names = match.groups()
        name, _, arabic = names.partition("|")
        units[code] = {
            "name": name.strip(),
            "name_arabic": arabic.strip(),
            "staff": int(staff),
            "min_onsite": int(onsite),
        }
    return units, problems


def networks(flag: str, values: tuple[str, ...], problems: list[Problem]) -> tuple[str, ...]:
    """Networks in CIDR form, each checked."""
    good = []
    for value in values:
        try:
            good.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError:
            problems.append(Problem(flag, 0, value, "not a network (CIDR, e.g. 10.0.2.0/24)"))
    return tuple(good)


def check(settings: Settings) -> list[Problem]:
    """What would make the environment unusable, found before anything is written."""
    problems = []
    if settings.directory is Directory.EXISTING and settings.members("directory_servers"):
        problems.append(
            Problem("--host", 0, "directory_servers", "an existing directory is used: no host")
        )
    if settings.directory is Directory.PROJECT and not settings.members("directory_servers"):
        problems.append(
            Problem(
                "--host",
                0,
                "directory_servers",
                "name the directory's host (or --directory existing)",
            )
        )
    if settings.directory is Directory.EXISTING and settings.existing is None:
        problems.append(Problem("--directory", 0, "existing", "give --identity-uri"))
    if len(settings.members("vpn_gateways")) > 1:
        problems.append(Problem("--host", 0, "vpn_gateways", "one VPN gateway per environment"))
    return problems


def raise_problems(problems: list[Problem]) -> None:
    if problems:
        raise InvalidInputError(problems)
