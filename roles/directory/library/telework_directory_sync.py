#!/usr/bin/python3
# mypy: allow-subclassing-any
"""Ansible module: make the people, groups and service accounts of an OpenLDAP directory
match the teleworker roster, in one connection and one search per branch. The work is in
the role's module_utils: telework_directory_people, _groups, _accounts and _ldap."""

from __future__ import annotations

DOCUMENTATION = r"""
module: telework_directory_sync
short_description: Apply the teleworker roster to the directory (people, groups, services)
description:
- Reads ou=people, ou=groups and ou=services once, compares them with the roster and writes
  only the differences, so that a roster edit touches only the entries it is about.
- Active teleworkers get an inetOrgPerson entry (uid, cn, cn;lang-ar, sn, givenName, displayName,
  mail, ou) and membership of C(teleworkers), C(unit-<unit>) and C(vpn-<group>) for each of
  their VPN access groups.
- Revoked teleworkers (and, with I(absent_entries=disable), entries that left the roster)
  are locked (pwdAccountLockedTime 000001010000Z) and leave every managed group.
- A new entry gets the initial password given in I(initial_passwords) and pwdReset, so the
  user must change it at first login. A missing password is an error, except with I(report_missing),
  which only lists the uids that need one.
- Service accounts get a bind password; it is checked by binding and reset only when it no
  longer works.
- Probe accounts are people entries outside the roster that the audit uses to test the
  platforms as a teleworker would (a message sent and read, MAIL-10, MAIL-11). They belong to
  C(teleworkers) only (no unit, no VPN group), follow the services' password policy (no
  expiry, no reset) and are never treated as absent from the roster.
- Runs on the directory host, as root over ldapi:/// with SASL EXTERNAL.
options:
  base_dn:
    description: Base DN of the directory.
    type: str
    required: true
  roster:
    description: The validated roster (telework_roster).
    type: list
    elements: dict
    required: true
  units:
    description: Units of the reference data (key to name and name_arabic).
    type: dict
    default: {}
  vpn_groups:
    description: VPN access groups of the reference data (key to description).
    type: dict
    default: {}
  absent_entries:
    description: What to do with people entries not in the roster.
    type: str
    choices:
    - disable
    - delete
    - keep
    default: disable
  initial_passwords:
    description: Initial passwords of the entries to create (uid to password).
    type: dict
    default: {}
  service_accounts:
    description: Service accounts (name and description).
    type: list
    elements: dict
    default: []
  service_passwords:
    description: Bind password of each service account (name to password); accounts without
      one are left alone (dry run).
    type: dict
    default: {}
  probe_accounts:
    description: Probe accounts (name, mail, description).
    type: list
    elements: dict
    default: []
  probe_passwords:
    description: Password of each probe account (name to password); accounts without one are
      left alone (dry run).
    type: dict
    default: {}
  report_missing:
    description: Change nothing; return the uids that need an initial password.
    type: bool
    default: false
  server_uri:
    description: LDAP URI of the server (root over SASL EXTERNAL).
    type: str
    default: ldapi:///
  timeout:
    description: Seconds allowed for the connection and for each operation.
    type: int
    default: 60
"""

RETURN = r"""
created:
  description: uids of the entries created.
  type: list
  returned: always
modified:
  description: uids of the entries whose attributes changed.
  type: list
  returned: always
disabled:
  description: uids locked and taken out of every group.
  type: list
  returned: always
enabled:
  description: uids unlocked (back in the roster as active).
  type: list
  returned: always
deleted:
  description: uids deleted (absent_entries=delete).
  type: list
  returned: always
groups:
  description: Group cn to the members added and removed.
  type: dict
  returned: always
services:
  description: Service accounts created or whose password was reset.
  type: list
  returned: always
probes:
  description: Probe accounts created or changed.
  type: list
  returned: always
missing:
  description: uids that need an initial password before they can be created.
  type: list
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.telework_directory_accounts import Accounts
from ansible.module_utils.telework_directory_groups import Groups
from ansible.module_utils.telework_directory_ldap import LDAP_IMPORT_ERROR, ldap, ldap_message
from ansible.module_utils.telework_directory_people import People


class Sync(People, Groups, Accounts):
    """People (module_utils telework_directory_people), groups (_groups), service and probe
    accounts (_accounts) over one connection (_ldap)."""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "base_dn": {"type": "str", "required": True},
            "roster": {"type": "list", "elements": "dict", "required": True},
            "units": {"type": "dict", "default": {}},
            "vpn_groups": {"type": "dict", "default": {}},
            "absent_entries": {
                "type": "str",
                "choices": ["disable", "delete", "keep"],
                "default": "disable",
            },
            "initial_passwords": {"type": "dict", "default": {}, "no_log": True},
            "service_accounts": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "description": {"type": "str", "default": ""},
                },
            },
            "service_passwords": {"type": "dict", "default": {}, "no_log": True},
            "probe_accounts": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "mail": {"type": "str", "required": True},
                    "description": {"type": "str", "default": ""},
                },
            },
            "probe_passwords": {"type": "dict", "default": {}, "no_log": True},
            "report_missing": {"type": "bool", "default": False},
            "server_uri": {"type": "str", "default": "ldapi:///"},
            "timeout": {"type": "int", "default": 60},
        },
        supports_check_mode=True,
    )
    if ldap is None:
        module.fail_json(msg=missing_required_lib("python3-ldap"), exception=LDAP_IMPORT_ERROR)
    try:
        sync = Sync(module.params, module.check_mode, module.fail_json)
        active = sync.sync_people()
        if not module.params["report_missing"]:
            sync.sync_probes()
            sync.sync_groups(active)
            sync.sync_services()
    except ldap.LDAPError as exc:
        module.fail_json(msg=f"LDAP error: {ldap_message(exc)}")
    result = sync.result
    if module._diff and sync.diff:
        result["diff"] = {"before": "", "after": sync.diff_text()}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
