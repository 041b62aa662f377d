#!/usr/bin/python3
"""Ansible module: make the people, groups and service accounts of an OpenLDAP directory
match the teleworker roster, in one connection and one search per branch."""

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

import traceback
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import ldap
    import ldap.modlist
    import ldap.sasl
except ImportError:  # pragma: no cover - reported by the module
    ldap = None  # type: ignore[assignment]
    LDAP_IMPORT_ERROR = traceback.format_exc()
else:
    LDAP_IMPORT_ERROR = ""

LOCKED_FOR_GOOD = "000001010000Z"
# Members of a group that has nobody yet: groupOfNames needs at least one member.
PLACEHOLDER_RDN = "cn=nobody"
PERSON_ATTRS = ("cn", "cn;lang-ar", "sn", "givenname", "displayname", "mail", "ou")
MANAGED_PREFIXES = ("unit-", "vpn-")
EVERYBODY = "teleworkers"
MAX_DIFF_LINES = 400


def _b(values: list[str]) -> list[bytes]:
    return [v.encode("utf-8") for v in values]


def _s(values: list[bytes]) -> list[str]:
    return [v.decode("utf-8") for v in values]


def _ldap_message(exc: Exception) -> str:
    """The server's own words for an LDAP error (python-ldap puts them in a dict)."""
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    return str(info.get("info") or info.get("desc") or exc)


def _norm(dn: str) -> str:
    return ",".join(part.strip() for part in dn.lower().split(","))


class Sync:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        p = module.params
        self.base = p["base_dn"]
        self.people = f"ou=people,{self.base}"
        self.groups_dn = f"ou=groups,{self.base}"
        self.services_dn = f"ou=services,{self.base}"
        self.policies = f"ou=policies,{self.base}"
        self.placeholder = f"{PLACEHOLDER_RDN},{self.groups_dn}"
        self.check = module.check_mode
        self.result: dict[str, Any] = {
            "changed": False,
            "created": [],
            "modified": [],
            "disabled": [],
            "enabled": [],
            "deleted": [],
            "groups": {},
            "services": [],
            "probes": [],
            "missing": [],
        }
        self.diff: list[str] = []
        self.conn = self._connect(p["server_uri"], p["timeout"])

    # -- connection ----------------------------------------------------------------------
    @staticmethod
    def _connect(uri: str, timeout: int) -> Any:
        conn = ldap.initialize(uri)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, timeout)
        conn.set_option(ldap.OPT_TIMEOUT, timeout)
        conn.set_option(ldap.OPT_REFERRALS, 0)
        conn.protocol_version = 3
        conn.sasl_interactive_bind_s("", ldap.sasl.external())
        return conn

    def _search(self, base: str, attrs: list[str]) -> dict[str, dict[str, list[str]]]:
        """Entries one level under BASE, keyed by their lower-case RDN value."""
        try:
            found = self.conn.search_ext_s(
                base,
                ldap.SCOPE_ONELEVEL,
                "(objectClass=*)",
                attrs,
                timeout=self.module.params["timeout"],
            )
        except ldap.NO_SUCH_OBJECT:
            return {}
        entries: dict[str, dict[str, list[str]]] = {}
        for dn, raw in found:
            if dn is None:
                continue
            attrs_s = {k.lower(): _s(v) for k, v in raw.items()}
            attrs_s["dn"] = [dn]
            entries[dn.split(",", 1)[0].split("=", 1)[1].lower()] = attrs_s
        return entries

    def _write(self, what: str, dn: str, call: Any, *args: Any) -> None:
        self.result["changed"] = True
        if self.check:
            return
        try:
            call(dn, *args)
        except ldap.LDAPError as exc:
            self.module.fail_json(msg=f"{what} {dn}: {_ldap_message(exc)}", **self.result)

    # -- desired state -------------------------------------------------------------------
    @staticmethod
    def person(row: dict[str, Any]) -> dict[str, list[str]]:
        latin = " ".join(str(row["name_latin"]).split())
        given, _, family = latin.partition(" ")
        attrs = {
            "cn": [latin],
            "sn": [family or given],
            "givenname": [given],
            "displayname": [latin],
            "mail": [str(row["email"])],
            "ou": [str(row["unit"])],
        }
        arabic = " ".join(str(row.get("name_arabic") or "").split())
        attrs["cn;lang-ar"] = [arabic] if arabic else []
        return attrs

    def desired_groups(self, active: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        units = self.module.params["units"]
        vpn = self.module.params["vpn_groups"]
        groups: dict[str, dict[str, Any]] = {
            EVERYBODY: {"description": ["Every active teleworker of the roster"], "members": set()},
        }
        for key, spec in units.items():
            unit = spec or {}
            arabic = unit.get("name_arabic")
            groups[f"unit-{key}".lower()] = {
                "description": [str(unit.get("name") or key)],
                "description;lang-ar": [str(arabic)] if arabic else [],
                "members": set(),
            }
        for key, group in vpn.items():
            groups[f"vpn-{key}".lower()] = {
                "description": [str((group or {}).get("description") or key)],
                "members": set(),
            }
        for account in self.module.params["probe_accounts"]:
            groups[EVERYBODY]["members"].add(_norm(f"uid={account['name']},{self.people}"))
        for row in active:
            dn = _norm(f"uid={row['id']},{self.people}")
            wanted = [EVERYBODY, f"unit-{row['unit']}".lower()]
            wanted += [f"vpn-{g}".lower() for g in row.get("vpn_groups") or []]
            for cn in wanted:
                if cn not in groups:
                    self.module.fail_json(
                        msg=f"roster entry {row['id']}: group {cn} is not in the reference data "
                        "(telework_units / telework_vpn_groups)",
                        **self.result,
                    )
                groups[cn]["members"].add(dn)
        return groups

    # -- people --------------------------------------------------------------------------
    def _check_roster(self, roster: list[dict[str, Any]]) -> None:
        seen: set[str] = {str(a["name"]).lower() for a in self.module.params["probe_accounts"]}
        for row in roster:
            for field in ("id", "name_latin", "email", "unit", "status"):
                if not row.get(field):
                    self.module.fail_json(
                        msg=f"roster entry {row.get('id', '?')}: no {field}", **self.result
                    )
            if str(row["id"]).lower() in seen:
                self.module.fail_json(
                    msg=f"roster entry {row['id']}: duplicate id (or the name of a probe account)",
                    **self.result,
                )
            seen.add(str(row["id"]).lower())

    def sync_people(self) -> list[dict[str, Any]]:
        p = self.module.params
        roster = p["roster"]
        self._check_roster(roster)
        existing = self._search(
            self.people, [*PERSON_ATTRS, "uid", "pwdAccountLockedTime", "objectClass"]
        )
        active = [r for r in roster if r["status"] == "active"]
        missing = [r["id"] for r in active if str(r["id"]).lower() not in existing]
        self.result["missing"] = missing
        if p["report_missing"]:
            return active
        passwords = p["initial_passwords"]
        lacking = [uid for uid in missing if not passwords.get(uid)]
        if lacking and not self.check:
            self.module.fail_json(
                msg=f"no initial password for {len(lacking)} new entries: "
                + ", ".join(lacking[:10]),
                **self.result,
            )
        for row in roster:
            uid = str(row["id"])
            current = existing.get(uid.lower())
            if row["status"] != "active":
                if current:
                    self._disable(uid, current)
            elif current is None:
                self._create(uid, self.person(row), passwords.get(uid, ""))
            else:
                self._update(uid, current, self.person(row))
                self._enable(uid, current)
        in_roster = {str(r["id"]).lower() for r in roster}
        probes = {str(a["name"]).lower() for a in p["probe_accounts"]}
        for key, current in sorted(existing.items()):
            if key not in in_roster and key not in probes:
                self._absent(current.get("uid", [key])[0], current)
        return active

    def _absent(self, uid: str, current: dict[str, list[str]]) -> None:
        what = self.module.params["absent_entries"]
        if what == "delete":
            self._write("delete", current["dn"][0], self.conn.delete_s)
            self.result["deleted"].append(uid)
            self.diff.append(f"- {uid}: deleted (not in the roster)")
        elif what == "disable":
            self._disable(uid, current, why="not in the roster")

    def _enable(self, uid: str, current: dict[str, list[str]]) -> None:
        if LOCKED_FOR_GOOD not in current.get("pwdaccountlockedtime", []):
            return
        self._write(
            "unlock",
            current["dn"][0],
            self.conn.modify_s,
            [(ldap.MOD_DELETE, "pwdAccountLockedTime", None)],
        )
        self.result["enabled"].append(uid)
        self.diff.append(f"~ {uid}: unlocked (active in the roster again)")

    def _create(self, uid: str, attrs: dict[str, list[str]], password: str) -> None:
        dn = f"uid={uid},{self.people}"
        entry = {
            "objectClass": _b(["inetOrgPerson"]),
            "uid": _b([uid]),
            "userPassword": _b([password]),
            "pwdReset": _b(["TRUE"]),
        }
        names = {"givenname": "givenName", "displayname": "displayName"}
        entry.update({names.get(k, k): _b(v) for k, v in attrs.items() if v})
        self._write("add", dn, self.conn.add_s, list(entry.items()))
        self.result["created"].append(uid)
        self.diff.append(f"+ {uid}: {attrs['cn'][0]} <{attrs['mail'][0]}> ({attrs['ou'][0]})")

    def _update(
        self, uid: str, current: dict[str, list[str]], wanted: dict[str, list[str]]
    ) -> None:
        changes = []
        for attr, values in wanted.items():
            have = current.get(attr, [])
            if have == values:
                continue
            if values:
                changes.append((ldap.MOD_REPLACE, attr, _b(values)))
            elif have:
                changes.append((ldap.MOD_DELETE, attr, None))
            self.diff.append(f"~ {uid}: {attr}: {have} -> {values}")
        if changes:
            self._write("modify", current["dn"][0], self.conn.modify_s, changes)
            self.result["modified"].append(uid)

    def _disable(self, uid: str, current: dict[str, list[str]], why: str = "revoked") -> None:
        if LOCKED_FOR_GOOD in current.get("pwdaccountlockedtime", []):
            return
        self._write(
            "lock",
            current["dn"][0],
            self.conn.modify_s,
            [(ldap.MOD_REPLACE, "pwdAccountLockedTime", _b([LOCKED_FOR_GOOD]))],
        )
        self.result["disabled"].append(uid)
        self.diff.append(f"- {uid}: locked ({why})")

    # -- groups --------------------------------------------------------------------------
    def sync_groups(self, active: list[dict[str, Any]]) -> None:
        wanted = self.desired_groups(active)
        existing = self._search(self.groups_dn, ["cn", "member", "description"])
        placeholder = _norm(self.placeholder)
        for cn, spec in sorted(wanted.items()):
            members = spec["members"] or {placeholder}
            described = {k: v for k, v in spec.items() if k != "members"}
            current = existing.get(cn)
            dn = f"cn={cn},{self.groups_dn}"
            if current is None:
                entry = {
                    "objectClass": _b(["groupOfNames"]),
                    "cn": _b([cn]),
                    "member": _b(sorted(members)),
                }
                entry.update({k: _b(v) for k, v in described.items() if v})
                self._write("add", dn, self.conn.add_s, list(entry.items()))
                self.result["groups"][cn] = {"added": len(members - {placeholder}), "removed": 0}
                self.diff.append(f"+ group {cn}: {len(members - {placeholder})} members")
                continue
            have = {_norm(m): m for m in current.get("member", [])}
            add = sorted(members - set(have))
            remove = sorted(have[m] for m in set(have) - members)
            changes = []
            if add:
                changes.append((ldap.MOD_ADD, "member", _b(add)))
            if remove:
                changes.append((ldap.MOD_DELETE, "member", _b(remove)))
            for attr, values in described.items():
                if current.get(attr, []) != values:
                    changes.append(
                        (ldap.MOD_REPLACE, attr, _b(values))
                        if values
                        else (ldap.MOD_DELETE, attr, None)
                    )
            if changes:
                self._write("modify", current["dn"][0], self.conn.modify_s, changes)
                self.result["groups"][cn] = {
                    "added": len([m for m in add if m != placeholder]),
                    "removed": len([m for m in remove if _norm(m) != placeholder]),
                }
                self.diff.append(f"~ group {cn}: +{len(add)} -{len(remove)} members")
        # Managed groups that left the reference data keep no teleworker.
        for cn, current in existing.items():
            if cn in wanted or not cn.startswith(MANAGED_PREFIXES):
                continue
            have = [m for m in current.get("member", []) if _norm(m) != placeholder]
            if have:
                self._write(
                    "modify",
                    current["dn"][0],
                    self.conn.modify_s,
                    [(ldap.MOD_REPLACE, "member", _b([self.placeholder]))],
                )
                self.result["groups"][cn] = {"added": 0, "removed": len(have)}
                self.diff.append(f"- group {cn}: emptied (not in the reference data)")

    # -- services ------------------------------------------------------------------------
    def _generated_password(self, kind: str, name: str) -> str | None:
        """The password generated on the controller for a service or probe account; None
        in a dry run, where none is made."""
        password = str(self.module.params[f"{kind}_passwords"].get(name) or "")
        if not password and self.check:
            return None
        if len(password) < 32:
            self.module.fail_json(
                msg=f"{kind} account {name}: password shorter than 32 characters",
                **self.result,
            )
        return password

    def sync_services(self) -> None:
        existing = self._search(self.services_dn, ["uid", "description", "pwdPolicySubentry"])
        policy = f"cn=services,{self.policies}"
        for account in self.module.params["service_accounts"]:
            name = str(account["name"])
            password = self._generated_password("service", name)
            if password is None:
                continue
            dn = f"uid={name},{self.services_dn}"
            description = [str(account.get("description") or name)]
            current = existing.get(name.lower())
            if current is None:
                entry = {
                    "objectClass": _b(["account", "simpleSecurityObject"]),
                    "uid": _b([name]),
                    "description": _b(description),
                    "userPassword": _b([password]),
                    "pwdPolicySubentry": _b([policy]),
                }
                self._write("add", dn, self.conn.add_s, list(entry.items()))
                self.result["services"].append(name)
                self.diff.append(f"+ service {name}")
                continue
            changes = []
            if current.get("description", []) != description:
                changes.append((ldap.MOD_REPLACE, "description", _b(description)))
            if _norm(current.get("pwdpolicysubentry", [""])[0]) != _norm(policy):
                changes.append((ldap.MOD_REPLACE, "pwdPolicySubentry", _b([policy])))
            if not self._binds(current["dn"][0], password):
                changes.append((ldap.MOD_REPLACE, "userPassword", _b([password])))
                self.diff.append(f"~ service {name}: password reset")
            if changes:
                self._write("modify", current["dn"][0], self.conn.modify_s, changes)
                self.result["services"].append(name)

    # -- probe accounts ------------------------------------------------------------------
    def sync_probes(self) -> None:
        existing = self._search(
            self.people, ["uid", "cn", "sn", "mail", "description", "pwdPolicySubentry"]
        )
        policy = f"cn=services,{self.policies}"
        for account in self.module.params["probe_accounts"]:
            name = str(account["name"])
            password = self._generated_password("probe", name)
            if password is None:
                continue
            wanted = {
                "cn": [f"Audit probe {name}"],
                "sn": ["probe"],
                "mail": [str(account["mail"])],
                "description": [str(account.get("description") or "audit probe")],
                "pwdpolicysubentry": [policy],
            }
            names = {"pwdpolicysubentry": "pwdPolicySubentry"}
            current = existing.get(name.lower())
            dn = f"uid={name},{self.people}"
            if current is None:
                entry = {"objectClass": _b(["inetOrgPerson"]), "uid": _b([name])}
                entry.update({names.get(k, k): _b(v) for k, v in wanted.items()})
                entry["userPassword"] = _b([password])
                self._write("add", dn, self.conn.add_s, list(entry.items()))
                self.result["probes"].append(name)
                self.diff.append(f"+ probe {name} <{account['mail']}>")
                continue
            changes = [
                (ldap.MOD_REPLACE, names.get(attr, attr), _b(values))
                for attr, values in wanted.items()
                if [_norm(v) for v in current.get(attr, [])] != [_norm(v) for v in values]
            ]
            if not self._binds(current["dn"][0], password):
                changes.append((ldap.MOD_REPLACE, "userPassword", _b([password])))
                self.diff.append(f"~ probe {name}: password reset")
            if changes:
                self._write("modify", current["dn"][0], self.conn.modify_s, changes)
                self.result["probes"].append(name)

    def _binds(self, dn: str, password: str) -> bool:
        probe = ldap.initialize(self.module.params["server_uri"])
        probe.set_option(ldap.OPT_NETWORK_TIMEOUT, self.module.params["timeout"])
        try:
            probe.simple_bind_s(dn, password)
        except ldap.INVALID_CREDENTIALS:
            return False
        finally:
            probe.unbind_s()
        return True


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
        sync = Sync(module)
        active = sync.sync_people()
        if not module.params["report_missing"]:
            sync.sync_probes()
            sync.sync_groups(active)
            sync.sync_services()
    except ldap.LDAPError as exc:
        module.fail_json(msg=f"LDAP error: {_ldap_message(exc)}")
    result = sync.result
    if module._diff and sync.diff:
        lines = sync.diff[:MAX_DIFF_LINES]
        if len(sync.diff) > MAX_DIFF_LINES:
            lines.append(f"... and {len(sync.diff) - MAX_DIFF_LINES} more changes")
        result["diff"] = {"before": "", "after": "\n".join(lines) + "\n"}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
