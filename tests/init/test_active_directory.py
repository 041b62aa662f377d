"""The identity contract pointed at an existing Active Directory (toolkit init --directory
existing): against a directory that speaks AD's schema attributes, the mail role's Dovecot
and Postfix LDAP queries, rendered by Ansible from the role's own templates and defaults,
find and authenticate an enabled teleworker by sAMAccountName or mail, and the contract's
VPN groups resolve to the groups he is a member of; a disabled account (bit 2 of
userAccountControl) is found by none of them (E1, C5, A13).

The directory is slapd, started by the test on 127.0.0.1 with a small schema LDIF: AD's
sAMAccountName, userPrincipalName, userAccountControl, objectCategory and department with
their AD OIDs, the classes user and group, memberOf kept by the memberof overlay, and
AD's bitwise matching rule 1.2.840.113556.1.4.803 (OpenLDAP's integerBitAndMatch). Where
it differs from AD: objectCategory holds the short name `person` (AD expands the filter's
`person` to the class's DN itself), and the LDAP is plain on loopback (the platforms use
LDAPS: TLS is not what is tested here). The bind passwords are the ones `toolkit init`
generated and vault-encrypted; the VPN gateway role itself takes groups from the roster
today, so its side is the contract's query, not a running gateway."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ports import free_port
from tests.slapd import SLAPD, running_slapd
from toolkit.secrets import read_secret

from .test_init import BIN, LAB_HOSTS, ROOT, init_args, toolkit

DOMAIN = "ministere.gov.ma"
BASE = "dc=ministere,dc=gov,dc=ma"
PEOPLE = f"ou=Teletravail,{BASE}"
GROUPS = f"ou=Groupes,{BASE}"
ROOT_DN, ROOT_PW = f"cn=admin,{BASE}", "root-of-the-test-directory"

pytestmark = pytest.mark.skipif(
    not (SLAPD.exists() and shutil.which("ldapsearch")),
    reason="needs Debian's slapd and ldap-utils (./run setup)",
)

AD_SCHEMA = """\
dn: cn=ad,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: ad
olcAttributeTypes: ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
olcAttributeTypes: ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName' EQUALITY caseIgnoreMa
 tch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
olcAttributeTypes: ( 1.2.840.113556.1.4.8 NAME 'userAccountControl' EQUALITY integerMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
olcAttributeTypes: ( 1.2.840.113556.1.4.782 NAME 'objectCategory' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
olcAttributeTypes: ( 1.2.840.113556.1.2.141 NAME 'department' EQUALITY caseIgnoreMatch SYN
 TAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
olcObjectClasses: ( 1.2.840.113556.1.5.9 NAME 'user' SUP organizationalPerson STRUCTURAL M
 AY ( sAMAccountName $ userPrincipalName $ userAccountControl $ objectCategory $ departmen
 t $ mail $ displayName ) )
olcObjectClasses: ( 1.2.840.113556.1.5.8 NAME 'group' SUP top STRUCTURAL MUST cn MAY ( mem
 ber $ sAMAccountName $ description $ objectCategory ) )
"""


def config_ldif(folder: Path) -> str:
    schemas = "".join(
        f"include: file:///etc/ldap/schema/{name}.ldif\n\n"
        for name in ("core", "cosine", "inetorgperson")
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
olcModuleLoad: {{1}}memberof

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{schemas}{AD_SCHEMA}
dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {BASE}
olcDbDirectory: {folder}/db
olcDbMaxSize: 104857600
olcRootDN: {ROOT_DN}
olcRootPW: {ROOT_PW}
olcAccess: {{0}}to attrs=userPassword by anonymous auth by * none
olcAccess: {{1}}to * by users read by * none

dn: olcOverlay={{0}}memberof,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {{0}}memberof
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: group
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf
"""


def person(cn: str, login: str, mail: str, control: int, password: str) -> str:
    return (
        f"dn: cn={cn},{PEOPLE}\nobjectClass: user\ncn: {cn}\nsn: {cn.rsplit(maxsplit=1)[-1]}\n"
        f"sAMAccountName: {login}\nuserPrincipalName: {login}@{DOMAIN}\nmail: {mail}\n"
        f"displayName: {cn}\nobjectCategory: person\ndepartment: finance\n"
        f"userAccountControl: {control}\nuserPassword: {password}\n\n"
    )


def group(name: str, *members: str) -> str:
    lines = "".join(f"member: cn={m},{PEOPLE}\n" for m in members)
    return (
        f"dn: cn={name},{GROUPS}\nobjectClass: group\ncn: {name}\nsAMAccountName: {name}\n{lines}\n"
    )


AMINA = ("Amina Benali", "abenali", f"amina.benali@{DOMAIN}", "Amina-Passw0rd-2026")
OMAR = ("Omar Tazi", "otazi", f"omar.tazi@{DOMAIN}", "Omar-Passw0rd-2026")
NORMAL_ACCOUNT, DISABLED = 512, 2


def data_ldif(binds: dict[str, str]) -> str:
    services = "".join(
        person(f"svc-{name}", f"svc-{name}", f"svc-{name}@{DOMAIN}", 66048, password)
        for name, password in binds.items()
    )
    return (
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Ministere\n\n"
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: Teletravail\n\n"
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: Groupes\n\n"
        + person(AMINA[0], AMINA[1], AMINA[2], NORMAL_ACCOUNT, AMINA[3])
        + person(OMAR[0], OMAR[1], OMAR[2], NORMAL_ACCOUNT | DISABLED, OMAR[3])
        + services
        + group("teleworkers", AMINA[0], OMAR[0])
        + group("vpn-finance", AMINA[0], OMAR[0])
        + group("vpn-staff", AMINA[0])
        + group("vpn-rh")
    )


@dataclass(frozen=True)
class Directory:
    uri: str

    def search(self, bind_dn: str, password: str, base: str, flt: str, *attrs: str) -> str:
        done = subprocess.run(
            ["ldapsearch", "-LLL", "-x", "-o", "ldif-wrap=no", "-H", self.uri, "-D", bind_dn,
             "-w", password, "-b", base, "-s", "sub", flt, *attrs],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        return done.stdout

    def bind(self, dn: str, password: str) -> bool:
        return (
            subprocess.run(
                ["ldapwhoami", "-x", "-H", self.uri, "-D", dn, "-w", password],
                capture_output=True, timeout=30, check=False,
            ).returncode
            == 0
        )  # fmt: skip


@dataclass(frozen=True)
class Rendered:
    directory: Directory
    dovecot: dict[str, str]
    postfix: dict[str, str]
    vpn: dict[str, str]


def settings(path: Path) -> dict[str, str]:
    """``key = value`` lines of a rendered Dovecot or Postfix LDAP file."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition(" = ")
        if sep and not line.startswith("#"):
            found[key.strip()] = value.strip()
    return found


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    folder = tmp_path_factory.mktemp("ad")
    uri = f"ldap://127.0.0.1:{free_port()}"
    vault = folder / "vault-password"
    vault.write_text("vault password of the AD test\n")
    env = folder / "adlike"
    hosts = [h for h in LAB_HOSTS if h[0] != "directory_servers"]
    toolkit(*init_args(env, vault, "--directory", "existing", "--identity-uri", uri,
                       "--identity-people-dn", PEOPLE, "--identity-groups-dn", GROUPS,
                       hosts=hosts))  # fmt: skip
    binds = {
        name: read_secret(env / f".credentials/identity/{name}.password", vault).decode().strip()
        for name in ("mail", "vpn")
    }
    with running_slapd(
        folder, config_ldif(folder), [uri], lambda: Directory(uri).bind(ROOT_DN, ROOT_PW)
    ):
        subprocess.run(
            ["ldapadd", "-x", "-H", uri, "-D", ROOT_DN, "-w", ROOT_PW],
            input=data_ldif(binds), capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        out = folder / "rendered"
        out.mkdir()
        done = subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", str(env), "--vault-password-file", str(vault),
             "-e", "ansible_connection=local", "-e", f"ansible_python_interpreter={sys.executable}",
             "-e", f"render_dir={out}",
             str(ROOT / "tests/init/render_identity.yml")],
            capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
            env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:]
        yield Rendered(
            Directory(uri),
            settings(out / "dovecot-ldap.conf.ext"),
            settings(out / "mailboxes.cf"),
            json.loads((out / "vpn.json").read_text()),
        )


def dns(ldif: str) -> list[str]:
    return [line[4:] for line in ldif.splitlines() if line.startswith("dn: ")]


def values(ldif: str, attribute: str) -> set[str]:
    prefix = f"{attribute.lower()}: "
    return {ln[len(prefix) :] for ln in ldif.splitlines() if ln.lower().startswith(prefix)}


def dovecot_lookup(r: Rendered, login: str) -> list[str]:
    """The entries Dovecot's passdb finds for ``login`` (its pass_filter, %u replaced)."""
    d = r.dovecot
    flt = d["pass_filter"].replace("%u", login)
    return dns(r.directory.search(d["dn"], d["dnpass"], d["base"], flt, "mail"))


def test_the_rendered_settings_are_the_contracts_ad_settings(rendered: Rendered) -> None:
    d = rendered.dovecot
    assert d["uris"] == rendered.directory.uri
    assert d["dn"] == f"cn=svc-mail,{PEOPLE}"
    assert d["base"] == PEOPLE
    assert "sAMAccountName=%u" in d["pass_filter"]
    assert "userAccountControl:1.2.840.113556.1.4.803:=2" in d["pass_filter"]
    assert rendered.postfix["bind_pw"] == d["dnpass"] and len(d["dnpass"]) >= 20


def test_an_enabled_teleworker_logs_in_to_mail_by_login_or_address(rendered: Rendered) -> None:
    name, login, mail, password = AMINA
    for user in (login, mail, login.upper()):
        found = dovecot_lookup(rendered, user)
        assert found == [f"cn={name},{PEOPLE}"], user
    # auth_bind = yes: Dovecot then binds as the entry with the password typed
    assert rendered.directory.bind(found[0], password)
    assert not rendered.directory.bind(found[0], "not-the-password")


def test_a_disabled_account_is_not_found_for_mail(rendered: Rendered) -> None:
    name, login, mail, password = OMAR
    assert dovecot_lookup(rendered, login) == []
    assert dovecot_lookup(rendered, mail) == []
    # the directory itself still knows the account and its password: the filter refuses it
    assert rendered.directory.bind(f"cn={name},{PEOPLE}", password)


def test_postfix_delivers_only_to_enabled_teleworkers(rendered: Rendered) -> None:
    p = rendered.postfix
    assert p["domain"] == DOMAIN

    def lookup(address: str) -> set[str]:
        flt = p["query_filter"].replace("%s", address)
        found = rendered.directory.search(p["bind_dn"], p["bind_pw"], p["search_base"], flt,
                                          p["result_attribute"])  # fmt: skip
        return values(found, p["result_attribute"])

    assert lookup(AMINA[2]) == {AMINA[2]}
    assert lookup(OMAR[2]) == set()
    assert lookup(f"nobody@{DOMAIN}") == set()


def vpn_members(r: Rendered, vpn_group: str) -> set[str]:
    """Logins of the active teleworkers in a VPN access group, as the contract defines it."""
    v = r.vpn
    group_dn = v["vpn_group_dn"].replace("{name}", vpn_group)
    flt = f"(&{v['user_filter']}({v['member_of']}={group_dn}))"
    found = r.directory.search(v["bind_dn"], v["bind_password"], v["people_dn"], flt, v["login"])
    return values(found, v["login"])


def test_vpn_groups_resolve_for_an_enabled_teleworker_only(rendered: Rendered) -> None:
    assert vpn_members(rendered, "finance") == {AMINA[1]}
    assert vpn_members(rendered, "staff") == {AMINA[1]}
    assert vpn_members(rendered, "rh") == set()
    v = rendered.vpn
    mine = rendered.directory.search(
        v["bind_dn"], v["bind_password"], v["people_dn"],
        f"(&{v['user_filter']}({v['login']}={AMINA[1]}))", v["member_of"],
    )  # fmt: skip
    assert {g.lower() for g in values(mine, v["member_of"])} == {
        f"cn={g},{GROUPS}".lower() for g in ("teleworkers", "vpn-finance", "vpn-staff")
    }


def test_the_service_accounts_are_not_teleworkers(rendered: Rendered) -> None:
    assert dovecot_lookup(rendered, "svc-mail") == []
    assert dovecot_lookup(rendered, "svc-vpn") == []
