"""A stepped ramp driven through Locust's own runners: local, or a master with workers
(local worker processes, or workers started on other machines with ``toolkit load
worker --master-host``). Statistics are read and reset at the end of every step; the ramp
stops at the first step that breaks the SLO (the load stays bounded)."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import gevent
from locust.env import Environment
from locust.runners import MasterRunner, Runner

from toolkit.errors import ToolkitError
from toolkit.load import classes
from toolkit.load.config import LoadConfig
from toolkit.load.results import LoadResult, RequestStats, StepResult
from toolkit.text import printable

log = logging.getLogger(__name__)

CONFIG_MESSAGE = "telework_toolkit_config"
#: Sent to every worker when the run is over (Locust's own quit leaves worker processes
#: waiting on their runner).
QUIT_MESSAGE = "telework_toolkit_quit"
#: Workers report every second (Locust's default is 3 s): step boundaries stay sharp.
WORKER_REPORT_SECONDS = 1.0
#: Longest extra wait, at the end of a step, for every worker's report of its running
#: users to reach the master (a busy machine delays reports; a count that stays short is
#: recorded as it is).
SETTLE_SECONDS = 5.0
#: Longest wait for the expected workers to connect.
WORKER_WAIT_SECONDS = 60.0
#: Longest wait for users to stop and workers to quit at the end of a run.
STOP_WAIT_SECONDS = 10.0
#: A user's current operation may finish within this when the run stops (Locust's
#: stop_timeout; a worker also waits this long after a stop before it reads its messages).
USER_STOP_SECONDS = 2.0
#: Distinct error texts kept per request name.
MAX_ERRORS = 5


def _snapshot(env: Environment, users: int, seconds: float, running: int) -> StepResult:
    requests = []
    for (name, _method), entry in sorted(env.stats.entries.items()):
        # error texts carry what servers said: made printable before they reach JSON
        errors = sorted(
            {printable(str(e.error)[:200]) for e in env.stats.errors.values() if e.name == name}
        )[:MAX_ERRORS]
        requests.append(
            RequestStats(
                name=name,
                count=entry.num_requests,  # failures included
                failures=entry.num_failures,
                p95_ms=float(entry.get_response_time_percentile(0.95) or 0.0),
                rps=entry.num_requests / seconds if seconds else 0.0,
                errors=errors,
            )
        )
    return StepResult(users=users, running=running, seconds=round(seconds, 2), requests=requests)


def _wait_for_workers(runner: MasterRunner, count: int) -> None:
    deadline = time.monotonic() + WORKER_WAIT_SECONDS
    while len(runner.clients.ready) < count:
        if time.monotonic() > deadline:
            raise ToolkitError(
                f"{len(runner.clients.ready)} of {count} load workers connected after "
                f"{WORKER_WAIT_SECONDS:.0f} s"
            )
        gevent.sleep(0.2)


def _settled_user_count(runner: MasterRunner, users: int) -> int:
    """The master's count of running users, once every worker's report has caught up with
    the step's target (bounded by SETTLE_SECONDS)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while runner.user_count < users and time.monotonic() < deadline:
        gevent.sleep(0.2)
    if runner.user_count < users:
        log.warning(
            "%d of %d users reported running after %.0f s; workers: %s",
            runner.user_count, users, SETTLE_SECONDS,
            ", ".join(f"{c.state} {c.user_count}" for c in runner.clients.values()),
        )  # fmt: skip
    return runner.user_count


def _local_workers(count: int, port: int) -> list[subprocess.Popen[bytes]]:
    argv = [sys.executable, "-m", "toolkit.load.worker", "--master-host", "127.0.0.1"]
    return [
        subprocess.Popen([*argv, "--master-port", str(port)], stdin=subprocess.DEVNULL)
        for _ in range(count)
    ]


def ramp(
    config: LoadConfig,
    *,
    local_workers: int = 0,
    remote_workers: int = 0,
    master_bind: str = "127.0.0.1",
    master_port: int = 5557,
) -> LoadResult:
    """Run the stepped ramp of ``config``; with workers, as a Locust master."""
    env = Environment(user_classes=classes.user_classes(config), stop_timeout=USER_STOP_SECONDS)
    workers = local_workers + remote_workers
    procs: list[subprocess.Popen[bytes]] = []
    started = datetime.now(UTC)
    runner: Runner
    if workers:
        master = env.create_master_runner(master_bind, master_port)
        runner = master
        procs = _local_workers(local_workers, master_port)
        try:
            _wait_for_workers(master, workers)
            payload: dict[str, Any] = {
                "config": config.model_dump(mode="json"),
                "rate_share": config.max_rate / workers,
            }
            for client_id in list(master.clients):
                master.send_message(CONFIG_MESSAGE, payload, client_id)
        except BaseException:
            master.quit()
            _reap(procs)
            raise
    else:
        classes.configure(config, config.max_rate)
        runner = env.create_local_runner()
    steps: list[StepResult] = []
    lag = WORKER_REPORT_SECONDS * 1.5 if workers else 0.0
    try:
        for users in config.steps:
            env.stats.reset_all()
            begin = time.monotonic()
            runner.start(users, spawn_rate=config.spawn_rate)
            gevent.sleep(config.step_seconds + lag)
            running = (
                _settled_user_count(runner, users)
                if isinstance(runner, MasterRunner)
                else runner.user_count
            )
            step = _snapshot(env, users, time.monotonic() - begin, running)
            steps.append(step)
            log.info("step %d users: %d requests, p95 %.0f ms", users, step.count, step.p95_ms)
            if not step.meets(config.slo):
                break
    finally:
        _stop(runner)
        _reap(procs)
    return LoadResult(
        platform=config.platform,
        profile=config.profile,
        target=config.target,
        token=config.token,
        workers=workers,
        slo=config.slo,
        started_at=started,
        steps=steps,
    )


def _stop(runner: Runner) -> None:
    """Stop every user (the master waits for every worker to report it), take the last
    reports, tell the workers to quit."""
    runner.stop()
    if isinstance(runner, MasterRunner):
        for client_id in list(runner.clients):
            runner.send_message(QUIT_MESSAGE, None, client_id)
        gevent.sleep(WORKER_REPORT_SECONDS)
    runner.quit()


def _reap(procs: list[subprocess.Popen[bytes]]) -> None:
    """Local workers have no user left and have sent their last report: they are ended
    (a Locust worker still pauses after a stop before it reads the quit message)."""
    for proc in procs:
        try:
            proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
