"""telework-backup, the wrapper role backup installs on every client (A9): it reads the roles'
backup-source declarations, writes their dumps (root-only files), a MANIFEST.json a restore
drill checks against, runs borgmatic and writes status.json for the audit (BCK-01..03)."""

from __future__ import annotations

import hashlib
import json
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "roles/backup/files"))

from telework_backup.__main__ import main  # noqa: E402
from telework_backup.run import Settings, failure_line, run_backup  # noqa: E402
from telework_backup.sources import SourceError, load_sources, parse_source  # noqa: E402

NOW = datetime(2026, 11, 25, 20, 0, 0, tzinfo=UTC)


class FakeBorgmatic:
    """Records each borgmatic action; `fail` maps an action to (exit code, error output)."""

    def __init__(self, fail: dict[str, tuple[int, str]] | None = None) -> None:
        self.actions: list[list[str]] = []
        self.fail = fail or {}

    def __call__(self, argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        action = argv[argv.index("--config") + 2 :]
        self.actions.append(action)
        code, err = self.fail.get(action[0], (0, ""))
        out = json.dumps([{"archive": {"name": "client-2026-11-25T20:00:00"}}])
        return subprocess.CompletedProcess(argv, code, out if action[0] == "create" else "", err)


@pytest.fixture
def client(tmp_path: Path) -> Settings:
    (tmp_path / "sources").mkdir()
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("alpha\n")
    (data / "sub" / "b.bin").write_bytes(b"\x00\x01" * 1000)
    (data / "secret").write_text("passphrase\n")
    (data / "link").symlink_to(data / "a.txt")
    (tmp_path / "sources" / "app.yml").write_text(
        "name: app\nrpo_hours: 12\n"
        "dumps:\n  - file: app.sql\n    command: [printf, 'CREATE TABLE t;\\n']\n"
        f"paths: [{data}]\n"
    )
    return Settings(
        host="client",
        repository="ssh://borg@backup/srv/backup/client",
        backup_server="backup",
        encryption="repokey-blake2",
        append_only=True,
        rpo_hours=24,
        sources_dir=tmp_path / "sources",
        dumps_dir=tmp_path / "dumps",
        patterns_file=tmp_path / "state" / "patterns",
        status_file=tmp_path / "state" / "status.json",
        borgmatic=("borgmatic", "--config", "/etc/borgmatic/config.yaml"),
        excludes=(str(data / "secret"),),
        check_days=7,
        dump_timeout=30,
        borg_timeout=60,
    )


def test_a_successful_run_writes_the_dumps_the_manifest_and_an_ok_status(client: Settings) -> None:
    borg = FakeBorgmatic()
    status = run_backup(client, runner=borg, now=lambda: NOW)

    assert status["result"] == "ok" and status["error"] == ""
    assert status["last_success"] == status["last_attempt"] == "2026-11-25T20:00:00Z"
    assert status["archive"] == "client-2026-11-25T20:00:00"
    assert status["sources"] == [{"name": "app", "rpo_hours": 12.0}]
    assert status["append_only"] is True and status["encryption"] == "repokey-blake2"
    assert json.loads(client.status_file.read_text()) == status
    assert stat.S_IMODE(client.status_file.stat().st_mode) == 0o644
    dump = client.dumps_dir / "app" / "app.sql"
    assert dump.read_text() == "CREATE TABLE t;\n"
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert stat.S_IMODE(client.dumps_dir.stat().st_mode) == 0o700
    assert borg.actions == [["create", "--json"], ["prune"], ["check"]]


def test_the_manifest_lists_every_dump_and_regular_file_with_its_checksum_but_not_the_excluded(
    client: Settings,
) -> None:
    run_backup(client, runner=FakeBorgmatic(), now=lambda: NOW)
    manifest = json.loads((client.dumps_dir / "MANIFEST.json").read_text())
    data = client.sources_dir.parent / "data"

    files = {entry["path"]: entry for entry in manifest["files"]}
    assert sorted(files) == sorted(
        [str(client.dumps_dir / "app/app.sql"), str(data / "a.txt"), str(data / "sub/b.bin")]
    )
    b = files[str(data / "sub/b.bin")]
    assert b["size"] == 2000 and b["sha256"] == hashlib.sha256(b"\x00\x01" * 1000).hexdigest()
    assert manifest["host"] == "client" and manifest["created"] == "2026-11-25T20:00:00Z"
    assert manifest["sources"] == [
        {"name": "app", "rpo_hours": 12.0, "dumps": ["app.sql"], "paths": [str(data)]}
    ]
    patterns = client.patterns_file.read_text().splitlines()
    assert patterns == [f"R {data}", f"- {data / 'secret'}"]


def test_checks_run_again_only_when_the_last_one_is_older_than_check_days(client: Settings) -> None:
    run_backup(client, runner=FakeBorgmatic(), now=lambda: NOW)
    borg = FakeBorgmatic()
    status = run_backup(client, runner=borg, now=lambda: NOW + timedelta(days=2))
    assert ["check"] not in borg.actions and status["check_last"] == "2026-11-25T20:00:00Z"
    borg = FakeBorgmatic()
    status = run_backup(client, runner=borg, now=lambda: NOW + timedelta(days=8))
    assert ["check"] in borg.actions and status["check_last"] == "2026-12-03T20:00:00Z"


def test_a_wrong_passphrase_fails_loudly_and_keeps_the_last_success(client: Settings) -> None:
    run_backup(client, runner=FakeBorgmatic(), now=lambda: NOW)
    borg_output = (
        "ssh://borg@backup/srv/backup/client: Creating archive\n"
        "passphrase supplied in BORG_PASSPHRASE, by BORG_PASSCOMMAND or via "
        "BORG_PASSPHRASE_FD is incorrect.\n"
        "/etc/borgmatic/config.yaml: An error occurred\n"
        "summary:\n/etc/borgmatic/config.yaml: Error running configuration file\n"
    )
    borg = FakeBorgmatic({"create": (2, borg_output)})
    later = NOW + timedelta(hours=1)
    status = run_backup(client, runner=borg, now=lambda: later)

    assert status["result"] == "failed"
    assert status["error"].startswith("borgmatic create exited 2: passphrase supplied")
    assert "incorrect" in status["error"]
    assert status["last_attempt"] == "2026-11-25T21:00:00Z"
    assert status["last_success"] == "2026-11-25T20:00:00Z"
    assert borg.actions == [["create", "--json"]]  # nothing pruned after a failed backup


def test_a_failed_dump_leaves_no_half_file_still_backs_up_the_rest_and_fails_the_run(
    client: Settings,
) -> None:
    (client.sources_dir / "db.yml").write_text(
        "name: db\ndumps:\n  - file: db.dump\n    command: [sh, -c, 'echo partial; echo no server >&2; exit 3']\n"
    )
    borg = FakeBorgmatic()
    status = run_backup(client, runner=borg, now=lambda: NOW)

    assert status["result"] == "failed"
    assert status["error"] == "dump db/db.dump: sh exited 3: no server"
    assert not (client.dumps_dir / "db" / "db.dump").exists()
    assert (client.dumps_dir / "app" / "app.sql").exists()
    assert ["create", "--json"] in borg.actions


def test_the_dumps_of_a_source_no_longer_declared_are_removed(client: Settings) -> None:
    old = client.dumps_dir / "retired"
    old.mkdir(parents=True)
    (old / "old.sql").write_text("old")
    run_backup(client, runner=FakeBorgmatic(), now=lambda: NOW)
    assert not old.exists()


def test_no_declaration_at_all_is_a_failed_backup_not_an_empty_success(client: Settings) -> None:
    (client.sources_dir / "app.yml").unlink()
    status = run_backup(client, runner=FakeBorgmatic(), now=lambda: NOW)
    assert status["result"] == "failed" and "no backup source is declared" in status["error"]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("name: Bad Name\npaths: [/etc]\n", "name"),
        ("name: x\npaths: [etc]\n", "paths[0]"),
        ("name: x\npaths: [/etc/../root]\n", "paths[0]"),
        ("name: x\ndumps: [{file: ../x, command: [true]}]\n", "dumps[0].file"),
        ("name: x\ndumps: [{file: x, command: 'slapcat -n 1'}]\n", "dumps[0].command"),
        ("name: x\nrpo_hours: -1\npaths: [/etc]\n", "rpo_hours"),
        ("name: x\n", "file"),
        ("name: x\npaths: [/etc]\nextra: 1\n", "extra"),
        ("name: [x\n", "file"),
    ],
)
def test_a_bad_declaration_is_one_error_naming_the_file_and_the_field(
    text: str, field: str
) -> None:
    with pytest.raises(
        SourceError, match="^" + re.escape(f"/etc/telework/backup-sources.d/x.yml: {field}: ")
    ):
        parse_source(Path("/etc/telework/backup-sources.d/x.yml"), text, 24)


def test_two_declarations_of_one_name_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("name: same\npaths: [/etc]\n")
    (tmp_path / "b.yml").write_text("name: same\npaths: [/srv]\n")
    with pytest.raises(SourceError, match="already declared"):
        load_sources(tmp_path, 24)


DECLARATIONS = sorted(ROOT.glob("roles/*/templates/etc/telework/backup-sources.d/*.yml.j2"))


@pytest.mark.parametrize("template", DECLARATIONS, ids=lambda path: path.parts[-6])
def test_every_declaration_a_role_ships_renders_to_a_valid_source(template: Path) -> None:
    # YAML, not HTML: nothing to escape.
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701
    env.filters["comment"] = lambda text: "#\n# " + text + "\n#"
    values = {
        "ansible_managed": "Managed by Ansible",
        "collaboration_db_name": "sogo",
        "__collaboration_pg_conf_dir": "/etc/postgresql/15/main",
        "backup_system_paths": ["/etc"],
    }
    # the role's own defaults that are plain values (a template's {{ }} left out)
    defaults = yaml.safe_load((template.parents[4] / "defaults" / "main.yml").read_text())
    values |= {k: v for k, v in (defaults or {}).items() if "{{" not in str(v)}
    text = env.from_string(template.read_text()).render(values)
    source = parse_source(template, text, 24)
    assert source.name == template.name.removesuffix(".yml.j2")
    assert source.dumps or source.paths


def test_the_roles_declare_the_directory_mail_vpn_groupware_and_system() -> None:
    assert {path.name.removesuffix(".yml.j2") for path in DECLARATIONS} >= {
        "directory",
        "mail_server",
        "vpn_gateway",
        "collaboration",
        "system",
    }


def test_the_failure_line_is_borgs_cause_not_borgmatics_summary() -> None:
    output = "Remote: Permission denied (publickey).\nsummary:\nconfig.yaml: An error occurred\n"
    assert failure_line(output) == "Remote: Permission denied (publickey)."


def test_unreadable_settings_exit_2(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text("{}")
    assert main(["--settings", str(tmp_path / "s.json")]) == 2
