"""The LDAP side of telework_directory_sync: one connection (root over SASL EXTERNAL), one
search per branch, every write through one place that words the server's errors, and the
result and diff the module returns. Imported as ansible.module_utils.telework_directory_ldap."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any, NoReturn

try:
    import ldap
    import ldap.modlist
    import ldap.sasl
except ImportError:  # pragma: no cover - reported by the module
    ldap = None
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


def ldap_message(exc: Exception) -> str:
    """The server's own words for an LDAP error (python-ldap puts them in a dict)."""
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    return str(info.get("info") or info.get("desc") or exc)


def _norm(dn: str) -> str:
    return ",".join(part.strip() for part in dn.lower().split(","))


class Directory:
    """The connection, the branches' DNs, the result and the diff lines of one run."""

    def __init__(
        self, params: dict[str, Any], check_mode: bool, fail: Callable[..., NoReturn]
    ) -> None:
        self.params = params
        self._fail = fail
        self.base = params["base_dn"]
        self.people = f"ou=people,{self.base}"
        self.groups_dn = f"ou=groups,{self.base}"
        self.services_dn = f"ou=services,{self.base}"
        self.policies = f"ou=policies,{self.base}"
        self.placeholder = f"{PLACEHOLDER_RDN},{self.groups_dn}"
        self.check = check_mode
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
        self.conn = self._connect(params["server_uri"], params["timeout"])

    def fail(self, msg: str) -> NoReturn:
        """Stop the run with MSG; the result so far goes with it."""
        self._fail(msg=msg, **self.result)

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
                timeout=self.params["timeout"],
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
            self.fail(f"{what} {dn}: {ldap_message(exc)}")

    def _binds(self, dn: str, password: str) -> bool:
        probe = ldap.initialize(self.params["server_uri"])
        probe.set_option(ldap.OPT_NETWORK_TIMEOUT, self.params["timeout"])
        try:
            probe.simple_bind_s(dn, password)
        except ldap.INVALID_CREDENTIALS:
            return False
        finally:
            probe.unbind_s()
        return True

    def diff_text(self) -> str:
        """The diff lines, at most MAX_DIFF_LINES of them, as the module's diff shows them."""
        lines = self.diff[:MAX_DIFF_LINES]
        if len(self.diff) > MAX_DIFF_LINES:
            lines.append(f"... and {len(self.diff) - MAX_DIFF_LINES} more changes")
        return "\n".join(lines) + "\n"
