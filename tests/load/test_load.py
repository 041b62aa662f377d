"""``toolkit load mail`` against a mail server the test starts on 127.0.0.1: Locust runs
the stepped ramp (in one process, or as a master with two local workers), the SLO decides
the exit code, the ceiling is saved for ``capacity plan`` and the probe mailbox is emptied
of the run's messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.load.conftest import probe_args
from tests.load.mailserver import MailServer
from toolkit.capacity.inputs import load_ceilings
from toolkit.cli.main import cli
from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.load.config import allowed_target, stepped


def load(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["load", "mail", *args])
    return result.exit_code, result.output


def test_only_loopback_and_inventory_addresses_may_be_targeted() -> None:
    hosts = {"mail": "10.89.0.4"}
    assert allowed_target("127.0.0.1", hosts) == "127.0.0.1"
    assert allowed_target("::1", hosts) == "::1"
    assert allowed_target("mail", hosts) == "10.89.0.4"
    assert allowed_target("10.89.0.4", hosts) == "10.89.0.4"
    for outside in ("8.8.8.8", "example.org", "10.89.0.5", "localhost"):
        with pytest.raises(ToolkitError, match="refusing to load") as caught:
            allowed_target(outside, hosts)
        assert caught.value.exit_code == ExitCode.USAGE


def test_a_ramp_has_evenly_spaced_rising_steps() -> None:
    assert stepped(100, 4) == (25, 50, 75, 100)
    assert stepped(3, 5) == (1, 2, 3)


def test_teleworkers_are_carried_the_ceiling_is_saved_and_the_mailbox_emptied(
    server: MailServer, inventory: Path, tmp_path: Path
) -> None:
    code, output = load(
        "-i", str(inventory), *probe_args(server, tmp_path), "--steps", "3,6",
        "--step-seconds", "3", "-o", str(tmp_path / "result.json"),
    )  # fmt: skip
    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert code == ExitCode.OK, output
    assert "mail: carries 6 teleworkers" in output
    names = {r["name"] for step in result["steps"] for r in step["requests"]}
    assert "imap login" in names  # every simulated teleworker logs in as it starts
    ceiling = load_ceilings(inventory).ceilings["mail"]
    assert ceiling.teleworkers == 6 and ceiling.target == "127.0.0.1"
    assert result["cleanup_deleted"] == server.box.submitted
    assert server.box.messages == []


def test_a_broken_slo_exits_3_and_carries_nobody(
    server: MailServer, inventory: Path, tmp_path: Path
) -> None:
    code, output = load(
        "-i", str(inventory), *probe_args(server, tmp_path), "--profile", "flood",
        "--steps", "2,4", "--step-seconds", "2", "--slo-p95-ms", "0.001", "--no-save",
    )  # fmt: skip
    assert code == ExitCode.CHECK_FAILED, output
    assert "carries 0 concurrent submitters" in output
    assert not (inventory / "capacity" / "ceilings.json").exists()


def test_master_with_two_local_workers_merges_their_results(
    server: MailServer, inventory: Path, tmp_path: Path
) -> None:
    code, output = load(
        "-i", str(inventory), *probe_args(server, tmp_path), "--profile", "flood",
        "--steps", "4,8", "--step-seconds", "4", "--workers", "2", "--master-port", "5599",
        "--slo-p95-ms", "5000", "-o", str(tmp_path / "result.json"),
    )  # fmt: skip
    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert code == ExitCode.OK, output
    assert result["workers"] == 2
    # The master's user count is the sum of both workers' reports.
    assert [s["running"] for s in result["steps"]] == [4, 8]
    counted = sum(r["count"] for s in result["steps"] for r in s["requests"])
    # Every submission the workers reported reached the server; the few not counted were
    # in flight at a step boundary or at the stop.
    assert 0 < counted <= server.box.submitted
    assert counted >= 0.7 * server.box.submitted
    assert result["cleanup_deleted"] == server.box.submitted
