"""Time of an idempotent `playbooks/site.yml` on the lab: the way `toolkit provision` runs
it against Ansible's defaults (issue: fast to provision, fast to test).

    ./run lab                                   # the lab up and provisioned once
    .venv/bin/python bench/provision.py [--env lab] [--skip-defaults] [--skip-linear]

Runs the playbook three times, one after the other, on the same lab: as `toolkit provision`
does (the checkout's ansible.cfg: pipelining, SSH ControlPersist, forks, facts, ...; and
Mitogen's mitogen_linear strategy, toolkit.adapters.ansible.strategy_env); with the same
ansible.cfg and Ansible's own linear strategy; and with a configuration that keeps only
what the playbook needs to run (roles path, vars plugins, the inventory's ignored
extensions). It prints the wall times, their ratios to the first run, the hosts' changed
counts (an idempotent run changes nothing) and the slowest tasks of each run
(ansible.posix.profile_tasks). Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.adapters.ansible import strategy_env

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOK = "playbooks/site.yml"
#: What any run of the project needs, and nothing that makes it faster.
DEFAULTS_CFG = """\
[defaults]
roles_path = {root}/roles
vars_plugins = {root}/plugins/vars
vars_plugins_enabled = host_group_vars, telework_roster
callbacks_enabled = ansible.posix.profile_tasks
retry_files_enabled = False

[inventory]
ignore_extensions = ~, .orig, .bak, .ini, .cfg, .retry, .pyc, .pyo, .csv, .md, .txt
"""
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")
TASK_TIME = re.compile(r"^(.+?) -+ (\d+\.\d+)s$")


@dataclass
class Run:
    label: str
    wall: float
    rc: int
    changed: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    tasks: list[tuple[str, float]] = field(default_factory=list)
    log: Path | None = None


def parse(output: str, run: Run) -> None:
    """Fill RUN's per-host changed/failed counts and its task times from OUTPUT."""
    in_tasks = False
    for line in output.splitlines():
        if m := RECAP.match(line):
            run.changed[m[1]] = int(m[3])
            run.failed[m[1]] = int(m[4]) + int(m[5])
        elif line.startswith("TASKS RECAP"):
            in_tasks = True
        elif in_tasks and (m := TASK_TIME.match(line.strip())):
            run.tasks.append((m[1].strip(), float(m[2])))


def play(label: str, inventory: Path, env: dict[str, str], logs: Path) -> Run:
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), PLAYBOOK]
    started = time.monotonic()
    proc = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=3600
    )
    run = Run(label, time.monotonic() - started, proc.returncode)
    run.log = logs / f"provision-{label.split(maxsplit=1)[0]}.log"
    run.log.write_text(proc.stdout + proc.stderr)
    parse(proc.stdout, run)
    return run


def base_env(config: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(config)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
    env["PROFILE_TASKS_TASK_OUTPUT_LIMIT"] = "all"
    for name in ("ANSIBLE_STRATEGY", "ANSIBLE_STRATEGY_PLUGINS"):
        env.pop(name, None)
    return env


def report(runs: list[Run], top: int) -> None:
    print(f"\nidempotent {PLAYBOOK} on {len(runs[0].changed)} hosts")
    for run in runs:
        changed = sum(run.changed.values())
        state = "ok" if run.rc == 0 and not any(run.failed.values()) else f"FAILED rc={run.rc}"
        print(
            f"  {run.label:<26} {run.wall:7.1f} s   changed={changed}  {state}  "
            f"{len(run.tasks)} tasks  (log: {run.log})"
        )
    ours = runs[0]
    for run in runs[1:]:
        print(f"  {run.label} / {ours.label}: {run.wall / ours.wall:.2f}x")
    for run in runs:
        print(
            f"\nslowest tasks, {run.label} (sum over the run: {sum(t for _, t in run.tasks):.1f} s)"
        )
        for name, seconds in sorted(run.tasks, key=lambda t: -t[1])[:top]:
            print(f"  {seconds:6.2f} s  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="lab", help="inventory under inventories/ (default: lab)")
    parser.add_argument("--skip-defaults", action="store_true", help="time the project's run only")
    parser.add_argument(
        "--skip-linear", action="store_true", help="skip the run with Ansible's linear strategy"
    )
    parser.add_argument("--top", type=int, default=12, help="slowest tasks shown per run")
    args = parser.parse_args()
    inventory = ROOT / "inventories" / args.env
    with tempfile.TemporaryDirectory(prefix="bench-provision-") as tmp:
        logs = ROOT / ".cache" / "bench"
        logs.mkdir(parents=True, exist_ok=True)
        defaults = Path(tmp) / "ansible.cfg"
        defaults.write_text(DEFAULTS_CFG.format(root=ROOT))
        project = ROOT / "ansible.cfg"
        toolkit_env = base_env(project)
        toolkit_env.update(strategy_env(toolkit_env))
        label = f"toolkit ({toolkit_env.get('ANSIBLE_STRATEGY', 'linear')})"
        runs = [play(label, inventory, toolkit_env, logs)]
        if not args.skip_linear and "ANSIBLE_STRATEGY" in toolkit_env:
            runs.append(play("project ansible.cfg, linear", inventory, base_env(project), logs))
        if not args.skip_defaults:
            runs.append(play("ansible defaults", inventory, base_env(defaults), logs))
    report(runs, args.top)
    return 0 if all(r.rc == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
