"""Ansible's command-line tools, run with the project's ansible.cfg and the venv's PATH."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.adapters.process import run
from toolkit.errors import ExternalCommandError, InvalidInputError, Problem
from toolkit.paths import ansible_config
from toolkit.secrets import vault_password_file

#: The strategy every playbook the toolkit runs uses unless $ANSIBLE_STRATEGY names
#: another: Mitogen's, one persistent Python per host and `sudo` once instead of a fresh
#: interpreter and a privilege check at every task (docs/provisioning.md has the figures).
MITOGEN_STRATEGY = "mitogen_linear"


def mitogen_strategy_dir() -> Path | None:
    """The folder of Mitogen's strategy plugins (package ``mitogen``), if it is installed."""
    spec = importlib.util.find_spec("ansible_mitogen")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "plugins" / "strategy"
    return folder if (folder / f"{MITOGEN_STRATEGY}.py").is_file() else None


def strategy_env(environ: Mapping[str, str]) -> dict[str, str]:
    """What to add to ENVIRON so that Ansible runs with Mitogen's strategy: nothing when
    the operator chose a strategy ($ANSIBLE_STRATEGY, e.g. ``linear`` to do without it)
    or when Mitogen is not installed (Ansible's own strategy then)."""
    folder = mitogen_strategy_dir()
    if environ.get("ANSIBLE_STRATEGY") or folder is None:
        return {}
    plugins = [str(folder), *filter(None, environ.get("ANSIBLE_STRATEGY_PLUGINS", "").split(":"))]
    return {"ANSIBLE_STRATEGY": MITOGEN_STRATEGY, "ANSIBLE_STRATEGY_PLUGINS": ":".join(plugins)}


def ansible_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for ansible-* commands: the project's ansible.cfg (outside a checkout:
    $ANSIBLE_CONFIG, ./ansible.cfg or the packaged one), the venv's bin first. Playbook
    runs add :func:`strategy_env` (toolkit.provision); ad-hoc commands keep Ansible's
    strategy (with Mitogen's, ``ansible all`` reported one host of eight to the json
    callback)."""
    env = dict(os.environ)
    config = ansible_config()
    if config is not None:
        env["ANSIBLE_CONFIG"] = str(config)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    env.update(extra or {})
    return env


def tool(name: str) -> str:
    """Path of an Ansible command installed beside this Python, else its bare name."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def _plain(value: Any) -> Any:
    """ansible-inventory marks untrusted strings as {"__ansible_unsafe": "..."}: unwrap."""
    if isinstance(value, dict):
        if len(value) == 1 and "__ansible_unsafe" in value:
            return value["__ansible_unsafe"]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class InventoryHost:
    name: str
    vars: Mapping[str, Any]
    groups: frozenset[str] = field(default_factory=frozenset)


def load_inventory(
    inventory: Path, *, with_roster: bool = True, timeout: float = 60.0
) -> dict[str, InventoryHost]:
    """Hosts of an inventory with their variables and every group they belong to
    (transitively), as ``ansible-inventory --list`` sees them.

    ``with_roster=False`` leaves the roster vars plugin out (the lab needs only hosts).
    Vaulted values are decrypted by Ansible with the run's vault password file."""
    extra = {} if with_roster else {"ANSIBLE_VARS_ENABLED": "host_group_vars"}
    vault = vault_password_file()
    vault_args = ["--vault-password-file", str(vault)] if vault is not None else []
    proc = run(
        [tool("ansible-inventory"), "-i", str(inventory), "--list", *vault_args],
        timeout=timeout,
        env=ansible_env(extra),
        check=False,
    )
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise InvalidInputError(
            [
                Problem(
                    str(inventory),
                    1,
                    "inventory",
                    " / ".join(lines[-6:]) or "ansible-inventory failed",
                )
            ]
        )
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise ExternalCommandError(f"ansible-inventory: not JSON: {proc.stdout[:200]}") from exc
    hostvars: dict[str, Any] = _plain(data.get("_meta", {}).get("hostvars", {}))

    def members(group: str, seen: frozenset[str] = frozenset()) -> set[str]:
        entry = data.get(group, {})
        hosts = set(entry.get("hosts", []))
        for child in entry.get("children", []):
            if child not in seen:
                hosts |= members(child, seen | {group})
        return hosts

    groups: dict[str, set[str]] = {}
    for group in data:
        if group in ("_meta", "all", "ungrouped"):
            continue
        for host in members(group):
            groups.setdefault(host, set()).add(group)
    names = set(hostvars) | set(groups) | members("all")
    return {
        name: InventoryHost(name, hostvars.get(name, {}), frozenset(groups.get(name, ())))
        for name in sorted(names)
    }
