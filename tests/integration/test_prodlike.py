"""An administration's environment made by `toolkit init`, on the lab's machines: its
secrets in Ansible Vault, provisioned and audited to the lab's verdicts.

The machines are a copy of inventories/lab under another lab name, subnets and ports,
brought up by `toolkit lab up` (its containers, SSH key pair, pinned known_hosts and the
admin's sudo password under COPY/.lab/). `toolkit init prodlike` then describes the same
hosts as a sysadmin would (groups, addresses and ports read from the copy's inventory),
the lab's roster is imported into it, and `toolkit provision`, the restore drills, the
continuity plan and `toolkit audit` run on it, each with the vault password file only.
Last, the whole environment folder is scanned for any secret in clear."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.integration.lab_helpers import (
    LAB_HOSTS,
    assert_every_host_goes,
    copy_lab,
    provision_and_audit,
    toolkit,
)
from toolkit.secrets import VAULT_HEADER, read_secret

pytestmark = pytest.mark.lab

#: Debian release of the environment's hosts (the lab's containers): what production runs.
RELEASE = "trixie"
#: The videoconference hosts' release whatever RELEASE says: Janus and janus.js are packaged
#: for Debian 12 only (roles/videoconference stops on Debian 13 and says to run it on 12).
JANUS_RELEASE = "bookworm"
LAB = "ttk-prodlike-lab"
#: The machines' subnets, instead of the lab's 10.60.x (a running lab and the lab test's
#: 10.61.x are left alone).
PREFIX = "10.62."
DOMAIN = "lab.telework.test"  # the roster's mail domain (inventories/lab/roster.csv)
#: Files of the environment that hold a secret in clear, as docs/production.md says
#: ("Secrets in clear on the control node"): the passwords and passphrases the roles
#: generate on the control node (0600 in 0700 folders, git-ignored, never committed), which
#: the administration delivers or keeps in its safe. Every other file holds none.
CLEAR_FILES = (
    ".credentials/directory/*",
    ".credentials/collaboration/*",
    ".credentials/videoconference/*",
    ".credentials/backup/*",
)
#: What the lab's machines lack that an administration's network has, set for them after
#: `toolkit init` exactly as inventories/lab sets it: no public DNS zone (the mail controls
#: read the zone snippet the mail role writes, the groupware reaches the mail server by its
#: inventory name) and no Internet (no outbound mail, no ClamAV database download).
NO_INTERNET = {
    "mail_server_default_transport": "error:outbound delivery is off in the lab",
    "mail_server_clamav_freshclam": False,
}
NO_DNS_GROUPWARE = {
    "collaboration_imap_server": "imaps://mail:993",
    "collaboration_smtp_server": "smtp://mail:587/?tls=YES",
}
#: What a container cannot do on a laptop (USBGuard, freshclam): the lab's own settings.
LAB_LAPTOP = {
    k: v
    for k, v in yaml.safe_load(
        (REPO / "inventories/lab/group_vars/laptops/laptop.yml").read_text()
    ).items()
    if k not in ("laptop_ssh_admin_networks", "laptop_support_contact")  # toolkit init's
}
#: The lab's waivers: only what a podman container cannot do (clock, auditd), which the
#: lab's own "go" rests on too; the environment runs on the same containers.
LAB_WAIVERS = REPO / "audits" / "waivers" / "lab.yml"
ZONE_CONTROLS = ("MAIL-01", "MAIL-02", "MAIL-03", "MAIL-04", "MAIL-05", "MAIL-06", "MAIL-11")


def _platform_hosts(inventory: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(group, host, its variables) of every host of every group of an inventory's
    hosts.yml; a host listed again in another group (without variables there) carries the
    variables of the listing that has them."""
    listed: list[tuple[str, str, dict[str, Any] | None]] = []

    def walk(name: str, group: dict[str, Any]) -> None:
        for host, host_vars in (group.get("hosts") or {}).items():
            listed.append((name, host, host_vars))
        for child, body in (group.get("children") or {}).items():
            walk(child, body or {})

    walk("all", yaml.safe_load((inventory / "hosts.yml").read_text())["all"])
    known = {host: host_vars for _, host, host_vars in listed if host_vars}
    return [(group, host, known[host]) for group, host, _ in listed]


def _init_flags(machines: Path) -> list[str]:
    """`toolkit init` flags that describe the machines of ``machines`` (the lab copy)."""
    data = yaml.safe_load((machines / "hosts.yml").read_text())
    lab_networks = data["all"]["vars"]["lab_networks"]
    flags: list[str] = []
    for group, host, host_vars in _platform_hosts(machines):
        addresses = host_vars["lab_addresses"]
        flags += ["--host", f"{group}={host}"]
        flags += ["--address", f"{host}={addresses.get('inside') or addresses['outside']}"]
        flags += ["--connect", f"{host}=127.0.0.1:{host_vars['ansible_port']}"]
    reference = yaml.safe_load((machines / "group_vars/all/telework.yml").read_text())
    for code, unit in reference["telework_units"].items():
        name = f"{unit['name']}|{unit['name_arabic']}"
        flags += ["--unit", f"{code}:{unit['staff']}:{unit['min_onsite']}:{name}"]
    for group, body in reference["telework_vpn_groups"].items():
        if group not in ("staff", "admins"):  # every environment has those two
            flags += ["--vpn-group", f"{group}={body['description']}"]
    for network in lab_networks.values():  # where the control node's SSH comes from
        flags += ["--admin-network", f"{network['gateway']}/32"]
    ssh = machines / ".lab" / "ssh"
    return [
        *flags,
        "--domain", DOMAIN,
        "--workdays", ",".join(reference["telework_workdays"]),
        "--office-hours", reference["telework_office_hours"],
        "--vpn-endpoint", "gateway",  # the laptops reach the gateway by this name
        "--internal-network", lab_networks["inside"]["subnet"],
        "--ssh-key", str(ssh / "id_ed25519"),
        "--known-hosts", str(ssh / "known_hosts"),
        "--admin-public-key", str(ssh / "id_ed25519.pub"),
        "--become-password-file", str(machines / ".lab" / "admin-password"),
        "--certificates", "project",
        "--directory", "project",
        "--no-interactive",
    ]  # fmt: skip


def _set_for_the_lab_network(env: Path) -> None:
    """NO_INTERNET and NO_DNS_GROUPWARE for the environment's hosts, and the mail controls
    reading the zone snippet (host_vars: above what `toolkit init` wrote, untouched)."""
    mail_file = env / "group_vars/mail_servers/mail_server.yml"
    params = yaml.safe_load(mail_file.read_text())["audit_params"]
    zone = str(env / ".mail" / f"{DOMAIN}.zone")
    for control in ZONE_CONTROLS:
        params[control] = {**params[control], "zone_file": zone}
    for group, settings in (
        ("mail_servers", {**NO_INTERNET, "audit_params": params}),
        ("collaboration_servers", NO_DNS_GROUPWARE),
        ("laptops", LAB_LAPTOP),
    ):
        for host in (h for g, h, _ in _platform_hosts(env) if g == group):
            path = env / "host_vars" / f"{host}.yml"
            path.parent.mkdir(exist_ok=True)
            comment = "# The lab's machines are containers without public DNS or Internet.\n"
            path.write_text("---\n" + comment + yaml.safe_dump(settings, allow_unicode=True))


@pytest.fixture(scope="module")
def machines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The lab copy, up: its containers run Debian RELEASE (the videoconference host
    JANUS_RELEASE)."""
    copy = copy_lab(tmp_path_factory.mktemp("machines") / "lab", LAB, PREFIX, RELEASE)
    (copy / "host_vars").mkdir(exist_ok=True)
    for group, host, _ in _platform_hosts(copy):
        if group == "videoconference_servers":
            (copy / "host_vars" / f"{host}.yml").write_text(f"lab_release: {JANUS_RELEASE}\n")
    up = toolkit("lab", "up", "-i", str(copy))
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        yield copy
    finally:
        toolkit("lab", "down", "-i", str(copy))


@pytest.fixture(scope="module")
def environment(machines: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(environment folder, vault password file): `toolkit init prodlike` for the
    machines, then the lab's roster imported into it."""
    folder = tmp_path_factory.mktemp("prodlike")
    vault = folder / "vault-password"
    vault.write_text("the prodlike vault password, kept outside the environment\n")
    vault.chmod(0o600)
    env = folder / "inventories" / "prodlike"
    made = toolkit("init", "prodlike", "--path", str(env), "--vault-password-file", str(vault),
                   *_init_flags(machines), timeout=300)  # fmt: skip
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    _set_for_the_lab_network(env)
    # the roster, as the administration's HR exports it: checked, then in place
    roster = machines / "roster.csv"
    checked = toolkit("roster", "validate", "-i", str(env), "--vault-password-file", str(vault),
                      str(roster))  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    shutil.copyfile(roster, env / "roster.csv")
    return env, vault


@pytest.fixture(scope="module")
def audited(environment: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Provisioned, drilled, its continuity plan written, audited: the audit's folder."""
    env, vault = environment
    out = tmp_path_factory.mktemp("prodlike-audit")
    provision_and_audit(env, out, "--vault-password-file", str(vault),
                        audit_args=("--waivers", str(LAB_WAIVERS)))  # fmt: skip
    return out


def test_the_environment_holds_every_lab_host_in_its_lab_groups(
    machines: Path, environment: tuple[Path, Path]
) -> None:
    env, _ = environment
    groups = {(g, h) for g, h, _ in _platform_hosts(machines)}
    assert {(g, h) for g, h, _ in _platform_hosts(env)} == groups
    assert {h for _, h in groups} == set(LAB_HOSTS)


def test_the_provisioned_environment_audits_go_on_every_host_as_the_lab_does(
    audited: Path,
) -> None:
    assert_every_host_goes(audited)


def test_nothing_is_waived_but_what_the_lab_waives_for_its_containers(audited: Path) -> None:
    lab = {w["control"] for w in yaml.safe_load(LAB_WAIVERS.read_text())["waivers"]}
    report = json.loads((audited / "report.json").read_text())
    waived = {
        h["host"]: {r["control"] for r in h["results"] if r.get("waiver")} for h in report["hosts"]
    }
    assert lab == {"LNX-08", "LNX-09", "LAP-01"}
    assert {h: w for h, w in waived.items() if not w <= lab} == {}


def _secrets(env: Path, vault: Path) -> set[str]:
    """Every secret value the environment holds: each value of the decrypted vault, and
    each file under .credentials/ (decrypted when vaulted)."""
    view = subprocess.run(
        [str(REPO / ".venv/bin/ansible-vault"), "view", "--vault-password-file", str(vault),
         str(env / "group_vars/all/vault.yml")],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    values = set(re.findall(r"^vault_[a-z0-9_]+: (\S+)$", view, flags=re.M))
    for path in (env / ".credentials").rglob("*"):
        if path.is_file():
            values.add(read_secret(path, vault).decode().strip())
    return values


def test_no_secret_is_in_clear_in_the_environment_but_where_the_runbook_says(
    environment: tuple[Path, Path], audited: Path
) -> None:
    env, vault = environment
    values = _secrets(env, vault)
    # the vault's sudo password, the audit's copy of it, the roles' generated ones
    assert len(values) >= 10 and all(len(v) >= 16 for v in values), sorted(map(len, values))
    leaks = {}
    for path in (p for p in env.rglob("*") if p.is_file()):
        relative = str(path.relative_to(env))
        if any(fnmatch.fnmatch(relative, pattern) for pattern in CLEAR_FILES):
            continue
        data = path.read_bytes()
        if found := [v for v in values if v.encode() in data]:
            leaks[relative] = len(found)
    assert leaks == {}
    docs = (REPO / "docs" / "production.md").read_text(encoding="utf-8")
    for pattern in CLEAR_FILES:
        assert f"`{pattern.removesuffix('*')}`" in docs, pattern


def test_the_vault_is_an_ansible_vault_file_and_its_password_lies_outside_the_environment(
    environment: tuple[Path, Path], audited: Path
) -> None:
    env, vault = environment
    vault_file = env / "group_vars/all/vault.yml"
    assert vault_file.read_bytes().startswith(VAULT_HEADER)
    assert stat.S_IMODE(vault_file.stat().st_mode) == 0o600
    assert not vault.resolve().is_relative_to(env.resolve())
    become = env / ".credentials/become.password"
    assert become.read_bytes().startswith(VAULT_HEADER)
