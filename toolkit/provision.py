"""Running the site playbook with the project's callback, turning its events into
progress and a per-host summary."""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.adapters.ansible import ansible_env, tool
from toolkit.errors import ExternalCommandError
from toolkit.paths import project_root

log = logging.getLogger(__name__)

CALLBACKS = "ansible.posix.profile_tasks,toolkit_events"
DEFAULT_TIMEOUT = 3600.0


@dataclass
class HostSummary:
    host: str
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0
    last_error: str = ""

    @property
    def status(self) -> str:
        if self.unreachable:
            return "unreachable"
        return "failed" if self.failed else "ok"


@dataclass
class RunResult:
    returncode: int
    hosts: dict[str, HostSummary] = field(default_factory=dict)
    log_file: Path | None = None
    duration: float = 0.0

    @property
    def unreachable(self) -> list[str]:
        return [h for h, s in self.hosts.items() if s.unreachable]

    @property
    def failed(self) -> list[str]:
        return [h for h, s in self.hosts.items() if s.failed]


def _apply(event: dict[str, Any], hosts: dict[str, HostSummary]) -> None:
    if event["event"] == "result" and event["status"] in ("failed", "unreachable"):
        hosts.setdefault(
            event["host"], HostSummary(event["host"])
        ).last_error = f"{event['task']}: {event['msg']}"
    elif event["event"] == "stats":
        for host, counts in event["hosts"].items():
            summary = hosts.setdefault(host, HostSummary(host))
            summary.ok, summary.changed = counts["ok"], counts["changed"]
            summary.failed, summary.unreachable = counts["failures"], counts["unreachable"]
            summary.skipped, summary.rescued = counts["skipped"], counts["rescued"]
            summary.ignored = counts["ignored"]


def run_playbook(
    inventory: Path,
    playbook: str = "playbooks/site.yml",
    *,
    limit: str | None = None,
    check: bool = False,
    diff: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    on_event: Callable[[dict[str, Any]], None] = lambda _event: None,
) -> RunResult:
    """Run a playbook; ``on_event`` receives each callback event as it happens. The
    playbook's own output goes to a log file kept under .cache/provision/."""
    root = project_root()
    logs = root / ".cache" / "provision"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_file = logs / f"{stamp}-{Path(playbook).stem}.log"
    argv = [tool("ansible-playbook"), "-i", str(inventory), str(root / playbook)]
    if limit:
        argv += ["--limit", limit]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    hosts: dict[str, HostSummary] = {}
    started = time.monotonic()
    with (
        tempfile.NamedTemporaryFile("r", suffix=".jsonl", prefix="toolkit-events-") as events,
        log_file.open("w") as out,
    ):
        env = ansible_env(
            {"ANSIBLE_CALLBACKS_ENABLED": CALLBACKS, "TOOLKIT_EVENTS_FILE": events.name}
        )
        log.info("running %s (log: %s)", " ".join(argv), log_file)
        try:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
        except FileNotFoundError as exc:
            raise ExternalCommandError("ansible-playbook not found (run `./run setup`)") from exc
        pending = ""

        def drain() -> None:
            nonlocal pending
            pending += events.read()
            *lines, pending = pending.split("\n")
            for line in filter(None, lines):
                event = json.loads(line)
                _apply(event, hosts)
                on_event(event)

        while proc.poll() is None:
            drain()
            if time.monotonic() - started > timeout:
                proc.kill()
                proc.wait()
                raise ExternalCommandError(
                    f"{playbook} still running after {timeout:.0f} s: stopped (log: {log_file})"
                )
            time.sleep(0.2)
        drain()
    return RunResult(proc.returncode, hosts, log_file, time.monotonic() - started)
