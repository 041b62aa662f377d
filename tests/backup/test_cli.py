"""``toolkit backup status`` as a person and a machine see it: exit codes 0, 3, 4 and 5,
a hostile file named by host, file and field with its strings escaped, JSON for machines."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.backup.samples import drill, raw, status
from toolkit.adapters.ssh import Endpoint
from toolkit.backup.remote import Target, UnreachableError
from toolkit.backup.status import DrillEvidence
from toolkit.cli import backup as cli_backup
from toolkit.cli.main import cli
from toolkit.errors import ToolkitError

HOSTS = ("directory", "mail", "backup")


def invoke(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, files: Mapping[str, bytes | Exception | None]
) -> tuple[int, str, str]:
    targets = [
        Target(
            h,
            frozenset({"servers", "backup_servers" if h == "backup" else f"{h}_servers"}),
            Endpoint(h),
            {},
        )
        for h in HOSTS
    ]

    def reader(target: Target) -> tuple[bytes | None, bytes | None]:
        found = files[target.name]
        if isinstance(found, Exception):
            raise found
        return found, None

    monkeypatch.setattr(cli_backup, "targets", lambda inventory, limit: targets)
    monkeypatch.setattr(cli_backup, "ssh_reader", lambda timeout: reader)
    result = CliRunner().invoke(cli, ["backup", "status", "-i", str(tmp_path), "--json"])
    return result.exit_code, result.stdout, result.stderr


def test_fresh_backups_exit_0_and_the_backup_server_is_not_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ok = {h: raw(status(h, last_attempt=now, last_success=now)) for h in ("directory", "mail")}
    code, out, _ = invoke(monkeypatch, tmp_path, {**ok, "backup": RuntimeError("asked")})
    assert code == 0
    data = json.loads(out)
    assert [h["host"] for h in data["hosts"]] == ["directory", "mail"]
    assert {r["state"] for h in data["hosts"] for r in h["rows"]} == {"ok"}


def test_a_late_host_exits_3_an_unreachable_one_5_a_hostile_file_4(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    late = {"directory": raw(status("directory", hours_ago=10_000)), "mail": None, "backup": None}
    assert invoke(monkeypatch, tmp_path, late)[0] == 3
    gone = {**late, "mail": UnreachableError("mail (admin@127.0.0.1:2203): cannot connect")}
    code, _, err = invoke(monkeypatch, tmp_path, gone)
    assert code == 5 and "unreachable: mail (admin@127.0.0.1:2203): cannot connect" in err
    hostile = {**late, "mail": raw(status("mail", result="\x1b[2Jok"))}
    code, out, err = invoke(monkeypatch, tmp_path, hostile)
    assert code == 4
    assert "invalid: mail:/var/lib/telework-backup/status.json:1: result:" in err
    assert "\x1b" not in out + err


def drill_invoke(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pattern: str, outcome: Mapping[str, str]
) -> tuple[int, list[str], str]:
    """``toolkit backup drill PATTERN`` with each host's drill replaced by ``outcome``
    (passed, failed, or error: the drill could not run); the hosts drilled, in order."""
    inventory = tmp_path / "inv"
    inventory.mkdir(exist_ok=True)
    (inventory / "hosts.yml").write_text(
        "all:\n  children:\n    servers:\n      children:\n"
        "        backup_servers: {hosts: {backup: {}}}\n"
        "        directory_servers: {hosts: {directory: {}}}\n"
        "        mail_servers: {hosts: {mail: {}}}\n"
        "    laptops: {hosts: {laptop01: {}}}\n"
    )
    drilled: list[str] = []

    def fake_drill(inv: Path, host: str, **_: object) -> tuple[DrillEvidence, Path]:
        drilled.append(host)
        if outcome[host] == "error":
            raise ToolkitError(f"{host} has no backup status yet")
        evidence = DrillEvidence.model_validate(drill(host, result=outcome[host]))
        return evidence, tmp_path / f"{host}.json"

    monkeypatch.setattr(cli_backup, "run_drill", fake_drill)
    result = CliRunner().invoke(cli, ["backup", "drill", "-i", str(inventory), pattern])
    return result.exit_code, drilled, result.stdout + result.stderr


def test_drilling_servers_restores_every_client_but_never_the_backup_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, drilled, output = drill_invoke(
        monkeypatch, tmp_path, "servers", {"directory": "passed", "mail": "passed"}
    )
    assert code == 0, output
    assert drilled == ["directory", "mail"]
    assert "restore drills of inv" in output


def test_one_failed_drill_exits_3_and_one_that_cannot_run_exits_1_after_the_others(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, drilled, _ = drill_invoke(
        monkeypatch, tmp_path, "servers", {"directory": "failed", "mail": "passed"}
    )
    assert (code, drilled) == (3, ["directory", "mail"])
    code, drilled, output = drill_invoke(
        monkeypatch, tmp_path, "servers", {"directory": "error", "mail": "failed"}
    )
    assert (code, drilled) == (1, ["directory", "mail"])
    assert "directory has no backup status yet" in output


def test_a_pattern_naming_only_the_backup_server_or_a_laptop_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for pattern in ("backup", "laptop01", "nosuchhost"):
        code, drilled, output = drill_invoke(monkeypatch, tmp_path, pattern, {})
        assert (code, drilled) == (2, []), output
        assert pattern in output
