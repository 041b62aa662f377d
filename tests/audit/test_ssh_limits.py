"""A hostile SSH server cannot exhaust the auditor's memory nor hang it: a command's output
is read up to a cap, every wait (the output, the exit status) ends with the command's
time limit, and a control past its own limit loses its channel and leaves the next
control the working connection. The server is paramiko's, in a thread on 127.0.0.1, with a host key made here
and pinned in a known_hosts written here: no container."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import paramiko
import pytest

from tests.audit.conftest import params, plan_for
from tests.audit.fake_ssh import fake_ssh_server
from toolkit.adapters import ssh
from toolkit.adapters.ssh import Endpoint, connect
from toolkit.audit.catalogue import Catalogue, Severity
from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params, Status
from toolkit.audit.registry import Implementation
from toolkit.audit.registry import implementations as all_implementations
from toolkit.audit.runner import Limits, audit_host

CAP = 64 * 1024
#: How long a test waits for a call that must end by itself well before (a hang guard,
#: not a measure): every time limit given to the code under test is 1 or 2 s.
GUARD = 20.0


@dataclass
class Hostile:
    """What the server did: the commands asked, bytes streamed, commands whose serving ended (stopped by the client, or done)."""

    commands: list[str] = field(default_factory=list)
    streamed: int = 0
    stream_stopped: threading.Event = field(default_factory=threading.Event)
    connections: int = 0
    ended: list[str] = field(default_factory=list)


def _serve_exec(channel: paramiko.Channel, command: str, seen: Hostile) -> None:
    try:
        if "forever" in command:  # a stream with no end and no exit status
            chunk = b"y" * 8192 + b"\n"
            while True:
                channel.sendall(chunk)
                seen.streamed += len(chunk)
        elif "trickle" in command:  # a byte now and then, forever
            while True:
                channel.sendall(b".")
                time.sleep(0.05)
        elif "no-status" in command:  # output, end of output, never an exit status
            channel.sendall(b"partial\n")
            channel.shutdown_write()
            while not channel.closed:
                time.sleep(0.05)
        elif "hang" in command:  # nothing at all
            while not channel.closed:
                time.sleep(0.05)
        else:
            channel.sendall(b"ok\n")
            channel.sendall_stderr(b"warning\n")
            channel.send_exit_status(3 if "fail" in command else 0)
            # no close here: it could overtake the server's reply to the exec request
            channel.shutdown_write()
            return
    except (OSError, EOFError):
        pass
    finally:
        seen.ended.append(command)
        if "forever" in command:
            seen.stream_stopped.set()


@dataclass
class FakeSSH:
    endpoint: Endpoint
    seen: Hostile


@pytest.fixture
def hostile_ssh(tmp_path: Path) -> Iterator[FakeSSH]:
    seen = Hostile()

    def on_exec(channel: paramiko.Channel, text: str) -> None:
        seen.commands.append(text)
        threading.Thread(target=_serve_exec, args=(channel, text, seen), daemon=True).start()

    def connected() -> None:
        seen.connections += 1

    with fake_ssh_server(tmp_path, on_exec, connected) as endpoint:
        yield FakeSSH(endpoint, seen)


def _within_guard(call: Callable[[], Any]) -> Any:
    """``call()``'s value or exception; fails if it has not returned after GUARD s."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the test below
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(GUARD)
    assert not thread.is_alive(), "the call did not return by itself"
    if "error" in box:
        raise box["error"]
    return box["value"]


def _eventually(predicate: Callable[[], bool]) -> bool:
    """Whether ``predicate`` becomes true before GUARD s (the server notices a close on
    its own thread)."""
    ends = time.monotonic() + GUARD
    while not predicate():
        if time.monotonic() > ends:
            return False
        time.sleep(0.05)
    return True


def _host(fake: FakeSSH, command_timeout: float = 2.0) -> Any:
    client = connect(fake.endpoint, timeout=5)
    return ssh.testinfra_host(client, "hostile", command_timeout, None, max_output=CAP)


def test_an_ordinary_command_gives_its_output_and_exit_status(hostile_ssh: FakeSSH) -> None:
    result = _within_guard(lambda: _host(hostile_ssh).run("fail please"))
    assert (result.rc, result.stdout, result.stderr) == (3, "ok\n", "warning\n")
    assert result.truncated is False


def test_output_streamed_forever_is_read_up_to_the_cap_and_the_command_is_stopped(
    hostile_ssh: FakeSSH,
) -> None:
    result = _within_guard(lambda: _host(hostile_ssh).run("yes forever"))
    assert result.truncated is True
    assert len(result.stdout_bytes) == CAP
    assert result.rc == -1  # it never said
    assert hostile_ssh.seen.stream_stopped.wait(GUARD), "the server still streams"
    assert hostile_ssh.seen.ended == ["yes forever"]


def test_a_command_runs_as_the_audit_account_unless_a_control_asks_for_root(
    hostile_ssh: FakeSSH,
) -> None:
    ctx = _context(hostile_ssh)
    ctx.sudo = "sudo -n"
    _within_guard(lambda: ctx.run("fail please"))
    _within_guard(lambda: ctx.run("fail again", sudo=True))
    assert hostile_ssh.seen.commands[-2:] == [
        "fail please",
        "sudo -n /bin/sh -c 'fail again'",
    ]


def test_a_command_that_never_sends_its_exit_status_times_out(hostile_ssh: FakeSSH) -> None:
    host = _host(hostile_ssh, command_timeout=1.0)
    with pytest.raises(TimeoutError, match=r"not finished in 1 s"):
        _within_guard(lambda: host.run("no-status"))


def test_a_command_trickling_output_forever_is_stopped_at_the_time_limit(
    hostile_ssh: FakeSSH,
) -> None:
    host = _host(hostile_ssh, command_timeout=1.0)
    with pytest.raises(TimeoutError, match=r"not finished in 1 s"):
        _within_guard(lambda: host.run("trickle"))


def _context(fake: FakeSSH) -> Context:
    client = connect(fake.endpoint, timeout=5)
    ctx = Context(
        name="hostile",
        address="127.0.0.1",
        ssh_address="127.0.0.1",
        ssh_port=fake.endpoint.port,
        tls_ports=(),
        http_ports=(),
        probe_timeout=1.0,
    )
    ctx.host = ssh.testinfra_host(client, "hostile", 2.0, None, max_output=CAP)
    ctx.sudo = "forever"  # the server streams forever whatever the control asks as root
    return ctx


def test_a_control_given_a_cut_answer_is_an_error_that_says_where_it_was_cut(
    hostile_ssh: FakeSSH, catalogue: Catalogue
) -> None:
    ctx = _context(hostile_ssh)
    with pytest.raises(ControlError, match=rf"output cut at {CAP} bytes \(--max-output\)"):
        _within_guard(
            lambda: all_implementations()["LNX-06"].check(ctx, params(catalogue, "LNX-06"))
        )
    assert ctx.evidence[-1].excerpt.endswith(f"[output cut at {CAP} bytes]")


def test_after_a_control_times_out_the_next_one_runs_over_the_same_connection(
    hostile_ssh: FakeSSH, catalogue: Catalogue
) -> None:
    def hangs(ctx: Context, p: Params) -> Outcome:
        ctx.run("hang")
        return Outcome.passed("never")

    def asks(ctx: Context, p: Params) -> Outcome:
        return Outcome.passed(ctx.output("echo ready").strip())

    plan = replace(
        plan_for(catalogue, "hostile", ["LNX-07", "LNX-11"]), endpoint=hostile_ssh.endpoint
    )
    host = _within_guard(
        lambda: audit_host(
            plan,
            {
                "LNX-07": Implementation("LNX-07", hangs, needs_ssh=True),
                "LNX-11": Implementation("LNX-11", asks, needs_ssh=True),
            },
            [],
            limits=Limits(workers=1, connect=5, command=10, control=1, host=60, host_concurrency=1),
            fail_on=Severity.HIGH,
            today=date(2026, 11, 23),
        )
    )
    assert [(r.status, r.summary) for r in host.results] == [
        (Status.ERROR, "timed out after 1 s"),
        (Status.PASS, "ok"),
    ]
    assert host.reachable
    assert hostile_ssh.seen.connections == 1  # not broken: kept
    # the abandoned command was stopped with its channel
    assert _eventually(lambda: any("hang" in c for c in hostile_ssh.seen.ended))


def test_the_audit_command_passes_max_output_to_the_runner(
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
    result = CliRunner().invoke(cli, ["audit", "-i", str(tmp_path), "--max-output", "65536"])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert seen[0].limits.max_output == 65536
