"""Ansible callback: every play, task, host result and the final stats as JSON lines in
the file named by TOOLKIT_EVENTS_FILE, for `toolkit provision` to show progress and a
summary. Does nothing when that variable is unset."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: toolkit_events
    type: notification
    short_description: JSON lines of play, task and host events for the toolkit
    description:
      - Appends one JSON object a line to the file named by TOOLKIT_EVENTS_FILE.
    requirements:
      - enabled in callbacks_enabled (toolkit provision does it)
"""


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "toolkit_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        path = os.environ.get("TOOLKIT_EVENTS_FILE")
        self._out = open(path, "a", encoding="utf-8", buffering=1) if path else None  # noqa: SIM115

    def _emit(self, event: str, **data: Any) -> None:
        if self._out is not None:
            self._out.write(json.dumps({"event": event, "time": time.time(), **data}) + "\n")

    def v2_playbook_on_play_start(self, play: Any) -> None:
        hosts = play.get_variable_manager()._inventory.get_hosts(play.hosts)
        self._emit("play", name=play.get_name(), hosts=[h.get_name() for h in hosts])

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._emit("task", name=task.get_name())

    def _result(self, status: str, result: Any) -> None:
        res = result._result
        self._emit(
            "result",
            host=result._host.get_name(),
            task=result._task.get_name(),
            status=status,
            changed=bool(res.get("changed")),
            msg=str(res.get("msg", ""))[:500] if status in ("failed", "unreachable") else "",
        )

    def v2_runner_on_ok(self, result: Any) -> None:
        self._result("ok", result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._result("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._result("skipped", result)

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._result("unreachable", result)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        hosts = sorted(stats.processed.keys())
        self._emit("stats", hosts={h: stats.summarize(h) for h in hosts})
        if self._out is not None:
            self._out.close()
            self._out = None
