"""Running the site playbook with the project's callback, turning its events into
progress and a per-host summary."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.adapters.ansible import ansible_env, strategy_env, tool
from toolkit.errors import ExternalCommandError
from toolkit.paths import log_dir, playbook_target, plugin_name, work_dir
from toolkit.secrets import vault_password_file

log = logging.getLogger(__name__)

#: Callbacks of a run; toolkit_events is named by its collection name outside a checkout.
CALLBACKS = "ansible.posix.profile_tasks,toolkit_events"
DEFAULT_TIMEOUT = 3600.0
#: How long ansible-playbook gets to stop after SIGTERM before it is killed.
STOP_GRACE = 10.0
#: An event line longer than this is not the callback's: it is skipped, not parsed.
MAX_EVENT_LINE = 1 << 20
_EVENTS: dict[str, dict[str, type]] = {
    "play": {"name": str, "hosts": list},
    "task": {"name": str},
    "result": {"host": str, "task": str, "status": str, "msg": str},
    "stats": {"hosts": dict},
}


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


def parse_event(line: str) -> dict[str, Any] | None:
    """One callback event, or None (logged) when the line is not one: a broken or foreign
    line never stops the run nor reaches the display half-read."""
    if len(line) > MAX_EVENT_LINE:
        log.warning("skipped an event line of %d characters", len(line))
        return None
    try:
        decoded: object = json.loads(line)
    except json.JSONDecodeError:
        log.warning("skipped an event line that is not JSON: %.80r", line)
        return None
    if not isinstance(decoded, dict):
        log.warning("skipped an event that is not an object: %.80r", line)
        return None
    event: dict[str, Any] = decoded
    fields = _EVENTS.get(str(event.get("event")))
    if fields is None or not all(isinstance(event.get(k), t) for k, t in fields.items()):
        log.warning("skipped an event of an unknown shape: %.80r", line)
        return None
    return event


def stop(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE) -> None:
    """End ``proc`` and the workers it forked (its own session): SIGTERM to the group,
    SIGKILL after ``grace`` seconds; waits until it is gone."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    log.info("ansible-playbook (pid %d) stopped", proc.pid)


def _apply(event: dict[str, Any], hosts: dict[str, HostSummary]) -> None:
    if event["event"] == "result" and event["status"] in ("failed", "unreachable"):
        hosts.setdefault(
            event["host"], HostSummary(event["host"])
        ).last_error = f"{event['task']}: {event['msg']}"
    elif event["event"] == "stats":
        for host, counts in event["hosts"].items():
            if not isinstance(counts, dict):
                continue
            summary = hosts.setdefault(host, HostSummary(host))

            def count(key: str, counts: dict[str, Any] = counts) -> int:
                value = counts.get(key, 0)
                return value if isinstance(value, int) else 0

            summary.ok, summary.changed = count("ok"), count("changed")
            summary.failed, summary.unreachable = count("failures"), count("unreachable")
            summary.skipped, summary.rescued = count("skipped"), count("rescued")
            summary.ignored = count("ignored")


def callbacks() -> str:
    """``CALLBACKS`` as Ansible knows them here (in a checkout or from the collection)."""
    return CALLBACKS.replace("toolkit_events", plugin_name("toolkit_events"))


def run_playbook(
    inventory: Path,
    playbook: str = "playbooks/site.yml",
    *,
    limit: str | None = None,
    check: bool = False,
    diff: bool = False,
    extra_vars: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    on_event: Callable[[dict[str, Any]], None] = lambda _event: None,
) -> RunResult:
    """Run a playbook (``extra_vars`` given as one JSON ``-e``); ``on_event`` receives each
    callback event as it happens. The
    playbook's own output goes to a log file kept under .cache/provision/ (outside a
    checkout: under the cache folder, see toolkit.paths).

    ansible-playbook runs in its own session and is ended (with its workers) on every way
    out of this function: the timeout, an exception in ``on_event``, Ctrl-C."""
    root = work_dir()
    logs = log_dir("provision")
    logs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_file = logs / f"{stamp}-{Path(playbook).stem}.log"
    argv = [tool("ansible-playbook"), "-i", str(inventory), playbook_target(playbook)]
    vault = vault_password_file()
    if vault is not None:
        argv += ["--vault-password-file", str(vault)]
    if limit:
        argv += ["--limit", limit]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    hosts: dict[str, HostSummary] = {}
    started = time.monotonic()
    with (
        tempfile.NamedTemporaryFile("r", suffix=".jsonl", prefix="toolkit-events-") as events,
        log_file.open("w") as out,
    ):
        env = ansible_env(
            {"ANSIBLE_CALLBACKS_ENABLED": callbacks(), "TOOLKIT_EVENTS_FILE": events.name}
        )
        env.update(strategy_env(env))
        log.info("running %s (log: %s)", " ".join(argv), log_file)
        try:
            proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=root,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise ExternalCommandError("ansible-playbook not found (run `./run setup`)") from exc
        pending = ""

        def drain() -> None:
            nonlocal pending
            pending += events.read()
            *lines, pending = pending.split("\n")
            if len(pending) > MAX_EVENT_LINE:
                log.warning("skipped an unterminated event line of %d characters", len(pending))
                pending = ""
            for line in filter(None, lines):
                event = parse_event(line)
                if event is not None:
                    _apply(event, hosts)
                    on_event(event)

        try:
            while proc.poll() is None:
                drain()
                if time.monotonic() - started > timeout:
                    raise ExternalCommandError(
                        f"{playbook} still running after {timeout:.0f} s: stopped (log: {log_file})"
                    )
                time.sleep(0.2)
            drain()
        finally:
            stop(proc)
    return RunResult(proc.returncode, hosts, log_file, time.monotonic() - started)
