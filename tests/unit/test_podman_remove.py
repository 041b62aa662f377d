"""Removing a container whose processes are slow to die under load."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import Any

import pytest

from toolkit.adapters import podman as podman_module
from toolkit.adapters.podman import Podman
from toolkit.errors import ExternalCommandError

SLOW = "Error: cannot remove container abc as it could not be stopped: given PIDs did not die within timeout"


def fake_podman(monkeypatch: pytest.MonkeyPatch, codes: list[int]) -> list[list[str]]:
    calls: list[list[str]] = []
    sleeps: list[float] = []

    def run(argv: Sequence[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(list(argv))
        code = codes.pop(0)
        return subprocess.CompletedProcess(list(argv), code, "", SLOW if code else "")

    monkeypatch.setattr(podman_module, "run", run)
    monkeypatch.setattr("toolkit.adapters.podman.time.sleep", sleeps.append)
    return calls


def test_a_container_whose_processes_die_late_is_removed_at_the_next_attempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = fake_podman(monkeypatch, [125, 0])
    Podman().remove("ttk-test-lab-visio")
    assert len(calls) == 2
    assert calls[0][:2] == ["podman", "rm"]
    assert "--force" in calls[0] and "--ignore" in calls[0]
    assert calls[0][-1] == "ttk-test-lab-visio"


def test_a_container_that_never_goes_is_one_error_naming_it_after_a_bounded_number_of_attempts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = fake_podman(monkeypatch, [125] * 4)
    with pytest.raises(ExternalCommandError, match=r"ttk-test-lab-visio.*4 attempts.*did not die"):
        Podman().remove("ttk-test-lab-visio")
    assert len(calls) == 4


def test_a_container_removed_at_once_is_asked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_podman(monkeypatch, [0])
    Podman().remove("ttk-test-lab-mail")
    assert len(calls) == 1
