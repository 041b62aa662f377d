"""What a load run may do, decided before anything runs: rising steps within the bounds,
the ceiling as the highest step whose steps below all met the SLO, and a target outside
the inventory refused by the command with exit code 2."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from tests.conftest import REPO
from toolkit.adapters.ansible import load_inventory
from toolkit.cli.main import cli
from toolkit.exitcodes import ExitCode
from toolkit.load.config import MAX_USERS, LoadConfig, Probe, Slo
from toolkit.load.results import LoadResult, RequestStats, StepResult
from toolkit.load.settings import inventory_hosts, platform_host, probe_from_inventory

PROBE = Probe(login="p", address="p@lab.telework.test", password_file="/nonexistent")


def config(**changes: object) -> LoadConfig:
    base: dict[str, object] = {
        "target": "127.0.0.1", "server_name": "localhost", "probe": PROBE,
        "steps": (10, 20), "step_seconds": 10,
    }  # fmt: skip
    return LoadConfig.model_validate({**base, **changes})


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"steps": (20, 10)}, "steps must go up"),
        ({"steps": (MAX_USERS + 1,)}, "each step has 1 to"),
        ({"steps": (10,) * 5, "step_seconds": 1000}, "a run lasts at most"),
        ({"max_rate": 1e6}, "less than or equal"),
    ],
)
def test_runs_beyond_the_bounds_are_refused(changes: dict[str, object], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        config(**changes)


def step(users: int, p95: float, failures: int = 0) -> StepResult:
    request = RequestStats(name="smtp submit", count=100, failures=failures, p95_ms=p95, rps=10)
    return StepResult(users=users, seconds=10, requests=[request])


def test_the_ceiling_is_the_last_step_of_the_unbroken_run_of_steps_that_met_the_slo() -> None:
    result = LoadResult(
        platform="mail", profile="teleworker", target="127.0.0.1", token="0" * 16, workers=0,
        slo=Slo(p95_ms=500, error_rate=0.01), started_at=datetime(2026, 11, 25, tzinfo=UTC),
        steps=[step(10, 100), step(20, 300), step(40, 900), step(80, 200)],
    )  # fmt: skip
    assert result.carried == 20  # 40 broke the p95; 80 passing after it does not count
    ceiling = result.ceiling()
    assert ceiling is not None and ceiling.teleworkers == 20
    assert ceiling.rates == {"smtp submit": 10}
    failing = result.model_copy(update={"steps": [step(10, 100, failures=2)]})
    assert failing.carried == 0 and failing.ceiling() is None


def test_the_command_refuses_a_target_the_inventory_does_not_name(tmp_path: object) -> None:
    result = CliRunner().invoke(
        cli,
        ["load", "mail", "-i", str(REPO / "inventories" / "lab"), "--target", "192.0.2.10",
         "--login", "p", "--address", "p@lab.telework.test", "--password-file", __file__],
    )  # fmt: skip
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "refusing to load '192.0.2.10'" in result.output
    assert "mail" in result.output  # the hosts it may target are named


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"platform": "groupware", "profile": "flood"}, "for the mail and vpn platforms only"),
        ({"platform": "meeting", "smtp_plain": True}, "for the mail platform only"),
        ({"probe": Probe(login="p", password_file="/x")}, "probe.address"),
        ({"platform": "meeting", "meeting_size": 0}, "meeting_size"),
        ({"platform": "meeting", "keepalive_seconds": 120}, "keepalive_seconds"),
    ],
)
def test_settings_that_do_not_fit_the_platform_are_refused(
    changes: dict[str, object], why: str
) -> None:
    with pytest.raises(ValidationError, match=why):
        config(**changes)


def test_a_wrong_setting_is_one_usage_error_naming_its_field(tmp_path: object) -> None:
    result = CliRunner().invoke(
        cli,
        ["load", "meeting", "-i", str(REPO / "inventories" / "lab"), "--target", "127.0.0.1",
         "--login", "p", "--password-file", __file__, "--meeting-size", "0"],
    )  # fmt: skip
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "invalid load settings: meeting_size: Input should be greater than or equal to 1" in (
        " ".join(result.output.split())
    )


def test_the_meeting_probe_is_the_audits_vc06_publisher(tmp_path: object) -> None:
    lab = REPO / "inventories" / "lab"
    probe = probe_from_inventory("meeting", inventory_hosts(lab), lab)
    assert probe.login == "audit-probe"
    assert probe.password_file == str(lab / ".credentials/directory/probes/audit-probe.password")
    groupware = probe_from_inventory("groupware", inventory_hosts(lab), lab)
    assert groupware.login == "audit-probe" and groupware.address


def test_a_probe_password_path_is_read_from_the_inventory_folder_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory = tmp_path / "prod"
    hosts = {"mail": {"audit_params": {"MAIL-11": {
        "login": "probe", "address": "probe@example.test", "password_path": "secrets/probe.pw"}}}}  # fmt: skip
    monkeypatch.chdir(tmp_path)
    probe = probe_from_inventory("mail", hosts, inventory)
    assert probe.password_file == str(inventory / "secrets" / "probe.pw")


def test_an_unreadable_probe_password_is_one_usage_error_before_any_load_starts(
    tmp_path: Path,
) -> None:
    (tmp_path / "empty.pw").write_text("\n")
    result = CliRunner().invoke(
        cli,
        ["load", "groupware", "-i", str(REPO / "inventories" / "lab"), "--target", "127.0.0.1",
         "--login", "p", "--password-file", str(tmp_path / "empty.pw")],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "password of the probe account p: file is empty" in result.output
    assert "Traceback" not in result.output


def test_without_target_each_platform_loads_the_first_host_of_its_group_in_the_inventory() -> None:
    lab = load_inventory(REPO / "inventories" / "lab", with_roster=False)
    assert platform_host("mail", lab) == "mail"
    assert platform_host("groupware", lab) == "collab"
    assert platform_host("meeting", lab) == "visio"
    assert platform_host("meeting", {}) == "127.0.0.1"
