"""The roles, plugins and playbooks build as the collection telework.toolkit and the toolkit
as a wheel; both work once installed outside the checkout (docs/install.md).

The collection is built from a copy of the checkout with secrets and caches planted in it
(none may reach the tarball); both are installed into a temporary folder and used from
another one, with an environment that cannot see the checkout: no ANSIBLE_CONFIG or
TOOLKIT_PROJECT_DIR, the installed wheel first on PYTHONPATH, a HOME of its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from toolkit.exitcodes import ExitCode

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
VENV_BIN = Path(sys.executable).parent
TIMEOUT = 120

#: Never in the collection: secrets of inventories, caches, the Python side, the tests.
FORBIDDEN_PARTS = {
    ".lab",
    ".pki",
    ".credentials",
    ".vpn",
    ".mail",
    ".venv",
    ".cache",
    ".git",
    ".hypothesis",
    "__pycache__",
    "molecule",
    "inventories",
    "tests",
    "toolkit",
    "bench",
    "reports",
}
#: Files planted in the copy the collection is built from (secrets, caches, outputs).
PLANTED = (
    "inventories/lab/.lab/admin-password",
    "inventories/prod/.credentials/directory/admin",
    "inventories/prod/.vpn/keys/laptop01.key",
    "inventories/prod/.mail/example.zone",
    "inventories/prod/.pki/ca.key",
    ".pki/ca.key",
    ".cache/molecule/baseline-default.log",
    ".venv/bin/python",
    "reports/audit/lab-1/report.html",
    "roles/pki/__pycache__/x.cpython-311.pyc",
)

HOSTS = """\
---
all:
  children:
    servers:
      children:
        vpn_gateways:
          hosts:
            localhost:
              ansible_connection: local
              ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""

PLAYBOOK = """\
---
- name: Preflight of the installed collection
  ansible.builtin.import_playbook: telework.toolkit.preflight

- name: A role of the installed collection, the roster from its vars plugin
  hosts: vpn_gateways
  gather_facts: false
  tasks:
    - name: Check the VPN settings with the collection's vpn_gateway role
      ansible.builtin.include_role:
        name: telework.toolkit.vpn_gateway
        tasks_from: preflight

    - name: Declare the VPN's openings (dry run), the role calling baseline by its short name
      ansible.builtin.include_role:
        name: telework.toolkit.vpn_gateway
        tasks_from: host_firewall

    - name: Show the roster and the devices the role's own filter finds in it
      ansible.builtin.debug:
        msg:
          ids: "{{ telework_roster | map(attribute='id') | list }}"
          devices: "{{ telework_roster | vpn_gateway_devices | map(attribute='device') | list }}"
"""


@dataclass(frozen=True)
class Installed:
    tarball: Path
    wheel: Path
    collections: Path
    site: Path
    home: Path

    @property
    def toolkit(self) -> str:
        return str(self.site / "bin" / "toolkit")


def run(
    argv: list[str], *, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def outside_env(installed: Installed, **extra: str) -> dict[str, str]:
    """An environment that cannot see the checkout: no Ansible or toolkit setting, the
    installed wheel first on PYTHONPATH, a HOME and caches of its own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANSIBLE_", "TOOLKIT_", "MOLECULE_")) and k != "PYTHONPATH"
    }
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(installed.site),
        HOME=str(installed.home),
        XDG_CACHE_HOME=str(installed.home / ".cache"),
        ANSIBLE_FORCE_COLOR="0",
        NO_COLOR="1",
    )
    env.update(extra)
    return env


def _copy_checkout(dest: Path) -> None:
    ignore = shutil.ignore_patterns(
        ".venv", ".git", ".cache", ".hypothesis", ".*_cache", "__pycache__", "reports", "build"
    )
    shutil.copytree(REPO, dest, symlinks=True, ignore=ignore)
    for name in PLANTED:
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("secret or cache: must not be in the collection\n")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("install")
    checkout, dist, home = base / "checkout", base / "dist", base / "home"
    _copy_checkout(checkout)
    home.mkdir()
    # Nothing installed on this machine (ansible-lint puts the checkout's collection in
    # ~/.ansible/collections) may make ansible-galaxy skip the install.
    galaxy_env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    galaxy_env.update(HOME=str(home), ANSIBLE_COLLECTIONS_PATH=str(base / "collections"))
    build = run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist)],
        cwd=checkout,
        env=galaxy_env,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (tarball,) = dist.glob("telework-toolkit-*.tar.gz")
    install = run(
        [
            str(VENV_BIN / "ansible-galaxy"),
            "collection",
            "install",
            "--no-deps",
            "--force",
            "-p",
            str(base / "collections"),
            str(tarball),
        ],
        cwd=base,
        env=galaxy_env,
    )
    assert install.returncode == 0, install.stdout + install.stderr

    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(
        REPO / "toolkit", src / "toolkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    wheel = run(
        [*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)],
        cwd=base,
    )
    assert wheel.returncode == 0, wheel.stdout + wheel.stderr
    (wheel_file,) = dist.glob("telework_toolkit-*.whl")
    site = base / "site"
    pip_install = run(
        [*pip, "install", "-q", "--no-deps", "--target", str(site), str(wheel_file)], cwd=base
    )
    assert pip_install.returncode == 0, pip_install.stdout + pip_install.stderr
    return Installed(tarball, wheel_file, base / "collections", site, home)


def write_inventory(folder: Path, roster: str | None = None) -> Path:
    (folder / "group_vars" / "all").mkdir(parents=True)
    (folder / "hosts.yml").write_text(HOSTS)
    shutil.copy2(FIXTURES / "telework.yml", folder / "group_vars" / "all" / "telework.yml")
    text = roster if roster is not None else (FIXTURES / "roster-good.csv").read_text("utf-8")
    (folder / "roster.csv").write_text(text, encoding="utf-8")
    return folder


def broken_roster() -> str:
    """The good roster with a third row whose unit is not declared."""
    lines = (FIXTURES / "roster-good.csv").read_text("utf-8").splitlines()
    lines[2] = lines[2].replace(",finance,", ",nowhere,")
    return "\n".join(lines) + "\n"


def test_the_collection_holds_its_content_and_no_secret_or_cache(installed: Installed) -> None:
    with tarfile.open(installed.tarball) as tar:
        names = set(tar.getnames())
        member = tar.extractfile("MANIFEST.json")
        assert member is not None
        manifest = json.load(member)
    assert manifest["collection_info"]["namespace"] == "telework"
    assert manifest["collection_info"]["name"] == "toolkit"
    expected = {
        "meta/runtime.yml",
        "playbooks/site.yml",
        "playbooks/roster_sync.yml",
        "plugins/vars/telework_roster.py",
        "plugins/callback/toolkit_events.py",
        "plugins/modules/telework_directory_sync.py",
        "audits/requirements.yml",
    }
    roles = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir())
    expected |= {f"roles/{role}/tasks/main.yml" for role in roles}
    assert expected <= names, sorted(expected - names)
    leaked = sorted(n for n in names if FORBIDDEN_PARTS & set(Path(n).parts))
    assert leaked == []
    assert [n for n in names if n.endswith((".pyc", ".log", ".tar.gz", ".whl"))] == []
    assert "ansible.cfg" not in names
    assert "pyproject.toml" not in names


def test_the_wheel_holds_every_data_file_the_toolkit_reads(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as whl:
        names = set(whl.namelist())
    data = {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "toolkit").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }
    assert {"toolkit/ansible.cfg", "toolkit/lab/containers.conf"} <= data
    assert data <= names, sorted(data - names)
    assert not any(n.startswith(("tests/", "roles/", "playbooks/")) for n in names)


def test_a_playbook_uses_the_installed_collection_outside_the_checkout(
    installed: Installed, tmp_path: Path
) -> None:
    inventory = write_inventory(tmp_path / "inventory")
    events = tmp_path / "events.jsonl"
    config = tmp_path / "ansible.cfg"
    config.write_text(
        "[defaults]\n"
        f"collections_path = {installed.collections}\n"
        "vars_plugins_enabled = host_group_vars, telework.toolkit.telework_roster\n"
        "callbacks_enabled = telework.toolkit.toolkit_events\n"
        "stdout_callback = ansible.builtin.json\n"
        "[inventory]\n"
        "ignore_extensions = ~, .orig, .bak, .ini, .cfg, .retry, .csv, .md, .txt\n"
    )
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    env = outside_env(installed, ANSIBLE_CONFIG=str(config), TOOLKIT_EVENTS_FILE=str(events))
    which = run(
        [sys.executable, "-c", "import toolkit; print(toolkit.__file__)"], cwd=tmp_path, env=env
    )
    assert Path(which.stdout.strip()).is_relative_to(installed.site), which.stdout + which.stderr

    argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), "play.yml", "--check"]
    proc = run(argv, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "REQUIRES_ENABLED" not in proc.stderr
    result = json.loads(proc.stdout)
    assert result["stats"]["localhost"]["failures"] == 0
    plays = {p["play"]["name"]: p["tasks"] for p in result["plays"]}
    preflight = plays["Preflight | every host answers and runs a supported release"]
    assert preflight[-1]["task"]["name"].startswith("Assert a supported Debian")
    assert preflight[-1]["task"]["path"].startswith(str(installed.collections))
    tasks = plays["A role of the installed collection, the roster from its vars plugin"]
    role_task = next(t for t in tasks if "Check the tunnel networks" in t["task"]["name"])
    assert role_task["task"]["name"].startswith("telework.toolkit.vpn_gateway : ")
    assert role_task["task"]["path"].startswith(str(installed.collections))
    assert role_task["hosts"]["localhost"]["msg"] == "All assertions passed"
    # `include_role: name: baseline` inside the collection is this collection's baseline,
    # its filters and template found there (a dry run: nothing written).
    declared = [t for t in tasks if "Write the declaration, for vpn_gateway" in t["task"]["name"]]
    assert len(declared) == 2, [t["task"]["name"] for t in tasks]
    for task in declared:
        assert task["task"]["name"].startswith("telework.toolkit.baseline : ")
        assert task["task"]["path"].startswith(str(installed.collections))
        assert not task["hosts"]["localhost"].get("failed"), task["hosts"]["localhost"]
    msg = tasks[-1]["hosts"]["localhost"]["msg"]
    assert msg["ids"] == ["a1", "a2", "a3", "a4"]
    assert msg["devices"] == ["lt-1", "lt-2", "pc-3", "ph-2"]
    # The callback, enabled by its collection name, reported the run.
    kinds = [json.loads(line)["event"] for line in events.read_text().splitlines()]
    assert kinds[0] == "play"
    assert kinds[-1] == "stats"

    # An invalid roster stops Ansible before any task, with FILE:LINE.
    write_inventory(tmp_path / "broken", broken_roster())
    argv[2] = str(tmp_path / "broken")
    proc = run(argv, cwd=tmp_path, env=env)
    assert proc.returncode != 0
    assert "invalid roster, nothing applied" in proc.stdout + proc.stderr
    assert f"{tmp_path / 'broken' / 'roster.csv'}:3: unit" in proc.stdout + proc.stderr


def test_the_toolkit_command_works_outside_the_checkout(
    installed: Installed, tmp_path: Path
) -> None:
    write_inventory(tmp_path / "good")
    write_inventory(tmp_path / "broken", broken_roster())
    env = outside_env(installed)

    ok = run([installed.toolkit, "roster", "validate", "-i", "good"], cwd=tmp_path, env=env)
    assert ok.returncode == ExitCode.OK, ok.stdout + ok.stderr
    assert "4 teleworkers (3 active, 1 revoked)" in ok.stdout

    bad = run([installed.toolkit, "roster", "validate", "-i", "broken"], cwd=tmp_path, env=env)
    assert bad.returncode == ExitCode.INVALID_INPUT, bad.stdout + bad.stderr
    assert f"{tmp_path / 'broken' / 'roster.csv'}:3: unit" in bad.stdout + bad.stderr

    # --env looks in ./inventories/ of the working directory.
    (tmp_path / "inventories").mkdir()
    (tmp_path / "good").rename(tmp_path / "inventories" / "prod")
    by_env = run([installed.toolkit, "roster", "validate", "--env", "prod"], cwd=tmp_path, env=env)
    assert by_env.returncode == ExitCode.OK, by_env.stdout + by_env.stderr
    missing = run([installed.toolkit, "roster", "validate", "--env", "lab"], cwd=tmp_path, env=env)
    assert missing.returncode == ExitCode.USAGE
    assert "known: prod" in missing.stderr

    # No ansible.cfg anywhere: the packaged one; the playbook from the installed collection.
    env["ANSIBLE_COLLECTIONS_PATH"] = str(installed.collections)
    provision = run(
        [
            installed.toolkit,
            "provision",
            "--env",
            "prod",
            "--playbook",
            "playbooks/preflight.yml",
            "--check",
        ],
        cwd=tmp_path,
        env=env,
    )
    assert provision.returncode == ExitCode.OK, provision.stdout + provision.stderr
    assert "localhost" in provision.stdout
    logs = list((installed.home / ".cache" / "telework-toolkit" / "provision").glob("*.log"))
    assert any("Assert a supported Debian release" in log.read_text() for log in logs)

    completion = run(
        [installed.toolkit], cwd=tmp_path, env={**env, "_TOOLKIT_COMPLETE": "bash_source"}
    )
    assert completion.returncode == 0
    assert "_toolkit_completion()" in completion.stdout
    assert "_TOOLKIT_COMPLETE=bash_complete" in completion.stdout
