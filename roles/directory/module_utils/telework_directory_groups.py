# mypy: allow-subclassing-any
"""Groups of telework_directory_sync: `teleworkers`, `unit-<unit>` and `vpn-<group>` hold
exactly the active teleworkers they should (and the probe accounts, `teleworkers` only);
managed groups gone from the reference data are emptied. Imported as
ansible.module_utils.telework_directory_groups."""

from __future__ import annotations

from typing import Any

from ansible.module_utils.telework_directory_ldap import (
    EVERYBODY,
    MANAGED_PREFIXES,
    Directory,
    _b,
    _norm,
    ldap,
)


class Groups(Directory):
    def desired_groups(self, active: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        units = self.params["units"]
        vpn = self.params["vpn_groups"]
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
        for account in self.params["probe_accounts"]:
            groups[EVERYBODY]["members"].add(_norm(f"uid={account['name']},{self.people}"))
        for row in active:
            dn = _norm(f"uid={row['id']},{self.people}")
            wanted = [EVERYBODY, f"unit-{row['unit']}".lower()]
            wanted += [f"vpn-{g}".lower() for g in row.get("vpn_groups") or []]
            for cn in wanted:
                if cn not in groups:
                    self.fail(
                        f"roster entry {row['id']}: group {cn} is not in the reference data "
                        "(telework_units / telework_vpn_groups)"
                    )
                groups[cn]["members"].add(dn)
        return groups

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
            have_members = [m for m in current.get("member", []) if _norm(m) != placeholder]
            if have_members:
                self._write(
                    "modify",
                    current["dn"][0],
                    self.conn.modify_s,
                    [(ldap.MOD_REPLACE, "member", _b([self.placeholder]))],
                )
                self.result["groups"][cn] = {"added": 0, "removed": len(have_members)}
                self.diff.append(f"- group {cn}: emptied (not in the reference data)")
