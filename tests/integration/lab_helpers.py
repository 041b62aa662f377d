"""What the lab test modules share: a renamed copy of inventories/lab, the toolkit run as a
sysadmin runs it, and the audit's verdicts read from its JSON report.

The shared lab (lab_environment.py) provisions an environment that `toolkit init` made
for a copy of the lab's machines through :func:`provision_and_audit`, as ./run lab does
for the lab's own inventory, and :func:`assert_every_host_goes` judges it: "the same
verdicts as the lab" is one rule.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO
from toolkit.lab.lab import free_local_ports

TOOLKIT = Path(sys.executable).parent / "toolkit"
#: The lab's subnets (inventories/lab/hosts.yml), which a test lab replaces with its own.
LAB_PREFIX = "10.60."
#: Every host of the lab, each with an audit verdict.
LAB_HOSTS = ("backup", "collab", "directory", "gateway", "laptop01", "logs", "mail", "visio")


def copy_lab(target: Path, name: str, prefix: str, release: str | None = None) -> Path:
    """inventories/lab copied to ``target`` as the lab ``name``: its subnets ``prefix``
    instead of 10.60., each host's SSH on a free port of 127.0.0.1 (a lab a person has
    running is left alone), and its hosts on Debian ``release`` when given."""
    shutil.copytree(REPO / "inventories" / "lab", target, ignore=shutil.ignore_patterns(".lab"))
    hosts_file = target / "hosts.yml"
    # podman refuses a second network on a subnet already used: the test lab takes others
    data = yaml.safe_load(hosts_file.read_text().replace(LAB_PREFIX, prefix))
    ports = iter(free_local_ports(20))

    def renumber(group: dict[str, Any]) -> None:
        for host_vars in (group.get("hosts") or {}).values():
            if host_vars is not None:  # None: a host listed again in another group
                host_vars["ansible_port"] = next(ports)
        for child in (group.get("children") or {}).values():
            renumber(child)

    renumber(data["all"])
    hosts_file.write_text(yaml.safe_dump(data))
    lab_vars = target / "group_vars" / "all" / "lab.yml"
    text = lab_vars.read_text().replace("lab_name: telework-lab", f"lab_name: {name}")
    if release is not None:
        text = text.replace("lab_release: bookworm", f"lab_release: {release}")
    lab_vars.write_text(text)
    # the mail audit reads the zone snippet the mail role writes into this inventory
    mail_vars = target / "group_vars" / "mail_servers" / "mail_server.yml"
    mail_vars.write_text(
        mail_vars.read_text().replace("inventories/lab/.mail/", f"{target}/.mail/")
    )
    return target


def toolkit(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TOOLKIT), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def findings(out: Path) -> dict[str, frozenset[str]]:
    """The IDs of each host's unwaived failures and errors in the report under ``out``."""
    report = json.loads((out / "report.json").read_text())
    return {
        h["host"]: frozenset(
            r["control"]
            for r in h["results"]
            if r["status"] in ("fail", "error") and not r.get("waiver")
        )
        for h in report["hosts"]
    }


def verdicts(inventory: Path, out: Path, *args: str) -> dict[str, str]:
    """``toolkit audit`` of ``inventory`` into ``out``: each host's verdict."""
    done = toolkit("audit", "-i", str(inventory), "-o", str(out), "--no-progress", *args)
    report = json.loads((out / "report.json").read_text())
    assert report["hosts"], done.stdout + done.stderr
    return {h["host"]: h["verdict"] for h in report["hosts"]}


def provision_and_audit(
    inventory: Path, out: Path, *args: str, audit_args: tuple[str, ...] = ()
) -> None:
    """site.yml on every host, a restore drill of every backed-up server, the continuity
    plan, then the audit into ``out`` (as ./run lab does); ``args`` go to each command
    (e.g. --vault-password-file FILE), ``audit_args`` to the audit only."""
    done = toolkit("provision", "-i", str(inventory), *args)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # the drills' evidence and the plan go under reports/ of the checkout, in the folder of
    # the inventory's name, where BCK-05 reads the plan
    drills = toolkit("backup", "drill", "-i", str(inventory), *args, "servers")
    assert drills.returncode == 0, drills.stdout[-4000:] + drills.stderr[-3000:]
    plan = toolkit("report", "continuity", "-i", str(inventory), *args)
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]
    verdicts(inventory, out, *args, *audit_args)


def assert_every_host_goes(out: Path, hosts: tuple[str, ...] = LAB_HOSTS) -> None:
    """The lab's verdicts: exactly ``hosts``, each "go" with no unwaived fail or error."""
    found = findings(out)
    # (a helper module: pytest does not rewrite its asserts, so each says what it saw)
    assert sorted(found) == sorted(hosts), f"hosts audited: {sorted(found)}"
    report = json.loads((out / "report.json").read_text())
    unwaived = {h: f for h, f in found.items() if f}
    said = [
        f"{h['host']} {r['control']}: {str(r.get('summary', ''))[:300]}"
        for h in report["hosts"]
        for r in h["results"]
        if r["control"] in unwaived.get(h["host"], ())
    ]
    assert unwaived == {}, "unwaived findings:\n" + "\n".join(said)
    seen = {h["host"]: h["verdict"] for h in report["hosts"]}
    assert seen == dict.fromkeys(hosts, "go"), f"verdicts: {seen}"
