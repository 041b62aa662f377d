"""`toolkit init prodlike` run as a sysadmin would, non-interactively, into a temporary
folder: every variable is commented, Ansible reads the vaulted secrets with the vault
password file and only with it, no secret is on disk in clear, and the environment is
one `toolkit provision` and `toolkit audit` accept (site.yml's syntax, every role
variable against the role's argument_specs, `toolkit roster validate`). Host addresses
and SSH ports are flags, so a later test can point it at the lab's hosts."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from toolkit.adapters.ansible import load_inventory
from toolkit.audit.engine import Options, prepare
from toolkit.cli.init import settings_from_options
from toolkit.cli.main import cli
from toolkit.init.create import create_environment
from toolkit.init.varsfile import BECOME_SECRET
from toolkit.roster.source import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from toolkit.secrets import VAULT_HEADER, VAULT_PASSWORD_ENV, read_secret

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
VARIABLE = re.compile(r"^([a-z_][a-z0-9_]*):")
#: The lab's hosts as `toolkit init` flags: group, name, inside address, SSH port.
LAB_HOSTS = [
    ("vpn_gateways", "gateway", "10.60.2.2", 2201),
    ("directory_servers", "directory", "10.60.2.12", 2202),
    ("mail_servers", "mail", "10.60.2.13", 2203),
    ("collaboration_servers", "collab", "10.60.2.14", 2204),
    ("log_collectors", "logs", "10.60.2.17", 2207),
    ("laptops", "laptop01", "10.60.1.101", 2208),
    ("vpn_test_peers", "laptop01", "10.60.1.101", 2208),
]


def host_flags(hosts: list[tuple[str, str, str, int]]) -> list[str]:
    flags: list[str] = []
    for group, name, address, port in hosts:
        flags += ["--host", f"{group}={name}", "--address", f"{name}={address}"]
        flags += ["--connect", f"{name}=127.0.0.1:{port}"]
    return flags


def toolkit(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "toolkit"), *map(str, args)],
        capture_output=True, text=True, timeout=120, check=check, cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def init_args(
    target: Path, vault: Path, *extra: str, hosts: list[tuple[str, str, str, int]] = LAB_HOSTS
) -> list[str | Path]:
    return [
        "init", "prodlike", "--path", target, "--vault-password-file", vault,
        "--domain", "ministere.gov.ma",
        "--unit", "dsi:12:4:Direction des systèmes d'information|مديرية نظم المعلومات",
        "--unit", "finance:8:3:Division des affaires financières",
        "--vpn-group", "finance=Financial application",
        *host_flags(hosts),
        "--vpn-endpoint", "vpn.ministere.gov.ma",
        "--internal-network", "10.60.2.0/24",
        *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(environment folder, vault password file) of one `toolkit init prodlike`."""
    folder = tmp_path_factory.mktemp("init")
    vault = folder / "vault-password"
    vault.write_text("a vault password kept outside the repository\n")
    target = folder / "inventories" / "prodlike"
    toolkit(*init_args(target, vault, "--known-hosts", str(folder / "known_hosts")))
    return target, vault


def vault_view(path: Path, vault: Path) -> str:
    return subprocess.run(
        [str(BIN / "ansible-vault"), "view", "--vault-password-file", str(vault), str(path)],
        capture_output=True, text=True, timeout=60, check=True, cwd=ROOT,
    ).stdout  # fmt: skip


def uncommented(text: str) -> list[str]:
    """Top-level variables without a comment line right above them."""
    lines = text.splitlines()
    return [
        m.group(1)
        for i, line in enumerate(lines)
        if (m := VARIABLE.match(line)) and not (i and lines[i - 1].startswith("#"))
    ]


def secrets_of(target: Path, vault: Path) -> list[str]:
    """Every secret value the environment holds (decrypted here to look for them)."""
    found = [
        read_secret(p, vault).decode().strip()
        for p in (target / ".credentials").rglob("*.password")
    ]
    text = vault_view(target / "group_vars/all/vault.yml", vault)
    found += re.findall(r"^vault_[a-z_]+: (\S+)$", text, flags=re.M)
    return found


def test_every_variable_of_every_file_is_under_a_comment(made: tuple[Path, Path]) -> None:
    target, vault = made
    files = sorted((target / "group_vars").rglob("*.yml"))
    assert len(files) >= 8
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.name == "vault.yml":
            text = vault_view(path, vault)
        assert uncommented(text) == [], path
        assert re.search(r"^[a-z_]+:", text, re.M), f"{path}: no variable"


def test_a_variable_without_a_comment_is_found() -> None:
    assert uncommented("---\n# what a is\na: 1\nb: 2\n\n# c\nc: [1]\n") == ["b"]


def test_role_variables_carry_the_roles_own_comments(made: tuple[Path, Path]) -> None:
    target, _ = made
    text = (target / "group_vars/vpn_gateways/vpn_gateway.yml").read_text()
    defaults = (ROOT / "roles/vpn_gateway/defaults/main.yml").read_text()
    comment = "# Name or address teleworkers' devices reach the gateway at"
    assert comment in defaults
    assert (
        f"{comment} (written into their configs).\nvpn_gateway_endpoint: vpn.ministere.gov.ma"
        in text
    )
    # and the role's other settings follow, commented out, for the sysadmin to pick from
    assert "# vpn_gateway_mtu: 1420" in text


def test_every_host_runs_the_releases_python_even_for_a_task_delegated_from_another(
    made: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Debian 12 client delegating to a Debian 13 backup server must not carry its
    discovered /usr/bin/python3.11 there: every host uses /usr/bin/python3."""
    target, vault = made
    monkeypatch.setenv(VAULT_PASSWORD_ENV, str(vault))
    hosts = load_inventory(target)
    assert {h.vars["ansible_python_interpreter"] for h in hosts.values()} == {"/usr/bin/python3"}


def test_ansible_reads_the_vaulted_secrets_with_the_password_file_only(
    made: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    target, vault = made
    without = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(target), "--list"],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    assert without.returncode != 0
    assert "vault" in without.stderr.lower()
    monkeypatch.setenv(VAULT_PASSWORD_ENV, str(vault))
    hosts = load_inventory(target)
    become = read_secret(target / ".credentials/become.password").decode().strip()
    assert len(become) >= 20
    assert hosts["mail"].vars[BECOME_SECRET] == become
    assert hosts["gateway"].vars["ansible_port"] == 2201
    assert "-o UserKnownHostsFile=" in hosts["gateway"].vars["ansible_ssh_common_args"]
    assert "mail_servers" in hosts["mail"].groups and "servers" in hosts["mail"].groups


def test_no_secret_is_on_disk_in_clear(made: tuple[Path, Path]) -> None:
    target, vault = made
    values = secrets_of(target, vault)
    assert values and all(len(v) >= 20 for v in values)
    for path in (p for p in target.rglob("*") if p.is_file()):
        data = path.read_bytes()
        assert not [v for v in values if v.encode() in data], path
    for path in [target / "group_vars/all/vault.yml", *(target / ".credentials").rglob("*")]:
        if path.is_file():
            assert path.read_bytes().startswith(VAULT_HEADER), path
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((target / ".credentials").stat().st_mode) == 0o700


def test_the_roster_is_empty_with_the_columns_toolkit_roster_defines(
    made: tuple[Path, Path],
) -> None:
    target, _ = made
    telework = (target / "group_vars/all/telework.yml").read_text(encoding="utf-8")
    assert "name_arabic: مديرية نظم المعلومات" in telework
    header = (target / "roster.csv").read_text(encoding="utf-8-sig").splitlines()
    assert header == [";".join((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))]
    done = toolkit("roster", "validate", "-i", target)
    assert "0 teleworkers" in done.stdout and "valid" in done.stdout


def test_provision_would_accept_it(made: tuple[Path, Path]) -> None:
    target, vault = made
    syntax = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(target), "--vault-password-file", str(vault),
         "--syntax-check", str(ROOT / "playbooks/site.yml")],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    assert syntax.returncode == 0, syntax.stderr
    roles = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(target), "--vault-password-file", str(vault),
         "-e", "ansible_connection=local", str(ROOT / "tests/init/accepts.yml")],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )  # fmt: skip
    assert roles.returncode == 0, roles.stdout[-3000:]
    assert re.search(r"mail\s+: ok=2 .*failed=0", roles.stdout)
    assert re.search(r"gateway\s+: ok=2 .*failed=0", roles.stdout)


def test_an_existing_environment_is_never_overwritten(made: tuple[Path, Path]) -> None:
    target, vault = made
    before = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    again = toolkit(*init_args(target, vault), check=False)
    assert again.returncode == 2
    assert "never overwrites" in again.stderr
    assert {p: p.read_bytes() for p in target.rglob("*") if p.is_file()} == before


def test_bad_flags_write_nothing(tmp_path: Path) -> None:
    vault = tmp_path / "vault-password"
    vault.write_text("pw\n")
    target = tmp_path / "prodlike"
    done = toolkit(*init_args(target, vault, "--unit", "rh:3:9:RH", "--host", "nowhere=x"),
                   check=False)  # fmt: skip
    assert done.returncode == 4
    assert "min_onsite (9) exceeds staff (3)" in done.stderr
    assert "nowhere=x" in done.stderr
    assert list(tmp_path.iterdir()) == [vault]


#: The options `toolkit init` parses, as click hands them over.
OPTIONS = {
    "hosts": ("vpn_gateways=gw", "directory_servers=dir"), "addresses": (), "connects": (),
    "units": (), "vpn_groups": (), "workdays": "mon,tue", "office_hours": "08:00-16:00",
    "mail_domains": (), "domain": "example.gov.ma", "identity_uri": None,
    "identity_provider": "active_directory", "identity_ca_file": "/ca.crt",
    "identity_people_dn": None, "identity_groups_dn": None, "vpn_endpoint": "vpn.example.gov.ma",
    "vpn_network": "10.77.0.0/20", "internal_networks": (), "admin_networks": (),
    "directory": "project", "certificates": "project", "ssh_user": "admin", "ssh_key": None,
    "known_hosts": None,
    "admin_public_key": None, "mail_admin": None, "dns_servers": (), "support_contact": None,
}  # fmt: skip


def test_a_failure_while_writing_leaves_no_half_written_folder(tmp_path: Path) -> None:
    settings = settings_from_options("prodlike", OPTIONS)

    def broken(data: bytes) -> bytes:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        create_environment(tmp_path / "prodlike", settings, broken)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_active_directory_gets_vaulted_bind_passwords_and_ad_filters(
    tmp_path: Path,
) -> None:
    vault = tmp_path / "vault-password"
    vault.write_text("another vault password\n")
    target = tmp_path / "adlike"
    hosts = [h for h in LAB_HOSTS if h[0] != "directory_servers"]
    toolkit(*init_args(target, vault, "--directory", "existing", "--certificates", "acme",
                       "--identity-uri", "ldaps://dc01.ministere.gov.ma:636",
                       "--identity-people-dn", "ou=Teletravail,dc=ministere,dc=gov,dc=ma",
                       "--identity-groups-dn", "ou=Groupes,dc=ministere,dc=gov,dc=ma",
                       hosts=hosts))  # fmt: skip
    identity = (target / "group_vars/all/identity.yml").read_text()
    assert "identity_provider: active_directory" in identity
    assert "userAccountControl:1.2.840.113556.1.4.803:=2" in identity
    assert "login: sAMAccountName" in identity
    assert uncommented(identity) == []
    binds = sorted(p.name for p in (target / ".credentials/identity").iterdir())
    assert binds == ["audit-probe-2.password", "audit-probe.password", "collaboration.password",
                     "mail.password", "videoconference.password", "vpn.password"]  # fmt: skip
    assert all(
        (target / ".credentials/identity" / b).read_bytes().startswith(VAULT_HEADER) for b in binds
    )
    mail = (target / "group_vars/mail_servers/mail_server.yml").read_text()
    assert "mail_server_certificate_file: /etc/letsencrypt/live/mail.ministere.gov.ma/" in mail
    assert not (target / "group_vars/directory_servers").exists()


def test_toolkit_commands_hand_the_vault_password_file_to_ansible(
    made: tuple[Path, Path], tmp_path: Path
) -> None:
    """`toolkit audit` reads the inventory through ansible-inventory: without the vault
    password it stops there, naming the vault; with --vault-password-file it gets past
    the inventory (and stops at the host pattern no host matches: nothing is contacted)."""
    target, vault = made
    args: list[str | Path] = ["audit", "-i", target, "--limit", "no-such-host", "-o", tmp_path]
    without = toolkit(*args, check=False)
    assert without.returncode == 4
    assert "no vault secrets" in without.stderr
    given = toolkit(*args[:3], "--vault-password-file", vault, *args[3:], check=False)
    assert "no vault secrets" not in given.stderr
    assert "no-such-host: no host matches" in given.stderr


def test_at_a_terminal_it_asks_for_what_the_flags_did_not_say(tmp_path: Path) -> None:
    vault = tmp_path / "vault-password"
    vault.write_text("typed at a terminal\n")
    target = tmp_path / "asked"
    answers = [
        "ministere.gov.ma",  # domain
        "vpn.ministere.gov.ma",  # VPN endpoint
        "ministere.gov.ma, ministere.ma",  # mail domains
        "dsi:12:4:DSI", "",  # units, then no more
        "10.0.2.0/24",  # inside networks
        "project",  # directory
        "acme",  # certificates
        "gw1=10.0.2.2", "ldap1=10.0.2.12", "mail1=10.0.2.13", "", "", "", "logs1=10.0.2.17",
        "laptop01", "laptop01", "",  # laptops, vpn_test_peers, network_devices
    ]  # fmt: skip
    done = CliRunner().invoke(
        cli, ["init", "asked", "--path", str(target), "--vault-password-file", str(vault),
              "--interactive"], input="\n".join(answers) + "\n",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "warning: no --admin-public-key" in done.output
    telework = (target / "group_vars/all/telework.yml").read_text()
    assert "- ministere.ma" in telework and "dsi:" in telework
    hosts = (target / "hosts.yml").read_text()
    assert "ldap1:" in hosts and "service_address: 10.0.2.13" in hosts
    mail = (target / "group_vars/mail_servers/mail_server.yml").read_text()
    assert "/etc/letsencrypt/live/mail.ministere.gov.ma/fullchain.pem" in mail


def test_the_audit_plans_every_server_of_it_before_touching_one(
    made: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`toolkit audit`'s checks before any host is touched (data, inventory, parameters):
    every server gets its profiles' controls, the mail's with the environment's domain and
    probe mailbox, probed at its inside address."""
    target, vault = made
    monkeypatch.setenv(VAULT_PASSWORD_ENV, str(vault))
    prepared = prepare(Options(inventory=target))
    plans = {p.name: p for p in prepared.plans}
    assert {"gateway", "directory", "mail", "collab", "logs"} <= set(plans)
    mail = plans["mail"]
    assert mail.address == "10.60.2.13" and mail.endpoint.port == 2203
    assert mail.endpoint.become_password_file == target / ".credentials/become.password"
    params = {c.control.id: c.params for c in mail.controls}
    assert params["MAIL-01"]["domain"] == "ministere.gov.ma"
    assert params["MAIL-10"]["password_path"] == str(
        target / ".credentials/directory/probes/audit-probe.password"
    )


def test_a_videoconference_host_is_audited_with_two_probe_accounts_meeting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """VC-06 (M6): the publisher and the subscriber are the directory role's two probe
    accounts, their passwords where the role writes them."""
    vault = tmp_path / "vault-password"
    vault.write_text("a vault password kept outside the repository\n")
    target = tmp_path / "withvisio"
    visio = ("videoconference_servers", "visio", "10.60.2.15", 2205)
    toolkit(*init_args(target, vault, hosts=[*LAB_HOSTS, visio]))
    monkeypatch.setenv(VAULT_PASSWORD_ENV, str(vault))
    plans = {p.name: p for p in prepare(Options(inventory=target)).plans}
    params = {c.control.id: c.params for c in plans["visio"].controls}["VC-06"]
    probes = target / ".credentials/directory/probes"
    assert (params["publisher_login"], params["subscriber_login"]) == (
        "audit-probe",
        "audit-probe-2",
    )
    assert params["publisher_password_path"] == str(probes / "audit-probe.password")
    assert params["subscriber_password_path"] == str(probes / "audit-probe-2.password")


def test_without_a_password_file_the_vault_password_is_asked_twice_and_kept_nowhere(
    tmp_path: Path,
) -> None:
    target = tmp_path / "typed"
    args = [str(a) for a in init_args(target, tmp_path / "unused")]
    at = args.index("--vault-password-file")
    del args[at : at + 2]
    typed = "typed-vault-password-1234"
    done = CliRunner().invoke(cli, [*args, "--no-interactive"], input=f"{typed}\n{typed}\n")
    assert done.exit_code == 0, done.output
    password_file = tmp_path / "pw"
    password_file.write_text(f"{typed}\n")
    assert "vault_become_password:" in vault_view(
        target / "group_vars/all/vault.yml", password_file
    )
    for path in (p for p in target.rglob("*") if p.is_file()):
        assert typed.encode() not in path.read_bytes(), path


def test_the_files_pass_the_projects_yamllint(made: tuple[Path, Path]) -> None:
    """`./run lint` lints an environment kept in the checkout: lists indented, long
    values folded, the commented-out role defaults exempt from the line length."""
    target, _ = made
    done = subprocess.run(
        [str(BIN / "yamllint"), "--strict", "-c", str(ROOT / ".yamllint"), str(target)],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout


def test_the_laptops_are_managed_from_the_admin_networks_only(made: tuple[Path, Path]) -> None:
    """Their firewall drops every other inbound connection (LAP-07): without the admin
    networks, Ansible itself would be locked out of the laptops."""
    target, _ = made
    text = (target / "group_vars/laptops/laptop.yml").read_text()
    servers = yaml.safe_load((target / "group_vars/servers/baseline.yml").read_text())
    laptops = yaml.safe_load(text)
    assert laptops["laptop_ssh_admin_networks"] == servers["baseline_ssh_admin_networks"]
    assert laptops["laptop_ssh_admin_networks"]
    assert "Support DSI" in laptops["laptop_support_contact"]
    assert "# laptop_idle_lock_seconds: 900" in text
