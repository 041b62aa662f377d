"""The lab half of bench/load.py (``--lab``): the SMTP ceiling `toolkit load` finds on the
inventory's mail server against the one Postfix's smtp-source finds on the same server.

    .venv/bin/python bench/load.py --lab [--env lab | -i INVENTORY] [--sessions 5,10,20]

The target, the probe account (audit_params MAIL-11, its password file beside the
inventory), the CA and the server name are those `toolkit load mail` uses
(toolkit.load.settings.build_config). Both generators speak plain SMTP (no STARTTLS, no
AUTH: what smtp-source speaks) to port 25 of that server, one connection a message,
2,000-byte bodies, from and to the probe's address (a local mailbox: the lab's Postfix takes
it from any client without AUTH), at the same session counts. On the server each message
goes through the same path: smtpd, the Rspamd milter (spam rules, DKIM signing; ClamAV only
sees attachments, and these have none), the queue, LMTP to Dovecot. The two are run in
turn at each session count (who goes first alternates), each after the queue has drained
the other's messages. The machine's background load moves these figures: compare runs of
the same invocation only.

Every run is bounded: toolkit load by --seconds (and max_rate), smtp-source by a message
count (the previous run's rate times --seconds, within --max-messages) and a timeout. The
messages of both are found in the probe mailbox afterwards (toolkit load's by its token
header, smtp-source's by the run's subject, given with its -S option), counted and deleted.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.load.cleanup import count_messages, delete_messages, run_criteria
from toolkit.load.config import LoadConfig, Slo
from toolkit.load.settings import build_config

#: Subject prefix of smtp-source's messages (the run's token follows).
SUBJECT = "telework-toolkit-bench-smtp-source"
#: Longest wait for the server to deliver a run's messages to the probe mailbox.
DRAIN_SECONDS = 90.0
#: The mailbox count must stay still this long before a drain is over.
STILL_SECONDS = 8.0

RunLoad = Callable[..., tuple[dict[str, Any], float]]


@dataclass
class Measure:
    """One generator's run at one session count."""

    generator: str
    sessions: int
    sent: int
    failed: int
    seconds: float
    criteria: tuple[str, ...]
    #: toolkit load only (smtp-source reports no latency).
    p95_ms: float = 0.0
    delivered: int = 0
    deleted: int = 0

    @property
    def rate(self) -> float:
        """Messages the server accepted a second."""
        return self.sent / self.seconds if self.seconds else 0.0


def lab_config(inventory: Path, sessions: int, seconds: float) -> LoadConfig:
    """`toolkit load mail --profile flood --smtp-plain --smtp-port 25` for the inventory's
    mail server, ``sessions`` users for ``seconds``."""
    opts: dict[str, Any] = {
        "target": None, "server_name": None, "ca_file": None, "login": None,
        "password_file": None, "address": None, "imap_port": None,
        "steps": str(sessions), "max_users": sessions, "step_count": 1,
        "step_seconds": seconds, "spawn_rate": 500.0, "max_rate": 5000.0,
        "slo_p95_ms": 2000.0, "slo_error_rate": 0.01,
        "profile": "flood", "smtp_plain": True, "smtp_port": 25,
    }  # fmt: skip
    return build_config("mail", inventory, opts)


def drain(config: LoadConfig, criteria: tuple[str, ...], sent: int) -> int:
    """Wait until the ``sent`` messages are in the probe mailbox, or their count has
    stayed still :data:`STILL_SECONDS`, at most :data:`DRAIN_SECONDS`; how many are."""
    deadline = time.monotonic() + DRAIN_SECONDS
    found, still_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = count_messages(config, criteria)
        if now != found:
            found, still_since = now, time.monotonic()
        if found >= sent or time.monotonic() - still_since >= STILL_SECONDS:
            break
        time.sleep(1.0)
    return max(found, 0)


def toolkit_run(config: LoadConfig, run_load: RunLoad, folder: Path) -> Measure:
    result, _ = run_load(
        config.model_dump(mode="json"), folder, f"lab-{config.steps[0]}",
        timeout=config.step_seconds + 180,
    )  # fmt: skip
    step = result["steps"][0]
    count = sum(r["count"] for r in step["requests"])
    failed = sum(r["failures"] for r in step["requests"])
    for r in step["requests"]:
        for error in r["errors"]:
            print(f"  toolkit load error: {error}")
    p95 = max((r["p95_ms"] for r in step["requests"]), default=0.0)
    return Measure("toolkit load", step["users"], count - failed, failed, step["seconds"],
                   run_criteria(config), p95_ms=p95)  # fmt: skip


def smtp_source_run(
    config: LoadConfig, smtp_source: tuple[list[str], dict[str, str]], sessions: int,
    messages: int, timeout: float,
) -> Measure:  # fmt: skip
    """smtp-source at ``sessions`` parallel sessions, one connection a message (its
    default), ``messages`` 2,000-byte messages with the run's subject."""
    argv, env = smtp_source
    subject = f"{SUBJECT}-{secrets.token_hex(8)}"
    address = config.account.address
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [*argv, "-s", str(sessions), "-m", str(messages), "-l", "2000", "-S", subject,
             "-f", address, "-t", address, f"{config.target}:{config.smtp_port}"],
            env=env or None, check=False, timeout=timeout, capture_output=True, text=True,
        )  # fmt: skip
        code, why = done.returncode, done.stderr.strip()[-300:]
    except subprocess.TimeoutExpired:  # killed: what it sent is still found and deleted
        code, why = -1, f"no end within {timeout:.0f} s"
    seconds = time.perf_counter() - start
    if code:
        print(f"  smtp-source exit {code}: {why}")
    failed = 0 if code == 0 else messages
    return Measure("smtp-source", sessions, messages - failed, failed, seconds,
                   ("HEADER", "Subject", subject))  # fmt: skip


def measure(
    inventory: Path, sessions: list[int], *, seconds: float, max_messages: int,
    run_load: RunLoad, smtp_source: tuple[list[str], dict[str, str]], folder: Path,
) -> tuple[LoadConfig, list[Measure]]:  # fmt: skip
    """Both generators in turn at each session count; every run's messages counted in
    the probe mailbox, then deleted (also when a run fails)."""
    base = lab_config(inventory, sessions[0], seconds)
    runs: list[Measure] = []
    started: list[tuple[str, ...]] = []  # toolkit load runs, also those that failed
    rate = 0.0  # the last rate measured: smtp-source's message count sends for ~seconds
    try:
        for i, n in enumerate(sessions):
            config = LoadConfig.model_validate(
                {**base.model_dump(), "steps": (n,), "token": secrets.token_hex(8)}
            )
            # who goes first alternates: a background load that drifts favours neither
            for generator in ("toolkit", "smtp-source")[:: -1 if i % 2 else 1]:
                if generator == "toolkit":
                    started.append(run_criteria(config))
                    run = toolkit_run(config, run_load, folder)
                else:
                    count = min(max_messages, max(200, round(rate * seconds)))
                    run = smtp_source_run(config, smtp_source, n, count, seconds * 6 + 60)
                runs.append(run)
                rate = run.rate
                settle(config, run)
    finally:
        for run in runs:  # late deliveries, or a run that stopped half-way
            run.deleted += delete_messages(base, run.criteria)
        for criteria in started[len([r for r in runs if r.generator == "toolkit load"]) :]:
            print(f"  a failed toolkit load run: {delete_messages(base, criteria)} deleted")
    return base, runs


def settle(config: LoadConfig, run: Measure) -> None:
    """Wait for the run's messages to be delivered, count and delete them: the next run
    starts with an empty queue and mailbox."""
    run.delivered = drain(config, run.criteria, run.sent)
    run.deleted = delete_messages(config, run.criteria)


def best(runs: list[Measure], generator: str, slo: Slo) -> Measure | None:
    """The run of ``generator`` with the highest rate among those that met the SLO
    (toolkit load's ceiling; smtp-source's runs are judged on their failures only)."""
    ok = [
        r for r in runs
        if r.generator == generator and r.failed <= slo.error_rate * (r.sent + r.failed)
        and r.p95_ms <= slo.p95_ms
    ]  # fmt: skip
    return max(ok, key=lambda r: r.rate, default=None)


def report(config: LoadConfig, runs: list[Measure]) -> tuple[float, float]:
    """Print the lab comparison; the two ceilings (messages a second)."""
    print(
        f"server:                       lab mail server {config.target} port "
        f"{config.smtp_port} (plain SMTP, no AUTH; Rspamd milter), to {config.account.address}"
    )
    for r in runs:
        print(
            f"  {r.generator:12s} {r.sessions:3d} sessions: {r.rate:7.1f} msg/s "
            f"({r.sent} accepted in {r.seconds:.1f} s, {r.failed} failed"
            + (f", p95 {r.p95_ms:.0f} ms" if r.p95_ms else "")
            + f"; {r.delivered} delivered, {r.deleted} deleted)"
        )
    ours, theirs = best(runs, "toolkit load", config.slo), best(runs, "smtp-source", config.slo)
    ceilings = []
    for name, run in (("toolkit load", ours), ("smtp-source", theirs)):
        rate = run.rate if run else 0.0
        ceilings.append(rate)
        at = f"{run.sessions} sessions" if run else "no run met the SLO"
        print(f"SMTP ceiling, {name + ':':15s} {rate:8.1f} msg/s ({at})")
    ratio = ceilings[0] / ceilings[1] if ceilings[1] else 0.0
    print(f"ratio toolkit / smtp-source:  {ratio:8.2f} (goal >= 0.9)")
    sent = sum(r.sent for r in runs)
    print(
        f"probe mailbox:                {sum(r.deleted for r in runs)} messages deleted "
        f"({sent} accepted within the timed windows; toolkit load's users also finish the "
        "messages under way when a step ends)"
    )
    return ceilings[0], ceilings[1]


def main() -> None:
    """Run bench/load.py --lab with the same arguments."""
    import runpy  # noqa: PLC0415
    import sys  # noqa: PLC0415

    sys.argv = [str(Path(__file__).with_name("load.py")), "--lab", *sys.argv[1:]]
    os.chdir(Path(__file__).resolve().parent.parent)
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
