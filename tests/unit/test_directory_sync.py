"""telework_directory_sync, the directory role's module, run by Ansible against a real slapd
this test starts on 127.0.0.1 (and a private ldapi socket for the module's SASL EXTERNAL):
a roster row becomes a person in its groups, an edited row is updated, a revoked row is
locked and leaves its groups, nothing else is touched, a second run changes nothing, and an
LDAP error says what failed (E1, C5). Needs Debian's slapd, ldap-utils and python3-ldap."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.ports import free_port
from tests.slapd import SLAPD, running_slapd

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv/bin"
SYSTEM_PYTHON = Path("/usr/bin/python3")
BASE = "dc=lab,dc=telework,dc=test"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"

try:
    HAVE_LDAP = (
        subprocess.run(
            [str(SYSTEM_PYTHON), "-c", "import ldap"],
            capture_output=True,
            timeout=30,
            check=False,
        ).returncode
        == 0
    )
except OSError:
    HAVE_LDAP = False

pytestmark = pytest.mark.skipif(
    not (SLAPD.exists() and shutil.which("ldapsearch") and HAVE_LDAP),
    reason="needs Debian's slapd, ldap-utils and python3-ldap (./run setup)",
)

UNITS = {"finance": {"name": "Finance", "name_arabic": "المالية"}, "staff": {"name": "Staff"}}
VPN_GROUPS = {"finance": {"description": "Finance applications"}, "staff": {"description": "Mail"}}
PROBES = [{"name": "audit-probe", "mail": "audit-probe@lab.telework.test"}]
SERVICES = [{"name": "mail", "description": "Mail server"}]
LONG = "x" * 40


def row(uid: str, name: str, unit: str, status: str = "active", **extra: Any) -> dict[str, Any]:
    return {
        "id": uid,
        "name_latin": name,
        "email": f"{uid}@lab.telework.test",
        "unit": unit,
        "status": status,
        "vpn_groups": [unit],
        **extra,
    }


ROSTER_BEFORE = [
    row("ag0001", "Amina Benali", "staff"),
    row("ag0002", "Youssef  Alami", "staff"),
    row("ag0003", "Khadija Ouazzani", "finance", name_arabic="خديجة الوزاني"),
    row("ag0004", "Omar Tazi", "finance"),
]
ROSTER_AFTER = [
    row("ag0001", "Amina Benali", "staff"),
    row("ag0002", "Youssef Alami", "finance"),  # moved to finance
    row("ag0003", "Khadija Ouazzani", "finance", status="revoked", name_arabic="خديجة الوزاني"),
    row("ag0005", "Salma Idrissi", "staff"),  # new; ag0004 left the roster
]
PASSWORDS = {f"ag000{n}": f"Initial-Password-{n}-2026" for n in range(1, 6)}


def config_ldif(folder: Path) -> str:
    external = f"gidNumber={os.getgid()}+uidNumber={os.getuid()},cn=peercred,cn=external,cn=auth"
    schemas = "\n".join(
        f"include: file:///etc/ldap/schema/{name}.ldif\n"
        for name in ("core", "cosine", "nis", "inetorgperson", "namedobject")
    )
    return f"""\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {folder}/slapd.pid

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: {{0}}back_mdb
olcModuleLoad: {{1}}ppolicy
olcModuleLoad: {{2}}memberof

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{schemas}
dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {BASE}
olcDbDirectory: {folder}/db
olcDbMaxSize: 104857600
olcRootDN: {external}
olcAccess: {{0}}to attrs=userPassword by anonymous auth by self write by * none
olcAccess: {{1}}to * by * read

dn: olcOverlay={{0}}memberof,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {{0}}memberof
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf

dn: olcOverlay={{1}}ppolicy,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {{1}}ppolicy
olcPPolicyDefault: cn=people,ou=policies,{BASE}
olcPPolicyUseLockout: FALSE
"""


# What the role's tasks make before the module runs, and two entries the module must leave
# alone: a group whose name it does not manage and a service account it is not given.
UNITS_LDIF = "".join(
    f"dn: ou={ou},{BASE}\nobjectClass: organizationalUnit\nou: {ou}\n\n"
    for ou in ("people", "groups", "services", "policies")
)
DATA_LDIF = f"""\
dn: {BASE}
objectClass: dcObject
objectClass: organization
o: Lab

{UNITS_LDIF}\
dn: cn=people,ou=policies,{BASE}
objectClass: namedPolicy
objectClass: pwdPolicy
cn: people
pwdAttribute: userPassword
pwdMustChange: TRUE
pwdLockout: TRUE
pwdMaxFailure: 5
pwdLockoutDuration: 600

dn: cn=services,ou=policies,{BASE}
objectClass: namedPolicy
objectClass: pwdPolicy
cn: services
pwdAttribute: userPassword

dn: cn=admins,{GROUPS}
objectClass: groupOfNames
cn: admins
member: uid=ag0004,{PEOPLE}

dn: uid=legacy,ou=services,{BASE}
objectClass: account
objectClass: simpleSecurityObject
uid: legacy
userPassword: legacy-password
"""


@dataclass(frozen=True)
class Slapd:
    folder: Path
    ldapi: str
    ldap: str

    def search(self, base: str, *attrs: str, scope: str = "sub") -> str:
        """LDIF of what the directory's root sees (EXTERNAL over the socket)."""
        done = subprocess.run(
            ["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-Q", "-Y", "EXTERNAL", "-H", self.ldapi,
             "-s", scope, "-b", base, "(objectClass=*)", *attrs],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        return done.stdout

    def bind(self, uid: str, password: str) -> subprocess.CompletedProcess[str]:
        """A teleworker's simple bind over TCP on 127.0.0.1."""
        return subprocess.run(
            ["ldapwhoami", "-x", "-e", "ppolicy", "-H", self.ldap, "-D", f"uid={uid},{PEOPLE}",
             "-w", password],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip

    def members(self, group: str) -> set[str]:
        text = self.search(f"cn={group},{GROUPS}", "member", scope="base")
        return {
            line.split(": ", 1)[1].split(",", 1)[0].removeprefix("uid=")
            for line in text.splitlines()
            if line.startswith("member: ")
        }

    def sync(
        self, roster: list[dict[str, Any]], *, check: bool = False, **params: Any
    ) -> dict[str, Any]:
        """Run the module through Ansible (the role's library/ and module_utils/) and return
        its result."""
        args = {
            "base_dn": BASE,
            "roster": roster,
            "units": UNITS,
            "vpn_groups": VPN_GROUPS,
            "initial_passwords": PASSWORDS,
            "service_accounts": SERVICES,
            "service_passwords": {"mail": LONG},
            "probe_accounts": PROBES,
            "probe_passwords": {"audit-probe": LONG},
            "server_uri": self.ldapi,
            "timeout": 10,
            **params,
        }
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(self.folder / "ansible.cfg"),
            "ANSIBLE_LIBRARY": str(ROOT / "roles/directory/library"),
            "ANSIBLE_MODULE_UTILS": str(ROOT / "roles/directory/module_utils"),
            "ANSIBLE_LOCAL_TEMP": str(self.folder / "ansible-tmp"),
            "HOME": str(self.folder),
        }
        argv = [str(VENV_BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
                "-e", f"ansible_python_interpreter={SYSTEM_PYTHON}",
                "-m", "telework_directory_sync", "-a", json.dumps(args), "--diff"]  # fmt: skip
        if check:
            argv.append("--check")
        done = subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert done.stdout, done.stderr
        output = json.loads(done.stdout)
        result: dict[str, Any] = output["plays"][0]["tasks"][0]["hosts"]["localhost"]
        return result


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    folder = tmp_path_factory.mktemp("slapd")
    (folder / "ansible.cfg").write_text(
        "[defaults]\nstdout_callback = ansible.posix.json\nbin_ansible_callbacks = True\n"
        "deprecation_warnings = False\n",
        encoding="utf-8",
    )
    ldapi = "ldapi://" + quote(str(folder / "ldapi"), safe="")
    ldap_uri = f"ldap://127.0.0.1:{free_port()}/"

    def answers() -> bool:
        probe = subprocess.run(
            ["ldapwhoami", "-Q", "-Y", "EXTERNAL", "-H", ldapi],
            capture_output=True,
            timeout=10,
            check=False,
        )
        return probe.returncode == 0

    with running_slapd(
        folder,
        config_ldif(folder),
        [ldap_uri, ldapi],
        answers,
        data=(BASE, DATA_LDIF),
        timeout=15,
    ):
        yield Slapd(folder, ldapi, ldap_uri)


@dataclass(frozen=True)
class Runs:
    missing: dict[str, Any]
    dry_run: dict[str, Any]
    first: dict[str, Any]
    first_again: dict[str, Any]
    ag0001_before: str
    members_before: dict[str, set[str]]
    edit: dict[str, Any]
    edit_again: dict[str, Any]


@pytest.fixture(scope="module")
def runs(slapd: Slapd) -> Runs:
    """The role's sequence: list the missing entries, apply the roster, apply it again; then
    the edited roster, in check mode, applied, and applied again."""
    missing = slapd.sync(ROSTER_BEFORE, report_missing=True)
    first = slapd.sync(ROSTER_BEFORE)
    first_again = slapd.sync(ROSTER_BEFORE)
    ag0001_before = slapd.search(f"uid=ag0001,{PEOPLE}", "*", "+", scope="base")
    members_before = {cn: slapd.members(cn) for cn in ("teleworkers", "unit-finance")}
    dry_run = slapd.sync(ROSTER_AFTER, check=True)
    edit = slapd.sync(ROSTER_AFTER)
    edit_again = slapd.sync(ROSTER_AFTER)
    return Runs(
        missing, dry_run, first, first_again, ag0001_before, members_before, edit, edit_again
    )


def test_listing_the_missing_entries_names_every_new_teleworker_and_changes_nothing(
    runs: Runs,
) -> None:
    assert runs.missing["missing"] == ["ag0001", "ag0002", "ag0003", "ag0004"]
    assert runs.missing["changed"] is False
    assert runs.missing["created"] == []


def test_a_new_roster_creates_each_person_with_an_initial_password_to_change(
    runs: Runs, slapd: Slapd
) -> None:
    assert runs.first["created"] == ["ag0001", "ag0002", "ag0003", "ag0004"]
    assert runs.first["services"] == ["mail"]
    assert runs.first["probes"] == ["audit-probe"]
    assert (
        "+ ag0002: Youssef Alami <ag0002@lab.telework.test> (staff)"
        in (runs.first["diff"]["after"])
    )
    first_login = slapd.bind("ag0001", PASSWORDS["ag0001"])
    assert first_login.returncode == 0
    assert "Password must be changed" in first_login.stderr


def test_a_new_roster_puts_each_person_in_everybody_their_unit_and_vpn_groups(
    runs: Runs, slapd: Slapd
) -> None:
    assert runs.first["groups"]["teleworkers"] == {"added": 5, "removed": 0}
    assert runs.members_before == {
        "teleworkers": {"ag0001", "ag0002", "ag0003", "ag0004", "audit-probe"},
        "unit-finance": {"ag0003", "ag0004"},
    }
    arabic = base64.b64encode("المالية".encode()).decode()  # LDIF shows non-ASCII in base64
    assert f"description;lang-ar:: {arabic}" in slapd.search(f"cn=unit-finance,{GROUPS}")


def test_applying_the_same_roster_again_changes_nothing(runs: Runs) -> None:
    for result in (runs.first_again, runs.edit_again):
        assert result["changed"] is False
        changes = [result[k] for k in ("created", "modified", "disabled", "enabled", "deleted")]
        assert changes == [[], [], [], [], []]
        assert result["groups"] == {}
        assert (result["services"], result["probes"]) == ([], [])


def test_check_mode_reports_the_edit_without_writing_it(runs: Runs) -> None:
    assert runs.dry_run["changed"] is True
    assert runs.dry_run["created"] == ["ag0005"]
    assert runs.edit["created"] == ["ag0005"]  # still to do after the dry run


def test_an_edited_row_updates_the_person_and_moves_them_between_groups(
    runs: Runs, slapd: Slapd
) -> None:
    assert runs.edit["modified"] == ["ag0002"]
    assert "ou: finance" in slapd.search(f"uid=ag0002,{PEOPLE}", "ou", scope="base")
    assert "ag0002" in slapd.members("vpn-finance")
    assert "ag0002" not in slapd.members("vpn-staff")


def test_a_revoked_row_and_a_row_gone_from_the_roster_are_locked_out_of_every_group(
    runs: Runs, slapd: Slapd
) -> None:
    assert runs.edit["disabled"] == ["ag0003", "ag0004"]
    assert "- ag0003: locked (revoked)" in runs.edit["diff"]["after"]
    assert "- ag0004: locked (not in the roster)" in runs.edit["diff"]["after"]
    for uid in ("ag0003", "ag0004"):
        assert slapd.bind(uid, PASSWORDS[uid]).returncode == 49
        entry = slapd.search(
            f"uid={uid},{PEOPLE}", "pwdAccountLockedTime", "memberOf", scope="base"
        )
        assert "pwdAccountLockedTime: 000001010000Z" in entry
        assert "memberOf" not in entry


def test_entries_the_edit_is_not_about_are_left_alone(runs: Runs, slapd: Slapd) -> None:
    assert slapd.search(f"uid=ag0001,{PEOPLE}", "*", "+", scope="base") == runs.ag0001_before
    assert slapd.members("admins") == {"ag0004"}  # not a managed group
    assert "uid=legacy" in slapd.search(f"ou=services,{BASE}", "uid", scope="one")


def test_an_ldap_error_names_the_operation_the_entry_and_the_servers_reason(
    slapd: Slapd,
) -> None:
    result = slapd.sync(
        [row("ag0009", "Nadia Fassi", "staff")],
        base_dn="dc=elsewhere,dc=test",
        initial_passwords={"ag0009": "Initial-Password-9-2026"},
    )
    assert result["failed"] is True
    assert result["msg"] == (
        "add uid=ag0009,ou=people,dc=elsewhere,dc=test: no global superior knowledge"
    )


def test_an_unreachable_server_is_an_ldap_error_not_a_traceback(slapd: Slapd) -> None:
    result = slapd.sync([], server_uri=f"ldap://127.0.0.1:{free_port()}/", timeout=3)
    assert result["failed"] is True
    assert result["msg"].startswith("LDAP error: ")


def test_a_probe_account_a_run_did_not_know_is_unlocked_by_the_next_that_declares_it(
    runs: Runs, slapd: Slapd
) -> None:
    """A run with an older list of probe accounts locks a newer probe as absent from the
    roster; the next run that declares it unlocks it: the audit logs in with it again."""
    forgot = slapd.sync(ROSTER_AFTER, probe_accounts=[], probe_passwords={})
    assert forgot["disabled"] == ["audit-probe"]
    entry = f"uid=audit-probe,{PEOPLE}"
    locked = slapd.search(entry, "pwdAccountLockedTime", "memberOf", scope="base")
    assert "pwdAccountLockedTime: 000001010000Z" in locked and "memberOf" not in locked
    back = slapd.sync(ROSTER_AFTER)
    assert back["probes"] == ["audit-probe"]
    assert (
        "~ probe audit-probe: unlocked (a probe account is never disabled)"
        in (back["diff"]["after"])
    )
    assert "pwdAccountLockedTime" not in slapd.search(entry, "+", scope="base")
    assert slapd.bind("audit-probe", LONG).returncode == 0
    assert "audit-probe" in slapd.members("teleworkers")
    assert slapd.sync(ROSTER_AFTER)["changed"] is False
