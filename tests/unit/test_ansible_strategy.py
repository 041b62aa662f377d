"""Every playbook the toolkit runs uses Mitogen's strategy, unless the operator chose one."""

from __future__ import annotations

import pytest

from toolkit.adapters import ansible
from toolkit.adapters.ansible import MITOGEN_STRATEGY, ansible_env, strategy_env


def test_mitogen_is_installed_with_the_toolkit_and_its_strategy_found() -> None:
    folder = ansible.mitogen_strategy_dir()
    assert folder is not None
    assert (folder / f"{MITOGEN_STRATEGY}.py").is_file()


def test_the_toolkit_runs_playbooks_with_mitogen_linear_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANSIBLE_STRATEGY", raising=False)
    monkeypatch.setenv("ANSIBLE_STRATEGY_PLUGINS", "/srv/site/strategies")
    env = strategy_env(ansible_env())
    assert env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    folders = env["ANSIBLE_STRATEGY_PLUGINS"].split(":")
    assert folders == [str(ansible.mitogen_strategy_dir()), "/srv/site/strategies"]


def test_a_strategy_the_operator_chose_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSIBLE_STRATEGY", "linear")
    assert strategy_env(ansible_env()) == {}
    assert strategy_env({"ANSIBLE_STRATEGY": "free"}) == {}


def test_without_mitogen_ansible_keeps_its_own_strategy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ansible, "mitogen_strategy_dir", lambda: None)
    assert strategy_env({}) == {}
