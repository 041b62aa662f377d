# mypy: allow-subclassing-any
"""People of telework_directory_sync: an entry per roster row, created with an initial
password, updated attribute by attribute, locked when revoked or gone from the roster,
unlocked when active again. Imported as ansible.module_utils.telework_directory_people."""

from __future__ import annotations

from typing import Any

from ansible.module_utils.telework_directory_ldap import (
    LOCKED_FOR_GOOD,
    PERSON_ATTRS,
    Directory,
    _b,
    ldap,
)


def person(row: dict[str, Any]) -> dict[str, list[str]]:
    """The attributes of a roster row's entry (lower-case names, as searches return them)."""
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


class People(Directory):
    def _check_roster(self, roster: list[dict[str, Any]]) -> None:
        seen: set[str] = {str(a["name"]).lower() for a in self.params["probe_accounts"]}
        for row in roster:
            for field in ("id", "name_latin", "email", "unit", "status"):
                if not row.get(field):
                    self.fail(f"roster entry {row.get('id', '?')}: no {field}")
            if str(row["id"]).lower() in seen:
                self.fail(
                    f"roster entry {row['id']}: duplicate id (or the name of a probe account)"
                )
            seen.add(str(row["id"]).lower())

    def sync_people(self) -> list[dict[str, Any]]:
        p = self.params
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
            self.fail(
                f"no initial password for {len(lacking)} new entries: " + ", ".join(lacking[:10])
            )
        for row in roster:
            uid = str(row["id"])
            current = existing.get(uid.lower())
            if row["status"] != "active":
                if current:
                    self._disable(uid, current)
            elif current is None:
                self._create(uid, person(row), passwords.get(uid, ""))
            else:
                self._update(uid, current, person(row))
                self._enable(uid, current)
        in_roster = {str(r["id"]).lower() for r in roster}
        probes = {str(a["name"]).lower() for a in p["probe_accounts"]}
        for key, current in sorted(existing.items()):
            if key not in in_roster and key not in probes:
                self._absent(current.get("uid", [key])[0], current)
        return active

    def _absent(self, uid: str, current: dict[str, list[str]]) -> None:
        what = self.params["absent_entries"]
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
