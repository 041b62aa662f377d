"""The teleworker portal's directory (A4 first factor): the directory's password, checked
with an LDAP bind through the identity contract, as telework_visio does. Debian's
python3-ldap, imported on the gateway only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

LOGIN_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class Directory(Protocol):
    def authenticate(self, login: str, password: str) -> str | None:
        """The teleworker's login when the password is right and the identity contract's
        filter admits them, else None."""


@dataclass(frozen=True)
class LdapDirectory:
    uri: str
    ca_file: str
    bind_dn: str
    bind_password_file: str
    people_dn: str
    user_filter: str
    login_attribute: str
    timeout: float = 10.0

    def authenticate(self, login: str, password: str) -> str | None:
        import ldap  # noqa: PLC0415  (Debian's python3-ldap, on the gateway only)
        import ldap.filter  # noqa: PLC0415

        if not LOGIN_RE.match(login) or not password:
            return None

        def connect() -> Any:
            conn = ldap.initialize(self.uri)
            conn.set_option(ldap.OPT_X_TLS_CACERTFILE, self.ca_file)
            conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
            conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
            conn.set_option(ldap.OPT_NETWORK_TIMEOUT, self.timeout)
            conn.set_option(ldap.OPT_TIMEOUT, self.timeout)
            conn.set_option(ldap.OPT_REFERRALS, 0)
            if self.uri.startswith("ldap://"):
                conn.start_tls_s()
            return conn

        service = connect()
        try:
            service.simple_bind_s(self.bind_dn, Path(self.bind_password_file).read_text().strip())
            wanted = f"(&{self.user_filter}({self.login_attribute}="
            wanted += f"{ldap.filter.escape_filter_chars(login)}))"
            found = service.search_s(self.people_dn, ldap.SCOPE_SUBTREE, wanted, ["1.1"])
        finally:
            service.unbind_s()
        if len(found) != 1:
            return None
        user = connect()
        try:
            user.simple_bind_s(found[0][0], password)
            # a password the policy asks to change first (pwdReset) binds, but its session
            # may do nothing else: reading one's own entry proves a usable account
            user.search_s(found[0][0], ldap.SCOPE_BASE, "(objectClass=*)", ["1.1"])
        except ldap.LDAPError:
            return None
        finally:
            user.unbind_s()
        return login
