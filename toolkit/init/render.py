"""The files of a new environment, as text: every variable under a comment saying what it
is (a role variable's comment is the role's own, read from its defaults/main.yml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from toolkit.init.comments import defaults_text, role_comments
from toolkit.init.settings import (
    OTHER_GROUPS,
    SERVER_GROUPS,
    Certificates,
    Directory,
    Settings,
)
from toolkit.roster.source import OPTIONAL_COLUMNS, REQUIRED_COLUMNS

#: Public name of each platform with a certificate of its own, and the role variables
#: naming its certificate and key.
CERTIFICATE_VARIABLES = {
    "mail_server": ("mail", "mail_servers"),
    "collaboration": ("collab", "collaboration_servers"),
}
#: Services of each platform teleworkers reach through the tunnel (as in the lab).
SERVICES = {
    "mail": ("mail_servers", "tcp", [25, 465, 587, 993]),
    "collaboration": ("collaboration_servers", "tcp", [443]),
    "videoconference": ("videoconference_servers", "tcp", [443, 5349]),
}
#: The secret every environment has in its vault file.
BECOME_SECRET = "vault_become_password"  # noqa: S105 (a variable name)
#: Platforms that bind to the identity contract with an account of their own.
IDENTITY_SERVICES = ("mail", "collaboration", "videoconference", "vpn")


def _dump(name: str, value: Any) -> str:
    return yaml.safe_dump(
        {name: value}, allow_unicode=True, sort_keys=False, default_flow_style=False, width=4096
    )


@dataclass
class VarsFile:
    """A YAML file of variables, each under its comment."""

    header: tuple[str, ...]
    role: str | None = None
    parts: list[str] = field(default_factory=list)

    def set(self, name: str, value: Any, *comment: str) -> VarsFile:
        lines = comment or (role_comments(self.role).get(name, ()) if self.role else ())
        if not lines and self.role:  # outside a checkout: the roles' files are not at hand
            lines = (f"Setting of role {self.role}: see its defaults/main.yml and README.",)
        if not lines:
            raise ValueError(f"{name}: no comment (say what it is)")
        self.parts.append("".join(f"# {c}\n" for c in lines) + _dump(name, value))
        return self

    def text(self, *, with_defaults: bool = False) -> str:
        head = "---\n" + "".join(f"# {h}\n" for h in self.header)
        tail = defaults_text(self.role) if with_defaults and self.role else ""
        return head + "\n" + "\n".join(self.parts) + tail


def _group_addresses(group: str) -> str:
    return f"{{{{ groups['{group}'] | map('extract', hostvars, 'service_address') | list }}}}"


def hosts_yml(s: Settings) -> str:
    def block(group: str) -> dict[str, Any]:
        hosts = {
            h.name: {
                "ansible_host": h.connect,
                "ansible_port": h.port,
                "service_address": h.address,
                **({"audit_address": h.address} if h.address != h.connect else {}),
            }
            for h in s.members(group)
        }
        return {"hosts": hosts or {}}

    tree = {
        "all": {
            "children": {
                "servers": {"children": {g: block(g) for g in SERVER_GROUPS}},
                **{g: block(g) for g in OTHER_GROUPS},
            }
        }
    }
    body = yaml.safe_dump(tree, sort_keys=False, default_flow_style=False)
    return (
        "---\n"
        f"# Hosts of the environment {s.env}, by platform group (every playbook and audit\n"
        "# profile is chosen by these groups). Each host's variables:\n"
        "#   ansible_host, ansible_port: where Ansible and `toolkit audit` reach its SSH;\n"
        "#   service_address: where its services are reached from inside (VPN rules);\n"
        "#   audit_address: where `toolkit audit` probes them, when not at ansible_host.\n"
        "# A group may stay empty (that platform is not deployed); vpn_test_peers are\n"
        "# laptops kept enrolled so the audit can cross the tunnel (VPN-05).\n" + body
    )


def telework_yml(s: Settings) -> str:
    ref = s.reference.model_dump(by_alias=True, mode="json")
    f = VarsFile(
        (
            "Reference data the roster (roster.csv beside hosts.yml) is validated against.",
            "`toolkit roster validate` and the telework_roster vars plugin both read this",
            "file; roles read the same variables. It holds these variables and no others.",
        )
    )
    f.set(
        "telework_workdays",
        ref["telework_workdays"],
        "Working days of the administration (mon..sun).",
    )
    f.set(
        "telework_office_hours",
        ref["telework_office_hours"],
        "Official office hours, HH:MM-HH:MM; on-site head-counts (C3) are taken within them.",
    )
    f.set(
        "telework_mail_domains",
        ref["telework_mail_domains"],
        "Mail domains of the administration: every teleworker's e-mail must be in one (M2).",
    )
    f.set(
        "telework_units",
        ref["telework_units"],
        "Units: total staff and the minimum that must stay on site at any time (C3).",
    )
    f.set(
        "telework_vpn_groups",
        ref["telework_vpn_groups"],
        "VPN access groups (A13); group_vars/vpn_gateways/vpn_gateway.yml maps each to services.",
    )
    return f.text()


def identity_yml(s: Settings) -> str:
    f = VarsFile(
        (
            "The identity contract: where every platform (mail, collaboration, videoconference,",
            "VPN groups) finds the teleworkers' accounts (roles/directory/README.md).",
        )
    )
    people_dn = groups_dn = ""
    if s.directory is Directory.PROJECT:
        directory = s.members("directory_servers")[0].name
        f.set(
            "identity_provider",
            "openldap",
            "Kind of server: openldap (role directory), ldap or active_directory.",
        )
        f.set("identity_uri", f"ldaps://{directory}:636", "LDAPS URI the platforms connect to.")
        f.set(
            "identity_ca_file",
            "/usr/local/share/ca-certificates/telework-internal-ca.crt",
            "CA of the directory's certificate, on the hosts (role pki installs the internal CA "
            "there).",
        )
        f.set("identity_base_dn", s.base_dn, "Base of every search.")
        people_dn, groups_dn = (
            "ou=people,{{ identity_base_dn }}",
            "ou=groups,{{ identity_base_dn }}",
        )
        bind_dn, bind_file = (
            "uid={service},ou=services,{{ identity_base_dn }}",
            "directory/services",
        )
        user_filter = (
            "(&(objectClass=inetOrgPerson)(memberOf=cn=teleworkers,{{ identity_groups_dn }}))"
        )
        group_filter = "(objectClass=groupOfNames)"
        attributes = {
            "login": "uid", "mail": "mail", "display_name": "cn",
            "display_name_arabic": "cn;lang-ar", "unit": "ou", "member": "member",
            "member_of": "memberOf", "group_name": "cn",
        }  # fmt: skip
    else:
        e = s.existing
        if e is None:
            raise ValueError("an existing directory needs its settings (settings.check)")
        f.set(
            "identity_provider",
            e.provider,
            "Kind of server: the administration's active_directory or ldap.",
        )
        f.set(
            "identity_uri",
            e.uri,
            "LDAPS URI of the administration's directory (a domain controller).",
        )
        f.set(
            "identity_ca_file",
            e.ca_file,
            "CA of the directory's certificate, on the hosts (copy it there).",
        )
        f.set("identity_base_dn", s.base_dn, "Base of every search.")
        people_dn, groups_dn = e.people_dn, e.groups_dn
        bind_dn, bind_file = "cn=svc-{service},{{ identity_people_dn }}", "identity"
        user_filter = (
            "(&(objectCategory=person)(objectClass=user)"
            "(!(userAccountControl:1.2.840.113556.1.4.803:=2))"
            "(memberOf=cn=teleworkers,{{ identity_groups_dn }}))"
        )
        group_filter = "(objectClass=group)"
        attributes = {
            "login": "sAMAccountName", "mail": "mail", "display_name": "displayName",
            "display_name_arabic": "displayName;lang-ar", "unit": "department",
            "member": "member", "member_of": "memberOf", "group_name": "cn",
        }  # fmt: skip
    f.set("identity_people_dn", people_dn, "Where the people live.")
    f.set(
        "identity_groups_dn",
        groups_dn,
        "Where the groups live (teleworkers, vpn-<group>, unit-<unit>).",
    )
    f.set(
        "identity_bind_dn",
        bind_dn,
        "The account a platform binds with: `{service}` is mail, collaboration, "
        "videoconference, vpn.",
    )
    f.set(
        "identity_bind_password_file",
        f"{{{{ inventory_dir }}}}/.credentials/{bind_file}/{{service}}.password",
        "Its password on the control node (git-ignored, 0600"
        + (", made by the directory role)." if s.directory is Directory.PROJECT else
           ", vault-encrypted by toolkit init: set the same on the account in the directory)."),
    )  # fmt: skip
    f.set(
        "identity_user_filter",
        user_filter,
        "Active teleworkers only: enabled members of the teleworkers group.",
    )
    f.set("identity_group_filter", group_filter, "Groups.")
    f.set(
        "identity_vpn_group_dn",
        "cn=vpn-{name},{{ identity_groups_dn }}",
        "Group of a VPN access group.",
    )
    f.set("identity_unit_group_dn", "cn=unit-{name},{{ identity_groups_dn }}", "Group of a unit.")
    f.set("identity_attributes", attributes, "Attribute names the platforms read.")
    return f.text()


def connection_yml(s: Settings) -> str:
    f = VarsFile(("How Ansible and `toolkit audit` reach the hosts, and become root.",))
    f.set("ansible_user", s.ssh_user, "Admin account Ansible logs in as (baseline_admin_users).")
    if s.ssh_key:
        f.set("ansible_ssh_private_key_file", s.ssh_key, "Its SSH private key on the control node.")
    known = f"-o UserKnownHostsFile={s.known_hosts} " if s.known_hosts else ""
    f.set(
        "ansible_ssh_common_args",
        f"{known}-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
        "Host keys are checked strictly: add each host's key to "
        + (s.known_hosts or "~/.ssh/known_hosts")
        + " first.",
    )
    f.set(
        "ansible_become_password",
        f"{{{{ {BECOME_SECRET} }}}}",
        "The admin's sudo password, from the vault (group_vars/all/vault.yml).",
    )
    f.set(
        "audit_become_password_file",
        "{{ inventory_dir }}/.credentials/become.password",
        "The same password for `toolkit audit` (vault-encrypted, git-ignored, 0600).",
    )
    if s.certificates is Certificates.PROJECT:
        f.set(
            "audit_ca_file",
            "{{ inventory_dir }}/.pki/ca.crt",
            "CA `toolkit audit` checks services' certificates with.",
        )
    return f.text()


def vault_yml(secrets: dict[str, str]) -> str:
    f = VarsFile(
        (
            "Secrets of this environment, encrypted with ansible-vault (toolkit init made them).",
            "Edit: ansible-vault edit --vault-password-file FILE group_vars/all/vault.yml",
            "The vault password itself is never kept in the repository.",
        )
    )
    f.set(BECOME_SECRET, secrets[BECOME_SECRET], "The admin account's sudo password on every host.")
    return f.text()


def _certificates(s: Settings, f: VarsFile, role: str) -> None:
    prefix, _ = CERTIFICATE_VARIABLES[role]
    name = f"{prefix}.{s.domain}"
    if s.certificates is Certificates.FILES:
        cert, key = f"/etc/ssl/telework/{name}.crt", f"/etc/ssl/telework/{name}.key"
    elif s.certificates is Certificates.ACME:
        cert, key = (
            f"/etc/letsencrypt/live/{name}/fullchain.pem",
            f"/etc/letsencrypt/live/{name}/privkey.pem",
        )
    else:
        return
    f.set(f"{role}_certificate_file", cert)
    f.set(f"{role}_key_file", key)


#: The audit's probe mailbox (role directory's directory_probe_accounts; with an existing
#: directory, an account the directory team creates with the password toolkit init made).
PROBE = "audit-probe"


def probe_password_path(s: Settings) -> str:
    folder = "directory/probes" if s.directory is Directory.PROJECT else "identity"
    return f".credentials/{folder}/{PROBE}.password"


def mail_audit_params(s: Settings) -> dict[str, Any]:
    records = {"domain": s.domain}
    probe = {
        "login": PROBE,
        "address": f"{PROBE}@{s.domain}",
        "password_path": probe_password_path(s),
    }
    return {
        **{f"MAIL-0{n}": dict(records) for n in range(1, 7)},
        "MAIL-07": {"mx_name": f"mail.{s.domain}"},
        "MAIL-10": probe,
        "MAIL-11": {**probe, **records},
    }


def group_files(s: Settings) -> dict[str, str]:
    """group_vars/<group>/<role>.yml of each platform with hosts."""
    files: dict[str, str] = {}
    admin_networks = list(s.admin_networks or s.internal_networks)
    servers = VarsFile((f"Every server of {s.env} (roles/baseline).",), role="baseline")
    users: dict[str, Any] = {
        "name": s.ssh_user,
        "ssh_keys": [s.admin_public_key] if s.admin_public_key else [],
    }
    users["password_hash"] = (
        f"{{{{ {BECOME_SECRET} | password_hash('sha512', "
        "65534 | random(seed=inventory_hostname) | string) }}"
    )
    servers.set("baseline_admin_users", [users])
    servers.set("baseline_ssh_admin_networks", admin_networks)
    collector = s.members("log_collectors")
    servers.set("baseline_log_collector_host", collector[0].name if collector else "")
    files["servers/baseline.yml"] = servers.text(with_defaults=True)

    if s.members("vpn_gateways"):
        vpn = VarsFile((f"The VPN gateway of {s.env} (roles/vpn_gateway).",), role="vpn_gateway")
        vpn.set("vpn_gateway_endpoint", s.vpn_endpoint)
        vpn.set("vpn_gateway_network_v4", s.vpn_network)
        vpn.set("vpn_gateway_dns_servers", list(s.dns_servers))
        vpn.set("vpn_gateway_dns_search", [s.domain])
        vpn.set("vpn_gateway_internal_networks", list(s.internal_networks))
        services = {
            name: {"addresses": _group_addresses(group), "proto": proto, "ports": ports}
            for name, (group, proto, ports) in SERVICES.items()
            if s.members(group)
        }
        services["admin-ssh"] = {
            "addresses": _group_addresses("servers"),
            "proto": "tcp",
            "ports": [22],
        }
        vpn.set("vpn_gateway_services", services)
        groups: dict[str, list[str]] = {name: [] for name in s.reference.vpn_groups}
        groups["staff"] = [n for n in services if n != "admin-ssh"]
        groups["admins"] = ["admin-ssh"]
        vpn.set("vpn_gateway_group_services", groups)
        vpn.set(
            "vpn_gateway_support_contact", s.support_contact or f"Support DSI, support@{s.domain}"
        )
        files["vpn_gateways/vpn_gateway.yml"] = vpn.text(with_defaults=True)

    if s.members("directory_servers"):
        d = VarsFile((f"The directory of {s.env} (roles/directory).",), role="directory")
        d.set("directory_base_dn", "{{ identity_base_dn }}")
        d.set("directory_allowed_networks", list(s.internal_networks))
        files["directory_servers/directory.yml"] = d.text(with_defaults=True)

    if collector:
        c = VarsFile(
            (f"The log collector of {s.env} (roles/log_collector).",), role="log_collector"
        )
        c.set("log_collector_allowed_networks", list(s.internal_networks))
        c.set(
            "baseline_log_collector_host",
            "",
            "The collector does not forward its own logs to itself.",
        )
        files["log_collectors/log_collector.yml"] = c.text(with_defaults=True)

    if s.members("mail_servers"):
        m = VarsFile((f"The mail server of {s.env} (roles/mail_server).",), role="mail_server")
        m.set("mail_server_admin_address", s.mail_admin or f"dsi@{s.domain}")
        _certificates(s, m, "mail_server")
        m.set(
            "audit_params",
            mail_audit_params(s),
            "What `toolkit audit` checks of the mail (MAIL-01..11): the domain's public DNS",
            "records, and messages sent to and read from the audit's probe mailbox, whose",
            "password is kept under .credentials/ (relative to this inventory folder).",
        )
        files["mail_servers/mail_server.yml"] = m.text(with_defaults=True)

    if s.members("collaboration_servers"):
        g = VarsFile((f"The groupware of {s.env} (roles/collaboration).",), role="collaboration")
        g.set("collaboration_hostname", f"collab.{s.domain}")
        _certificates(s, g, "collaboration")
        files["collaboration_servers/collaboration.yml"] = g.text(with_defaults=True)
    return files


def roster_csv() -> str:
    """An empty roster: its header only, the columns toolkit/roster/ defines."""
    return "\ufeff" + ";".join((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)) + "\n"


def environment_files(s: Settings, secrets: dict[str, str]) -> dict[str, str]:
    """Every file of the environment (relative path -> text), vault.yml still in clear."""
    files = {
        "hosts.yml": hosts_yml(s),
        "roster.csv": roster_csv(),
        "group_vars/all/telework.yml": telework_yml(s),
        "group_vars/all/identity.yml": identity_yml(s),
        "group_vars/all/connection.yml": connection_yml(s),
        "group_vars/all/vault.yml": vault_yml(secrets),
    }
    files.update({f"group_vars/{k}": v for k, v in group_files(s).items()})
    return files
