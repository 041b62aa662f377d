"""``toolkit init ENV``: a new environment for an administration (docs/production.md)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from toolkit.cli.common import err, out, print_problems
from toolkit.errors import InvalidInputError, Problem, Severity
from toolkit.init.ask import ask_missing
from toolkit.init.create import create_environment
from toolkit.init.settings import (
    Certificates,
    Directory,
    ExistingDirectory,
    Settings,
    check,
    networks,
    parse_hosts,
    parse_units,
    raise_problems,
)
from toolkit.paths import work_dir
from toolkit.roster.reference import Reference
from toolkit.secrets import vault_encrypt
from toolkit.text import printable

ENV_NAME = r"^[a-z][a-z0-9_-]{0,31}$"
#: VPN access groups every environment has (the VPN rules give them their services).
BASE_VPN_GROUPS = {
    "staff": "Mail, collaboration and videoconference (every teleworker)",
    "admins": "Administration interfaces of the platform (IT staff only)",
}


def _encryptor(password_file: Path | None) -> Callable[[bytes], bytes]:
    """Encrypt with the vault password file, else with a password typed twice (kept in
    memory only)."""
    if password_file is not None:
        return lambda data: vault_encrypt(data, password_file)
    typed = click.prompt(
        "New vault password (keep it outside the repository)",
        hide_input=True,
        confirmation_prompt=True,
    )
    return lambda data: vault_encrypt(data, password=typed.encode())


def settings_from_options(env: str, o: dict[str, Any]) -> Settings:
    """The checked settings of the options (one Problem per bad flag, nothing written)."""
    problems: list[Problem] = []
    hosts, found = parse_hosts(o["hosts"], o["addresses"], o["connects"])
    units, more = parse_units(o["units"])
    problems += found + more
    groups = dict(BASE_VPN_GROUPS)
    for spec in o["vpn_groups"]:
        name, _, description = spec.partition("=")
        groups[name] = description
    try:
        reference = Reference.model_validate(
            {
                "telework_workdays": o["workdays"].split(","),
                "telework_office_hours": o["office_hours"],
                "telework_mail_domains": o["mail_domains"] or (o["domain"],),
                "telework_units": units,
                "telework_vpn_groups": {k: {"description": v} for k, v in groups.items()},
            }
        )
    except ValidationError as exc:
        problems += [
            Problem("--unit/--vpn-group/--mail-domain", 0, ".".join(map(str, e["loc"])), e["msg"])
            for e in exc.errors()
        ]
        raise_problems(problems)
        raise
    existing = None
    if o["identity_uri"]:
        base = ",".join(f"dc={p}" for p in o["domain"].split("."))
        existing = ExistingDirectory(
            provider=o["identity_provider"],
            uri=o["identity_uri"],
            ca_file=o["identity_ca_file"],
            people_dn=o["identity_people_dn"] or base,
            groups_dn=o["identity_groups_dn"] or base,
        )
    key = o["admin_public_key"]
    settings = Settings(
        env=env,
        domain=o["domain"].lower(),
        reference=reference,
        hosts=hosts,
        vpn_endpoint=o["vpn_endpoint"],
        vpn_network=(networks("--vpn-network", (o["vpn_network"],), problems) or ("",))[0],
        internal_networks=networks("--internal-network", o["internal_networks"], problems),
        admin_networks=networks("--admin-network", o["admin_networks"], problems),
        directory=Directory(o["directory"]),
        existing=existing,
        certificates=Certificates(o["certificates"]),
        ssh_user=o["ssh_user"],
        ssh_key=o["ssh_key"] or "",
        known_hosts=o["known_hosts"] or "",
        admin_public_key=key.read_text(encoding="utf-8").strip() if key else "",
        mail_admin=o["mail_admin"] or "",
        dns_servers=o["dns_servers"],
        support_contact=o["support_contact"] or "",
        continuity_owner=o.get("continuity_owner") or "",
    )
    raise_problems(problems + check(settings))
    return settings


def _many(name: str, help_text: str, dest: str) -> Callable[[Any], Any]:
    return click.option(name, dest, multiple=True, help=help_text)


@click.command()
@click.argument("env")
@click.option(
    "--path",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to create (default: inventories/ENV of the checkout).",
)
@click.option(
    "--vault-password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="ANSIBLE_VAULT_PASSWORD_FILE",
    help="Vault password file (outside the repository); without it, a prompt.",
)
@click.option("--domain", prompt=True, help="The administration's DNS domain (base DN too).")
@_many("--mail-domain", "Mail domain (repeatable; default: --domain).", "mail_domains")
@_many("--unit", "Unit CODE:STAFF:MIN_ONSITE:NAME[|ARABIC NAME] (repeatable).", "units")
@_many("--vpn-group", "Extra VPN access group NAME=DESCRIPTION (repeatable).", "vpn_groups")
@click.option("--workdays", default="mon,tue,wed,thu,fri", show_default=True)
@click.option("--office-hours", default="08:30-16:30", show_default=True)
@_many("--host", "Host of a platform group GROUP=NAME (repeatable).", "hosts")
@_many("--address", "A host's inside address NAME=IP (default: its name).", "addresses")
@_many("--connect", "How Ansible reaches a host NAME=HOST[:PORT].", "connects")
@click.option("--vpn-endpoint", prompt=True, help="Public name or address of the VPN gateway.")
@click.option("--vpn-network", default="10.77.0.0/20", show_default=True, help="Tunnel network.")
@_many("--internal-network", "Inside network of the servers (repeatable).", "internal_networks")
@_many("--admin-network", "Network allowed to SSH to servers (default: inside).", "admin_networks")
@_many("--dns-server", "Internal DNS server pushed to VPN clients.", "dns_servers")
@click.option(
    "--directory",
    type=click.Choice([d.value for d in Directory]),
    default=Directory.PROJECT.value,
    show_default=True,
    help="project: the directory role's OpenLDAP; existing: the administration's AD/LDAP.",
)
@click.option("--identity-uri", help="LDAPS URI of the existing directory.")
@click.option(
    "--identity-provider",
    type=click.Choice(["active_directory", "ldap"]),
    default="active_directory",
    show_default=True,
)
@click.option(
    "--identity-ca-file",
    default="/usr/local/share/ca-certificates/directory-ca.crt",
    show_default=True,
    help="CA of the existing directory's certificate, on the hosts.",
)
@click.option("--identity-people-dn", help="Where people live (default: the base DN).")
@click.option("--identity-groups-dn", help="Where groups live (default: the base DN).")
@click.option(
    "--certificates",
    type=click.Choice([c.value for c in Certificates]),
    default=Certificates.PROJECT.value,
    show_default=True,
    help="project CA, the administration's files, or ACME (certbot on the hosts).",
)
@click.option("--ssh-user", default="admin", show_default=True)
@click.option("--ssh-key", help="SSH private key Ansible uses (path on the control node).")
@click.option("--known-hosts", help="known_hosts file with the hosts' keys (default: ~/.ssh's).")
@click.option(
    "--admin-public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The admin's SSH public key, installed by the baseline.",
)
@click.option(
    "--become-password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The admin's existing sudo password (default: a new one is generated).",
)
@click.option("--mail-admin", help="Mailbox of postmaster and abuse (default: dsi@DOMAIN).")
@click.option("--support-contact", help="Support contact shown to teleworkers.")
@click.option(
    "--continuity-owner",
    help="Who answers for restoring the platforms (A5; default: the DSI).",
)
@click.option(
    "--interactive/--no-interactive",
    default=None,
    help="Ask for what the flags did not say (default: when run at a terminal).",
)
def init(
    env: str,
    path: Path | None,
    vault_password_file: Path | None,
    interactive: bool | None,
    **o: Any,
) -> None:
    """Create the environment ENV (inventories/ENV): hosts, every variable commented,
    an empty roster, secrets in an Ansible Vault file. Never overwrites one."""
    if not re.match(ENV_NAME, env):
        raise InvalidInputError([Problem("ENV", 0, env, f"lower-case name matching {ENV_NAME}")])
    if interactive or (interactive is None and sys.stdin.isatty()):
        o = ask_missing(o)
    settings = settings_from_options(env, o)
    target = path.resolve() if path else work_dir() / "inventories" / env
    given = o["become_password_file"]
    become = given.read_text(encoding="utf-8").splitlines()[0] if given else ""
    written = create_environment(
        target, settings, _encryptor(vault_password_file), become_password=become
    )
    for file in written:
        out.print(printable(file), markup=False)
    if not settings.admin_public_key:
        warning = "no --admin-public-key: add your SSH public key to baseline_admin_users"
        print_problems(
            [
                Problem(
                    str(target / "group_vars/servers/baseline.yml"),
                    1,
                    "baseline_admin_users",
                    f"{warning} (the baseline refuses to run without one: lock-out guard)",
                    Severity.WARNING,
                )
            ],
            err,
        )
    out.print(
        f"environment {env} created in {printable(target)}: review every file, then "
        f"toolkit provision --env {env} --vault-password-file FILE (docs/production.md)",
        markup=False,
    )
