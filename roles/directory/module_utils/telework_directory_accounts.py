# mypy: allow-subclassing-any
"""Service and probe accounts of telework_directory_sync: a bind password generated on the
controller, reset only when it no longer binds, and the services' password policy.
Imported as ansible.module_utils.telework_directory_accounts."""

from __future__ import annotations

from ansible.module_utils.telework_directory_ldap import (
    LOCKED_FOR_GOOD,
    Directory,
    _b,
    _norm,
    ldap,
)

MIN_PASSWORD_LENGTH = 32


class Accounts(Directory):
    def _generated_password(self, kind: str, name: str) -> str | None:
        """The password generated on the controller for a service or probe account; None
        in a dry run, where none is made."""
        password = str(self.params[f"{kind}_passwords"].get(name) or "")
        if not password and self.check:
            return None
        if len(password) < MIN_PASSWORD_LENGTH:
            self.fail(f"{kind} account {name}: password shorter than 32 characters")
        return password

    def sync_services(self) -> None:
        existing = self._search(self.services_dn, ["uid", "description", "pwdPolicySubentry"])
        policy = f"cn=services,{self.policies}"
        for account in self.params["service_accounts"]:
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

    def sync_probes(self) -> None:
        existing = self._search(
            self.people,
            ["uid", "cn", "sn", "mail", "description", "pwdPolicySubentry", "pwdAccountLockedTime"],
        )
        policy = f"cn=services,{self.policies}"
        for account in self.params["probe_accounts"]:
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
            if LOCKED_FOR_GOOD in current.get("pwdaccountlockedtime", []):
                # disabled as absent from the roster by a run that did not know the probe
                # (an older list of probe accounts): a declared probe is never disabled
                self._write(
                    "unlock",
                    current["dn"][0],
                    self.conn.modify_s,
                    [(ldap.MOD_DELETE, "pwdAccountLockedTime", None)],
                )
                self.result["probes"].append(name)
                self.diff.append(f"~ probe {name}: unlocked (a probe account is never disabled)")
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
                if name not in self.result["probes"]:
                    self.result["probes"].append(name)
