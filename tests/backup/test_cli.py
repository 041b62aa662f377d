"""``toolkit backup status`` as a person and a machine see it: exit codes 0, 3, 4 and 5,
a hostile file named by host, file and field with its strings escaped, JSON for machines."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.backup.samples import raw, status
from toolkit.adapters.ssh import Endpoint
from toolkit.backup.remote import Target, UnreachableError
from toolkit.cli import backup as cli_backup
from toolkit.cli.main import cli

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
