"""The roster reaches Ansible through the telework_roster vars plugin, and the
toolkit_events callback reports a playbook run (real ansible commands, local connection)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import HEADER
from toolkit.adapters.ansible import ansible_env, load_inventory, tool
from toolkit.adapters.process import run
from toolkit.errors import InvalidInputError
from toolkit.provision import run_playbook
from toolkit.roster.source import MAX_ROSTER_BYTES


def test_ansible_sees_the_validated_roster_as_telework_roster(env_dir: Path) -> None:
    proc = run(
        [
            tool("ansible"),
            "localhost",
            "-i",
            str(env_dir),
            "-m",
            "ansible.builtin.debug",
            "-a",
            "msg={{ telework_roster | selectattr('status', 'eq', 'active') | "
            "map(attribute='name_arabic') | list | to_json }}",
        ],
        env=ansible_env(
            {
                "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
                "ANSIBLE_CALLBACKS_ENABLED": "toolkit_events",
                "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
            }
        ),
    )
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    assert json.loads(result) == ["أمينة بنعلي", "يوسف الإدريسي", "خديجة الوزاني"]


def test_ansible_gets_devices_and_groups_as_lists(env_dir: Path) -> None:
    hosts = load_inventory(env_dir)
    youssef = next(t for t in hosts["localhost"].vars["telework_roster"] if t["id"] == "a2")
    assert youssef["equipment"] == [
        {"kind": "laptop", "name": "lt-2"},
        {"kind": "phone", "name": "ph-2"},
    ]
    assert youssef["vpn_groups"] == ["staff", "finance"]
    assert youssef["approved_on"] == "2026-09-01"


def test_e1_an_invalid_roster_stops_ansible_before_anything_runs(env_dir: Path) -> None:
    roster = env_dir / "roster.csv"
    roster.write_text(
        f"{HEADER}\nn1,N,ن,n1@example.gov.ma,dsi,partial,mon,,,laptop:n1,staff,active\n"
    )
    with pytest.raises(InvalidInputError) as caught:
        load_inventory(env_dir)
    message = str(caught.value)
    assert "invalid roster, nothing applied" in message
    assert f"{roster}:2: approved_on: missing approval date" in message


def _unterminated_quote(roster: Path) -> str:
    roster.write_text(f'{HEADER}\nz8,"Omar\n' + ("x" * 1023 + "\n") * 200)
    return f"{roster}:2: -: a value runs past the CSV reader's limit"


def _over_the_size_limit(roster: Path) -> str:
    roster.write_text(f"{HEADER}\n")
    os.truncate(roster, MAX_ROSTER_BYTES + 1)  # sparse
    return f"{roster}:1: -: 67,108,865 bytes, over the 64 MiB a roster may have"


@pytest.mark.parametrize(
    "spoil", [_unterminated_quote, _over_the_size_limit], ids=["unterminated-quote", "over-64-MiB"]
)
def test_a_roster_too_big_to_be_one_stops_ansible_with_a_clear_error(
    env_dir: Path, spoil: Callable[[Path], str]
) -> None:
    expected = spoil(env_dir / "roster.csv")
    with pytest.raises(InvalidInputError) as caught:
        load_inventory(env_dir)
    message = str(caught.value)
    assert "invalid roster, nothing applied" in message
    assert expected in message
    assert "Traceback" not in message and "_csv.Error" not in message


def test_the_event_callback_reports_results_and_failures(
    env_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- name: Events\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Succeed\n      ansible.builtin.command: 'true'\n      changed_when: true\n"
        "    - name: Fail on purpose\n      ansible.builtin.fail:\n        msg: broken here\n"
    )
    monkeypatch.chdir(tmp_path)
    events: list[dict[str, object]] = []
    result = run_playbook(env_dir, str(playbook), on_event=events.append, timeout=120)
    assert result.returncode == 2
    summary = result.hosts["localhost"]
    assert (summary.ok, summary.changed, summary.failed) == (1, 1, 1)
    assert summary.last_error == "Fail on purpose: broken here"
    assert [e["event"] for e in events][:2] == ["play", "task"]
    assert result.log_file is not None and "broken here" in result.log_file.read_text()
