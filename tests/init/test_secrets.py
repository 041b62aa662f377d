"""toolkit/secrets.py, the one place secret files are written and read: 0600 in 0700
folders, replaced in one step; Ansible Vault through Ansible's own VaultLib, so that
`ansible-vault` reads what the toolkit encrypted and the toolkit reads files an
administrator encrypted with `ansible-vault` (a BYOD token record, the audit's probe
password); without the vault password, one clear error."""

from __future__ import annotations

import os
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from toolkit.audit.model import ControlError
from toolkit.byod.store import TOKENS_DIR, load_token, new_token, save_token
from toolkit.controls.mailflow import probe_account
from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.secrets import (
    VAULT_HEADER,
    VAULT_PASSWORD_ENV,
    read_secret,
    vault_encrypt,
    write_secret,
)

ROOT = Path(__file__).resolve().parents[2]
VAULT_CLI = ROOT / ".venv" / "bin" / "ansible-vault"


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "vault-password"
    path.write_text("the vault password\n")
    monkeypatch.setenv(VAULT_PASSWORD_ENV, str(path))
    return path


def ansible_vault(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The CLI with the password file given once (not also from the environment, which
    `encrypt` would take as a second vault to choose from)."""
    env = {k: v for k, v in os.environ.items() if k != VAULT_PASSWORD_ENV}
    return subprocess.run(
        [str(VAULT_CLI), *map(str, args)], capture_output=True, text=True, timeout=60,
        check=True, cwd=ROOT, env=env,
    )  # fmt: skip


def test_a_secret_file_is_0600_in_a_0700_folder_and_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / ".credentials" / "probes" / "probe.password"
    write_secret(path, b"first\n")
    write_secret(path, b"second\n")
    assert path.read_bytes() == b"second\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["probe.password"]


def test_ansible_vault_reads_what_the_toolkit_encrypted_and_back(
    tmp_path: Path, vault: Path
) -> None:
    mine = write_secret(tmp_path / "mine", vault_encrypt(b"from the toolkit\n"))
    assert mine.read_bytes().startswith(VAULT_HEADER)
    assert (
        ansible_vault("view", "--vault-password-file", vault, mine).stdout == "from the toolkit\n"
    )
    theirs = tmp_path / "theirs"
    theirs.write_text("from ansible-vault\n")
    ansible_vault("encrypt", "--vault-password-file", vault, theirs)
    assert theirs.read_bytes().startswith(VAULT_HEADER)
    assert read_secret(theirs) == b"from ansible-vault\n"
    assert read_secret(write_secret(tmp_path / "plain", b"plain\n")) == b"plain\n"


def test_without_the_vault_password_one_clear_error(
    tmp_path: Path, vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_secret(tmp_path / "s", vault_encrypt(b"x"))
    wrong = tmp_path / "wrong"
    wrong.write_text("not the password\n")
    with pytest.raises(ToolkitError, match="cannot decrypt"):
        read_secret(path, wrong)
    monkeypatch.delenv(VAULT_PASSWORD_ENV)
    with pytest.raises(ToolkitError, match="--vault-password-file") as raised:
        read_secret(path)
    assert raised.value.exit_code == ExitCode.USAGE


def test_a_vaulted_byod_token_record_is_still_read(tmp_path: Path, vault: Path) -> None:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    _, record = new_token("ag0001", "pc-maison", by="dsi", now=now, days=7)
    save_token(tmp_path, record)
    ansible_vault("encrypt", "--vault-password-file", vault,
                  tmp_path / TOKENS_DIR / f"{record.token_id}.json")  # fmt: skip
    assert load_token(tmp_path, record.token_id) == record


def test_the_audits_probe_password_may_be_vaulted(
    tmp_path: Path, vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_secret(tmp_path / "audit-probe.password", vault_encrypt(b"probe-pass\n"))
    params = {"login": "audit-probe", "address": "p@x.ma", "password_path": str(path)}
    assert probe_account(params).password == "probe-pass"
    (tmp_path / "wrong").write_text("nope\n")
    monkeypatch.setenv(VAULT_PASSWORD_ENV, str(tmp_path / "wrong"))
    with pytest.raises(ControlError, match="probe account audit-probe"):
        probe_account(params)
