"""A host's controls run at once over its one SSH connection, a channel each, never more
than ``host_concurrency`` channels open; a control past its time limit loses its own
channel and no other control is disturbed; results keep the plan's order; a command two
controls ask at once runs once; a broken connection is replaced for the controls after.

The server is paramiko's, in a thread on 127.0.0.1 (as in test_ssh_limits.py): it notes
when each command started and ended on its side, and how many channels were open at once.
Commands: ``sleep-S NAME`` answers NAME after S seconds, ``hang`` never answers, ``drop``
closes the whole connection, anything else answers at once."""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import paramiko
import pytest

from tests.audit.conftest import FakeHost, fake_context, params, plan_for
from tests.audit.fake_ssh import OnExec, fake_ssh_server
from tests.audit.test_vpn_software_controls import gateway
from toolkit.adapters.ssh import Endpoint
from toolkit.audit.catalogue import Catalogue, Severity
from toolkit.audit.context import Context
from toolkit.audit.model import Outcome, Params, Status
from toolkit.audit.registry import Implementation, implementations
from toolkit.audit.results import HostResult
from toolkit.audit.runner import Limits, audit_host
from toolkit.controls.linux import APT_SIMULATION

CONTROLS = ["LNX-01", "LNX-02", "LNX-03", "LNX-05", "LNX-06", "LNX-07", "LNX-10", "LNX-11"]
#: A hang guard only (each test's controls end by themselves well before).
GUARD = 20.0


@dataclass
class Seen:
    """The server's side: each command's start and end (monotonic), channels open."""

    started: dict[str, float] = field(default_factory=dict)
    ended: dict[str, float] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    channels: list[paramiko.Channel] = field(default_factory=list)
    peak: int = 0
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _serve(channel: paramiko.Channel, command: str, seen: Seen) -> None:
    with seen.lock:
        seen.started[command] = time.monotonic()
    try:
        if command.startswith("sleep-"):
            delay, _, name = command.removeprefix("sleep-").partition(" ")
            time.sleep(float(delay))
            _end(seen, command)  # before the answer: the client may return as soon as it has it
            channel.sendall(f"{name}\n".encode())
        elif command == "hang":
            while not channel.closed:
                time.sleep(0.02)
        elif command == "drop":
            channel.get_transport().close()
            return
        else:
            channel.sendall(b"ok\n")
        channel.send_exit_status(0)
        channel.shutdown_write()
    except (OSError, EOFError):
        pass
    finally:
        _end(seen, command)


def _end(seen: Seen, command: str) -> None:
    """The command's end, kept once: when its answer was ready, or when it stopped."""
    with seen.lock:
        seen.ended.setdefault(command, time.monotonic())


def _on_exec(seen: Seen) -> OnExec:
    def on_exec(channel: paramiko.Channel, text: str) -> None:
        if text.startswith("sudo -n /bin/sh -c "):  # the adapter's wrapping: the command
            text = shlex.split(text)[-1]
        with seen.lock:
            seen.asked.append(text)
            # the transport thread handles a close before the next open: closed is current
            seen.channels = [c for c in seen.channels if not c.closed] + [channel]
            seen.peak = max(seen.peak, len(seen.channels))
        threading.Thread(target=_serve, args=(channel, text, seen), daemon=True).start()

    return on_exec


@dataclass
class Fake:
    endpoint: Endpoint
    seen: Seen


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Fake]:
    seen = Seen()

    def connected() -> None:
        seen.connections += 1

    with fake_ssh_server(tmp_path, _on_exec(seen), connected) as endpoint:
        yield Fake(endpoint, seen)


def asking(command: str) -> Callable[[Context, Params], Outcome]:
    def check(ctx: Context, p: Params) -> Outcome:
        return Outcome.passed(ctx.output(command).strip())

    return check


def audit(
    fake: Fake,
    catalogue: Catalogue,
    checks: dict[str, Callable[[Context, Params], Outcome]],
    *,
    host_concurrency: int,
    control: float = 10.0,
) -> HostResult:
    plan = replace(plan_for(catalogue, "srv1", list(checks)), endpoint=fake.endpoint)
    box: dict[str, HostResult] = {}

    def run() -> None:
        box["host"] = audit_host(
            plan,
            {cid: Implementation(cid, check, needs_ssh=True) for cid, check in checks.items()},
            [],
            limits=Limits(
                workers=1, connect=5, command=10, control=control, host_concurrency=host_concurrency
            ),
            fail_on=Severity.HIGH,
            today=date(2026, 11, 25),
        )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GUARD)
    assert not thread.is_alive(), "the audit of the host did not end by itself"
    return box["host"]


def test_the_controls_of_a_host_run_at_the_same_time_over_one_connection(
    server: Fake, catalogue: Catalogue
) -> None:
    checks = {cid: asking(f"sleep-0.5 {cid}") for cid in CONTROLS[:6]}
    host = audit(server, catalogue, checks, host_concurrency=6)
    assert [(r.control, r.status, r.summary) for r in host.results] == [
        (cid, Status.PASS, cid) for cid in CONTROLS[:6]
    ]
    assert server.seen.connections == 1
    # every command had started on the server before any of them ended
    assert max(server.seen.started.values()) < min(server.seen.ended.values())


def test_no_more_channels_than_host_concurrency_are_open_at_once(
    server: Fake, catalogue: Catalogue
) -> None:
    checks = {cid: asking(f"sleep-0.3 {cid}") for cid in CONTROLS}
    host = audit(server, catalogue, checks, host_concurrency=3)
    assert [r.status for r in host.results] == [Status.PASS] * len(CONTROLS)
    assert len(server.seen.asked) == len(CONTROLS)
    assert server.seen.peak == 3


def test_a_control_past_its_time_limit_loses_its_channel_and_the_others_go_on(
    server: Fake, catalogue: Catalogue
) -> None:
    checks = {
        "LNX-01": asking("hang"),  # abandoned after 2 s
        "LNX-02": asking("sleep-0.8 short"),
        "LNX-03": asking("sleep-1.6 long"),  # starts after short: running at 2 s
    }
    host = audit(server, catalogue, checks, host_concurrency=2, control=2.0)
    assert [(r.status, r.summary) for r in host.results] == [
        (Status.ERROR, "timed out after 2 s"),
        (Status.PASS, "short"),
        (Status.PASS, "long"),
    ]
    assert host.results[0].evidence == []
    seen = server.seen
    assert seen.connections == 1  # not broken: kept
    # the hanging command's channel was closed while the long one was running
    assert seen.started["sleep-1.6 long"] < seen.ended["hang"] < seen.ended["sleep-1.6 long"]


def test_results_keep_the_plan_order_whatever_order_they_finish_in(
    server: Fake, catalogue: Catalogue
) -> None:
    # the first control is the slowest: run at once, they finish in reverse order
    checks = {cid: asking(f"sleep-{0.1 * (6 - i):.1f} {cid}") for i, cid in enumerate(CONTROLS[:6])}
    sequential = audit(server, catalogue, checks, host_concurrency=1)
    server.seen.ended.clear()
    concurrent = audit(server, catalogue, checks, host_concurrency=6)

    def shown(host: HostResult) -> list[tuple[str, Status, str, list[str]]]:
        return [
            (r.control, r.status, r.summary, [e.probe for e in r.evidence]) for r in host.results
        ]

    assert shown(concurrent) == shown(sequential)
    assert [r.control for r in concurrent.results] == CONTROLS[:6]
    finished = sorted(server.seen.ended, key=server.seen.ended.__getitem__)
    assert (
        finished == [f"sleep-{0.1 * (6 - i):.1f} {cid}" for i, cid in enumerate(CONTROLS[:6])][::-1]
    )


def test_a_command_two_controls_ask_at_once_runs_once(server: Fake, catalogue: Catalogue) -> None:
    shared = asking("sleep-0.3 shared")
    host = audit(server, catalogue, {"LNX-01": shared, "LNX-05": shared}, host_concurrency=2)
    assert [(r.status, r.summary) for r in host.results] == [(Status.PASS, "shared")] * 2
    assert server.seen.asked == ["sleep-0.3 shared"]
    # each control still shows the command in its own evidence
    assert [[e.probe for e in r.evidence] for r in host.results] == [["sleep-0.3 shared"]] * 2


def test_a_broken_connection_is_replaced_for_the_controls_after_it(
    server: Fake, catalogue: Catalogue
) -> None:
    host = audit(
        server,
        catalogue,
        {"LNX-01": asking("drop"), "LNX-02": asking("echo ready")},
        host_concurrency=1,
    )
    first, second = host.results
    assert first.status is Status.ERROR
    assert "SSH failed" in first.summary
    assert (second.status, second.summary) == (Status.PASS, "ok")
    assert host.reachable
    assert server.seen.connections == 2


def test_lnx01_and_vpn01_asking_at_once_share_one_apt_simulation(catalogue: Catalogue) -> None:
    answers = {
        "dpkg-query.*unattended": "install ok installed",
        "apt-config shell": "UPD='1'\nUU='1'\n",
        "is-enabled apt-daily": "enabled\nenabled\n",
        "lists": "3600 /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease\n",
        **gateway(),
    }
    ctx = fake_context(answers)
    host = ctx.host
    assert isinstance(host, FakeHost)
    both_started = threading.Barrier(2, timeout=GUARD)

    def answer(command: str) -> Any:
        if "apt-get -s" in command:
            time.sleep(0.5)  # the other control asks meanwhile
        return FakeHost.run(host, command)

    host.run = answer  # type: ignore[method-assign]
    impls = implementations()
    outcomes: dict[str, Outcome] = {}

    def check(control: str) -> None:
        view = ctx.for_control()
        both_started.wait()
        outcomes[control] = impls[control].check(view, params(catalogue, control))

    threads = [threading.Thread(target=check, args=(c,)) for c in ("LNX-01", "VPN-01")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(GUARD)
    assert [c for c in host.commands if "apt-get -s" in c] == [APT_SIMULATION]
    assert {c: o.status for c, o in outcomes.items()} == {
        "LNX-01": Status.PASS,
        "VPN-01": Status.PASS,
    }


def test_the_audit_command_passes_host_concurrency_to_the_runner(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from toolkit.audit import engine
    from toolkit.cli.main import cli
    from toolkit.errors import ToolkitError
    from toolkit.exitcodes import ExitCode

    seen: list[engine.Options] = []

    def prepare(options: engine.Options) -> engine.Prepared:
        seen.append(options)
        raise ToolkitError("stop here", exit_code=ExitCode.USAGE)

    monkeypatch.setattr(engine, "prepare", prepare)
    result = CliRunner().invoke(cli, ["audit", "-i", str(tmp_path), "--host-concurrency", "3"])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert seen[0].limits.host_concurrency == 3
    too_many = CliRunner().invoke(cli, ["audit", "-i", str(tmp_path), "--host-concurrency", "11"])
    assert too_many.exit_code == ExitCode.USAGE
