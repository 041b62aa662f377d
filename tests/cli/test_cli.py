"""The toolkit command as a person types it (click's CliRunner)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import HEADER
from toolkit.cli.main import cli
from toolkit.exitcodes import ExitCode


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_help_lists_every_command_group(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for group in ("lab", "roster", "provision", "audit", "vpn"):
        assert f"  {group} " in result.output


def test_an_unknown_option_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["roster", "validate", "--colour"])
    assert result.exit_code == ExitCode.USAGE
    assert "No such option '--colour'" in result.output


def test_an_unknown_environment_is_a_usage_error_naming_the_known_ones(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["roster", "validate", "--env", "prod"])
    assert result.exit_code == ExitCode.USAGE
    assert "--env prod: no such environment" in result.stderr
    assert "known: lab" in result.stderr


def test_roster_validate_accepts_a_good_roster(runner: CliRunner, env_dir: Path) -> None:
    result = runner.invoke(cli, ["roster", "validate", "-i", str(env_dir)])
    assert result.exit_code == 0, result.output
    assert "4 teleworkers (3 active, 1 revoked), 0 warnings: valid" in result.stdout


def test_roster_validate_reports_every_problem_and_exits_4(
    runner: CliRunner, env_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "hr-export.csv"
    bad.write_text(
        f"{HEADER}\n"
        "x1,X,س,x1@example.gov.ma,legal,partial,mon,2026-09-01,C,laptop:x1,staff,active\n"
        "x2,X,س,x2@example.gov.ma,dsi,partial,mon,,,laptop:x2,staff,active\n"
    )
    result = runner.invoke(cli, ["roster", "validate", "-i", str(env_dir), str(bad)])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stderr.splitlines() == [
        f"{bad}:2: unit: unknown unit 'legal' (declared: dsi, finance)",
        f"{bad}:3: approved_by: missing approver: telework needs prior approval (E1)",
        f"{bad}:3: approved_on: missing approval date: telework needs prior approval (E1)",
        "invalid input: nothing was applied",
    ]


def test_roster_validate_prints_warnings_but_succeeds(runner: CliRunner, env_dir: Path) -> None:
    roster = env_dir / "roster.csv"
    roster.write_text(
        f"{HEADER}\nw1,W,و,w1@example.gov.ma,dsi,partial,mon,2026-09-01,C,,staff,active\n"
    )
    result = runner.invoke(cli, ["roster", "validate", "-i", str(env_dir)])
    assert result.exit_code == 0
    assert f"{roster}:2: equipment: warning: no device" in result.stdout


def test_c3_roster_check_shows_the_week_and_passes(runner: CliRunner, env_dir: Path) -> None:
    result = runner.invoke(cli, ["roster", "check", "-i", str(env_dir), "--week-of", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert "C3 on-site head-count, week of 2026-11-23" in result.stdout
    assert "finance" in result.stdout


def test_c3_roster_check_exits_3_and_names_the_day_a_unit_is_short(
    runner: CliRunner, env_dir: Path
) -> None:
    (env_dir / "roster.csv").write_text(
        f"{HEADER}\n"
        + "".join(
            f"f{i},F,ف,f{i}@example.gov.ma,finance,partial,wed,2026-09-01,C,laptop:f{i},staff,active\n"
            for i in range(2)
        )
    )
    result = runner.invoke(cli, ["roster", "check", "-i", str(env_dir), "--week-of", "2026-11-25"])
    assert result.exit_code == ExitCode.CHECK_FAILED
    assert "C3: finance on wed 2026-11-25: 2 on site at 08:30-16:30, minimum 3" in result.stdout


def test_c3_roster_check_as_json(runner: CliRunner, env_dir: Path) -> None:
    result = runner.invoke(
        cli, ["roster", "check", "-i", str(env_dir), "--week-of", "2026-11-23", "--json"]
    )
    rows = json.loads(result.stdout)
    monday_finance = next(r for r in rows if r["unit"] == "finance" and r["weekday"] == "mon")
    assert monday_finance == {
        "unit": "finance",
        "date": "2026-11-23",
        "weekday": "mon",
        "staff": 4,
        "min_onsite": 3,
        "onsite": 4,
        "ok": True,
        "lowest_at": None,
    }
    tuesday_finance = next(r for r in rows if r["unit"] == "finance" and r["weekday"] == "tue")
    assert (tuesday_finance["onsite"], tuesday_finance["lowest_at"]) == (3, "08:30-12:30")


def test_lab_commands_reject_a_bad_lab_inventory_naming_the_fields(
    runner: CliRunner, tmp_path: Path
) -> None:
    inv = tmp_path / "badlab"
    inv.mkdir()
    (inv / "hosts.yml").write_text(
        "all:\n  vars: {lab_name: t-lab, ansible_host: 127.0.0.1}\n  hosts:\n"
        "    one: {ansible_port: 80}\n    two: {ansible_port: 2300, lab_release: sid}\n"
        "    three: {ansible_port: 2300, ansible_host: 10.0.0.5}\n"
    )
    result = runner.invoke(cli, ["lab", "status", "-i", str(inv)])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert f"{inv}/hosts.yml:4: one.ansible_port: 80 is not a port between 1024 and 65535" in (
        result.stderr
    )
    assert "three.ansible_host: lab hosts are reached on 127.0.0.1 only" in result.stderr
    assert "two.ansible_port: 2300 already used by three" in result.stderr
    assert "two.lab_release: 'sid' is not one of bookworm, trixie" in result.stderr


def test_lab_status_of_a_lab_not_started_shows_absent_hosts_and_exits_5(
    runner: CliRunner, tmp_path: Path
) -> None:
    inv = tmp_path / "lab"
    inv.mkdir()
    (inv / "hosts.yml").write_text(
        "all:\n  vars: {lab_name: never-started, ansible_host: 127.0.0.1}\n"
        "  hosts:\n    solo: {ansible_port: 2399}\n"
    )
    result = runner.invoke(cli, ["lab", "status", "-i", str(inv), "--json"])
    assert result.exit_code == ExitCode.UNREACHABLE
    assert json.loads(result.stdout) == [
        {
            "host": "solo",
            "container": "never-started-solo",
            "state": "absent",
            "ssh": "",
            "port": 2399,
            "groups": [],
            "release": "bookworm",
        }
    ]


@pytest.fixture
def playbook_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, object]]]:
    """Playbooks the command would run, recorded instead of run."""
    runs: list[tuple[str, dict[str, object]]] = []

    def record(inventory: Path, playbook: str, **kwargs: object) -> None:
        runs.append((playbook, kwargs))

    monkeypatch.setattr("toolkit.cli.roster.run_with_progress", record)
    return runs


def test_c5_roster_revoke_edits_the_roster_lists_equipment_and_applies_it_at_once(
    runner: CliRunner, env_dir: Path, playbook_runs: list[tuple[str, dict[str, object]]]
) -> None:
    result = runner.invoke(
        cli, ["roster", "revoke", "-i", str(env_dir), "a2", "--reason", "Fin de mission"]
    )
    assert result.exit_code == 0, result.output
    assert "a2 (Youssef Idrissi) revoked" in result.output
    assert "E27 equipment to return: laptop:lt-2, phone:ph-2" in result.output
    assert ",staff finance,revoked" in (env_dir / "roster.csv").read_text(encoding="utf-8")
    assert [p for p, _ in playbook_runs] == ["playbooks/roster_sync.yml"]


def test_c5_roster_revoke_with_no_sync_only_edits_the_roster(
    runner: CliRunner, env_dir: Path, playbook_runs: list[tuple[str, dict[str, object]]]
) -> None:
    result = runner.invoke(
        cli, ["roster", "revoke", "-i", str(env_dir), "a1", "--reason", "x", "--no-sync"]
    )
    assert result.exit_code == 0, result.output
    assert "run `toolkit roster sync`" in result.output
    assert playbook_runs == []


def test_roster_revoke_of_an_unknown_id_exits_4_and_applies_nothing(
    runner: CliRunner, env_dir: Path, playbook_runs: list[tuple[str, dict[str, object]]]
) -> None:
    before = (env_dir / "roster.csv").read_bytes()
    result = runner.invoke(cli, ["roster", "revoke", "-i", str(env_dir), "nobody", "--reason", "x"])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "roster.csv:1: id: no teleworker 'nobody' in the roster" in result.output
    assert (env_dir / "roster.csv").read_bytes() == before
    assert playbook_runs == []


def test_roster_revoke_without_a_reason_is_a_usage_error(runner: CliRunner, env_dir: Path) -> None:
    result = runner.invoke(cli, ["roster", "revoke", "-i", str(env_dir), "a1"])
    assert result.exit_code == ExitCode.USAGE
    assert "--reason" in result.output


def test_roster_sync_validates_the_roster_before_running_anything(
    runner: CliRunner, env_dir: Path, playbook_runs: list[tuple[str, dict[str, object]]]
) -> None:
    roster = env_dir / "roster.csv"
    roster.write_text(roster.read_text(encoding="utf-8").replace(",dsi,", ",nowhere,", 1))
    result = runner.invoke(cli, ["roster", "sync", "-i", str(env_dir)])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "unit: unknown unit 'nowhere'" in result.output
    assert playbook_runs == []


def test_roster_sync_runs_the_sync_playbook_with_check_and_diff(
    runner: CliRunner, env_dir: Path, playbook_runs: list[tuple[str, dict[str, object]]]
) -> None:
    result = runner.invoke(cli, ["roster", "sync", "-i", str(env_dir), "--check", "--diff"])
    assert result.exit_code == 0, result.output
    assert playbook_runs == [
        ("playbooks/roster_sync.yml", {"check": True, "diff": True, "what": "roster sync"})
    ]


def _unterminated_quote(path: Path) -> Path:
    path.write_text(f'{HEADER}\nz8,"Omar\n' + ("x" * 1023 + "\n") * 200)
    return path


def _over_the_size_limit(path: Path) -> Path:
    from toolkit.roster.source import MAX_ROSTER_BYTES

    path.write_text(f"{HEADER}\n")
    os.truncate(path, MAX_ROSTER_BYTES + 1)  # sparse
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_unterminated_quote, ":2: -: a value runs past the CSV reader's limit"),
        (_over_the_size_limit, ":1: -: 67,108,865 bytes, over the 64 MiB a roster may have"),
    ],
    ids=["unterminated-quote", "over-64-MiB"],
)
def test_roster_validate_refuses_a_file_too_big_to_be_a_roster_with_one_message_and_exit_4(
    runner: CliRunner, env_dir: Path, make: Callable[[Path], Path], message: str
) -> None:
    bad = make(env_dir / "roster.csv")
    result = runner.invoke(cli, ["roster", "validate", "-i", str(env_dir)])
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{bad}{message}"), lines
    assert lines[1] == "invalid input: nothing was applied"
    assert "Traceback" not in result.output


def test_roster_validate_never_echoes_an_escape_sequence_or_a_bidi_override_raw(
    runner: CliRunner, env_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "export\x1b[2J\u202e.csv"
    bad.write_text(
        f"{HEADER}\n"
        "x1,X,س,x1@example.gov.ma,dsi,partial,mon,2026-09-01,C,laptop:x1,"
        '"staff \x1b]0;pwned\x07 fi\u202enance",active\n'
    )
    result = runner.invoke(cli, ["roster", "validate", "-i", str(env_dir), str(bad)])
    assert result.exit_code == ExitCode.INVALID_INPUT
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in result.output
    shown = "export\\x1b[2J\\u202e.csv:2: vpn_groups: contains U+001B, U+0007, U+202E"
    assert result.stderr.startswith(str(tmp_path) + "/" + shown)
