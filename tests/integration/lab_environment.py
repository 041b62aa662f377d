"""The one lab the lab test modules share: an administration's environment on the lab's
machines, its secrets in Ansible Vault, on Debian 13.

The machines are a copy of inventories/lab under another lab name, subnets and ports
(:func:`tests.integration.lab_helpers.copy_lab`), brought up by `toolkit lab up` (its
containers, SSH key pair, pinned known_hosts and the admin's sudo password under COPY/.lab/):
test_lab.py tests them as a lab. `toolkit init` then describes the same hosts as a sysadmin
would (groups, addresses and ports read from the copy's inventory), the lab's roster is
imported into it, and `toolkit provision`, the restore drills, the continuity plan and
`toolkit audit` run on it, each with the vault password file only: test_lab_provisioned.py
judges that, test_lab_restarts.py then breaks hosts and watches them come back.

One bring-up and one provisioning serve the Debian 13, production-inventory and restart
tests at once (about 17 minutes of the suite's 60 for each provisioning from scratch); the
lab's own inventory on Debian 12 is what `./run lab` provisions, and every role's
Molecule scenario converges on Debian 12."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO
from tests.integration.lab_helpers import copy_lab, provision_and_audit, toolkit, verdicts

#: The shared lab's name (its containers are LAB-<host>) and subnets (instead of the lab's
#: 10.60.x: a lab a person has running is left alone).
LAB = "ttk-test-lab"
PREFIX = "10.61."

#: Debian release of the environment's hosts (the lab's containers): what production runs.
RELEASE = "trixie"
#: The videoconference hosts' release whatever RELEASE says: Janus and janus.js are packaged
#: for Debian 12 only (roles/videoconference stops on Debian 13 and says to run it on 12).
JANUS_RELEASE = "bookworm"
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


def platform_hosts(inventory: Path) -> list[tuple[str, str, dict[str, Any]]]:
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
    for group, host, host_vars in platform_hosts(machines):
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
        for host in (h for g, h, _ in platform_hosts(env) if g == group):
            path = env / "host_vars" / f"{host}.yml"
            path.parent.mkdir(exist_ok=True)
            comment = "# The lab's machines are containers without public DNS or Internet.\n"
            path.write_text("---\n" + comment + yaml.safe_dump(settings, allow_unicode=True))


@dataclass(frozen=True)
class Environment:
    """`toolkit init`'s environment folder for the machines, and its vault password file
    (outside the folder, as a sysadmin keeps it)."""

    path: Path
    vault: Path

    @property
    def options(self) -> tuple[str, ...]:
        """What every toolkit command of the environment is given: ``-i ENV
        --vault-password-file FILE``."""
        return ("-i", str(self.path), "--vault-password-file", str(self.vault))

    def verdicts(self, out: Path, *args: str) -> dict[str, str]:
        """``toolkit audit`` of the environment into ``out`` (with the lab's waivers): each
        host's verdict."""
        vault = ("--vault-password-file", str(self.vault))
        return verdicts(self.path, out, *vault, "--waivers", str(LAB_WAIVERS), *args)


def machines(folder: Path) -> Path:
    """The lab copy under ``folder``: its containers on Debian RELEASE (the videoconference
    host JANUS_RELEASE); not started."""
    copy = copy_lab(folder / "lab", LAB, PREFIX, RELEASE)
    (copy / "host_vars").mkdir(exist_ok=True)
    for group, host, _ in platform_hosts(copy):
        if group == "videoconference_servers":
            (copy / "host_vars" / f"{host}.yml").write_text(f"lab_release: {JANUS_RELEASE}\n")
    return copy


def make_environment(copy: Path, folder: Path) -> Environment:
    """`toolkit init` for the machines of ``copy`` under ``folder``, then the lab's roster
    imported into it, as the administration's HR exports it: checked, then in place."""
    vault = folder / "vault-password"
    vault.write_text("the environment's vault password, kept outside the environment\n")
    vault.chmod(0o600)
    env = Environment(folder / "inventories" / "prodlike", vault)
    made = toolkit("init", "prodlike", "--path", str(env.path), "--vault-password-file", str(vault),
                   *_init_flags(copy), timeout=300)  # fmt: skip
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    _set_for_the_lab_network(env.path)
    roster = copy / "roster.csv"
    checked = toolkit("roster", "validate", *env.options, str(roster))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    shutil.copyfile(roster, env.path / "roster.csv")
    return env


def provision(env: Environment, out: Path) -> None:
    """Provisioned, drilled, its continuity plan written, audited into ``out``."""
    vault = ("--vault-password-file", str(env.vault))
    provision_and_audit(env.path, out, *vault, audit_args=("--waivers", str(LAB_WAIVERS)))
