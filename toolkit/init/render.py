"""The files of a new environment, as text: every variable under a comment saying what it
is (a role variable's comment is the role's own, read from its defaults/main.yml)."""

from __future__ import annotations

from typing import Any

from toolkit.init.platforms import group_files
from toolkit.init.settings import OTHER_GROUPS, SERVER_GROUPS, Certificates, Directory, Settings
from toolkit.init.varsfile import BECOME_SECRET, VarsFile, dump_yaml
from toolkit.roster.source import OPTIONAL_COLUMNS, REQUIRED_COLUMNS


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
    body = dump_yaml(tree)
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
    f.set(
        "ansible_python_interpreter",
        "/usr/bin/python3",
        "Python on every host (Debian 12 and 13 both have it): with Ansible's discovery a task",
        "delegated to another host ran the delegating host's interpreter there (python3.11 of",
        "a Debian 12 host on a Debian 13 one).",
    )
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


#: Who answers for restoring the platforms when `toolkit init` is not told (--continuity-owner).
DEFAULT_CONTINUITY_OWNER = "Direction des systèmes d'information"


def continuity_yml(s: Settings) -> str:
    """The continuity plan's owner (A5): `toolkit report continuity` and BCK-05 refuse a
    platform without one."""
    f = VarsFile(
        (
            "Business continuity plan (A5, toolkit report continuity, BCK-05): who restores",
            "each platform; set it per platform group in group_vars/<group>/continuity.yml.",
        )
    )
    f.set(
        "continuity_owner",
        s.continuity_owner or DEFAULT_CONTINUITY_OWNER,
        "Who answers for restoring the platforms (a unit, a role).",
    )
    return f.text() + (
        "\n# The restore time the plan promises, in hours (the drills' measured RTO is judged\n"
        "# against it):\n# continuity_rto_hours: 4\n"
    )


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
        "group_vars/all/continuity.yml": continuity_yml(s),
        "group_vars/all/vault.yml": vault_yml(secrets),
    }
    files.update({f"group_vars/{k}": v for k, v in group_files(s).items()})
    return files
