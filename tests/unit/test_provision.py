"""`toolkit provision` shows what Ansible says as text, and never leaves ansible-playbook
running behind it (a fake ansible-playbook writes the callback's events)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from toolkit import provision
from toolkit.cli.main import cli
from toolkit.errors import ExternalCommandError
from toolkit.provision import parse_event, run_playbook

FAKE = """\
import json, os, sys, time
events = os.environ["TOOLKIT_EVENTS_FILE"]
with open(sys.argv[-1] + ".pid", "w") as f:
    f.write(str(os.getpid()))
plan = json.load(open(os.environ["FAKE_PLAN"]))
with open(events, "a") as out:
    for line in plan["lines"]:
        out.write(line + "\\n")
        out.flush()
time.sleep(plan["sleep"])
sys.exit(plan["rc"])
"""


def _event(kind: str, **data: Any) -> str:
    return json.dumps({"event": kind, "time": 0, **data})


@pytest.fixture
def fake_playbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make ansible-playbook a script that writes the given event lines, sleeps, exits."""
    script = tmp_path / "ansible-playbook"
    script.write_text(f"#!{sys.executable}\n{FAKE}")
    script.chmod(0o755)
    monkeypatch.setattr(provision, "tool", lambda _name: str(script))
    monkeypatch.setenv("TOOLKIT_PROJECT_DIR", str(tmp_path))  # logs under tmp_path/.cache
    (tmp_path / "inventory").mkdir()

    def plan(lines: list[str], *, sleep: float = 0.0, rc: int = 0) -> Path:
        path = tmp_path / "plan.json"
        path.write_text(json.dumps({"lines": lines, "sleep": sleep, "rc": rc}))
        monkeypatch.setenv("FAKE_PLAN", str(path))
        return tmp_path / "site.yml.pid"

    return plan


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_message_holding_rich_markup_is_printed_as_text_not_parsed(
    fake_playbook: Any, tmp_path: Path
) -> None:
    fake_playbook(
        [
            _event("play", name="Play [/x] \x1b[2J", hosts=["h1"]),
            _event("task", name="Task [bold]"),
            _event("result", host="h1", task="Task [/]", status="failed", msg="bad [/x] end"),
            _event("stats", hosts={"h1": {"ok": 0, "changed": 0, "failures": 1}}),
        ],
        rc=2,
    )
    result = CliRunner().invoke(
        cli,
        ["provision", "-i", str(tmp_path / "inventory"), "--playbook", "site.yml"],
    )
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert "Play [/x] \\x1b[2J" in result.output
    assert "failed h1: Task [/]: bad [/x] end" in result.output
    assert "\x1b[2J" not in result.output


def test_ansible_playbook_is_ended_when_the_display_raises(
    fake_playbook: Any, tmp_path: Path
) -> None:
    pid_file = fake_playbook([_event("task", name="t")], sleep=60)

    def explode(_event: dict[str, Any]) -> None:
        raise RuntimeError("display broke")

    with pytest.raises(RuntimeError, match="display broke"):
        run_playbook(tmp_path / "inventory", "site.yml", on_event=explode, timeout=30)
    pid = int(pid_file.read_text())
    assert not _alive(pid)


def test_ansible_playbook_is_ended_at_the_timeout(fake_playbook: Any, tmp_path: Path) -> None:
    pid_file = fake_playbook([], sleep=60)
    started = time.monotonic()
    with pytest.raises(ExternalCommandError, match="still running after 1 s"):
        run_playbook(tmp_path / "inventory", "site.yml", timeout=1)
    assert time.monotonic() - started < 30
    assert not _alive(int(pid_file.read_text()))


def test_lines_that_are_not_the_callbacks_events_are_skipped(
    fake_playbook: Any, tmp_path: Path
) -> None:
    fake_playbook(
        [
            "not json",
            json.dumps({"event": "result", "host": 3}),
            json.dumps(["a list"]),
            _event("stats", hosts={"h1": {"ok": 4, "changed": "x"}, "h2": "broken"}),
        ]
    )
    seen: list[dict[str, Any]] = []
    result = run_playbook(tmp_path / "inventory", "site.yml", on_event=seen.append, timeout=30)
    assert [e["event"] for e in seen] == ["stats"]
    assert (result.hosts["h1"].ok, result.hosts["h1"].changed) == (4, 0)
    assert "h2" not in result.hosts


@pytest.mark.parametrize(
    "line",
    ["", "{", "[]", "null", '{"event": "task"}', '{"event": "play", "name": "p", "hosts": 1}'],
)
def test_a_malformed_event_is_none(line: str) -> None:
    assert parse_event(line) is None
