"""The questions ``toolkit init`` asks at a terminal for what its flags did not say."""

from __future__ import annotations

from typing import Any

import click

from toolkit.init.settings import GROUPS, Certificates, Directory


def _list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.replace(";", ",").split(",") if part.strip())


def ask_missing(o: dict[str, Any]) -> dict[str, Any]:
    """``o`` with every unset choice asked for: mail domains, units, networks, the
    directory, the certificates and the hosts of each platform group."""
    o = dict(o)
    if not o["mail_domains"]:
        o["mail_domains"] = _list(
            click.prompt("Mail domains (comma-separated)", default=o["domain"])
        )
    if not o["units"]:
        units = []
        while line := click.prompt(
            "Unit CODE:STAFF:MIN_ONSITE:NAME[|ARABIC NAME] (empty: no more)",
            default="",
            show_default=False,
        ):
            units.append(line)
        o["units"] = tuple(units)
    if not o["internal_networks"]:
        o["internal_networks"] = _list(
            click.prompt("Inside networks of the servers (CIDR, comma-separated)")
        )
    if not o["identity_uri"]:
        o["directory"] = click.prompt(
            "Teleworkers' accounts: the project's directory or an existing AD/LDAP",
            type=click.Choice([d.value for d in Directory]),
            default=o["directory"],
        )
        if o["directory"] == Directory.EXISTING.value:
            o["identity_uri"] = click.prompt("LDAPS URI of the existing directory")
            o["identity_people_dn"] = click.prompt("Where people live (DN)")
            o["identity_groups_dn"] = click.prompt("Where groups live (DN)")
    o["certificates"] = click.prompt(
        "Certificates: project CA, your own files, or ACME",
        type=click.Choice([c.value for c in Certificates]),
        default=o["certificates"],
    )
    if not o["hosts"]:
        hosts, addresses = [], list(o["addresses"])
        for group in GROUPS:
            if group == "directory_servers" and o["directory"] == Directory.EXISTING.value:
                continue
            answer = click.prompt(
                f"Hosts of {group} (NAME or NAME=ADDRESS, comma-separated; empty: none)",
                default="",
                show_default=False,
            )
            for item in _list(answer):
                name, sep, address = item.partition("=")
                hosts.append(f"{group}={name}")
                if sep and f"{name}={address}" not in addresses:
                    addresses.append(f"{name}={address}")
        o["hosts"], o["addresses"] = tuple(hosts), tuple(addresses)
    return o
