"""Where the toolkit's secret files go, how they are written, and Ansible Vault.

One place decides it:

- secret files (initial passwords, probe and service credentials, VPN keys of devices
  without their own, BYOD tokens, the CA's and the charter-signing keys, the lab's SSH
  key and sudo password) live in the hidden folders of an inventory named in
  :data:`SECRET_DIRS`; ``.gitignore`` ignores each of them wherever it is, so nothing
  there is ever committed (tests/init/test_gitignore.py checks every path);
- they are written 0600 from the start in 0700 folders, replaced in one step
  (:func:`write_secret`), and may be vault-encrypted (:func:`vault_encrypt`): Ansible's
  ``file`` lookup, which the roles read them with, decrypts them itself;
- the vault password comes from a file named by ``--vault-password-file`` or
  ``$ANSIBLE_VAULT_PASSWORD_FILE`` (Ansible's own setting, so ansible-playbook and
  ansible-inventory read it too), never from the repository.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode

#: Folders of an inventory (and of the checkout) holding secrets; git-ignored everywhere.
SECRET_DIRS = (".credentials", ".lab", ".pki", ".vpn", ".telework-data")
#: Ansible's own setting naming the vault password file (also --vault-password-file).
VAULT_PASSWORD_ENV = "ANSIBLE_VAULT_PASSWORD_FILE"  # noqa: S105 (a variable name)
#: First bytes of a vault-encrypted file or value.
VAULT_HEADER = b"$ANSIBLE_VAULT;"


def credentials_dir(inventory: Path) -> Path:
    """Where the toolkit writes the secret files of an environment it made itself."""
    return inventory / ".credentials"


def write_secret(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` with mode 0600 from the start (folders 0700), replaced in
    one step: never readable by others, never half-written."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def vault_password_file() -> Path | None:
    """The vault password file given to this run (option or environment), if any."""
    value = os.environ.get(VAULT_PASSWORD_ENV, "").strip()
    return Path(value).expanduser() if value else None


def use_vault_password_file(path: Path | None) -> None:
    """Make ``path`` the vault password file of this run and of every Ansible command it
    starts (they read $ANSIBLE_VAULT_PASSWORD_FILE themselves)."""
    if path is not None:
        os.environ[VAULT_PASSWORD_ENV] = str(path.expanduser().resolve())


def _vault(password_file: Path | None, password: bytes | None = None) -> object:
    # Ansible is imported only when a vault is used (it is slow to import).
    from ansible.constants import DEFAULT_VAULT_ID_MATCH  # noqa: PLC0415
    from ansible.parsing.dataloader import DataLoader  # noqa: PLC0415
    from ansible.parsing.vault import (  # noqa: PLC0415
        VaultLib,
        VaultSecret,
        get_file_vault_secret,
    )

    if password is not None:
        return VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password))])
    path = password_file or vault_password_file()
    if path is None:
        raise ToolkitError(
            "this needs the vault password: give --vault-password-file FILE "
            f"(or set {VAULT_PASSWORD_ENV})",
            exit_code=ExitCode.USAGE,
        )
    if not path.is_file():
        raise ToolkitError(f"vault password file {path}: no such file", exit_code=ExitCode.USAGE)
    secret = get_file_vault_secret(
        filename=str(path), vault_id=DEFAULT_VAULT_ID_MATCH, loader=DataLoader()
    )
    secret.load()
    return VaultLib([(DEFAULT_VAULT_ID_MATCH, secret)])


def vault_encrypt(
    data: bytes, password_file: Path | None = None, *, password: bytes | None = None
) -> bytes:
    """``data`` encrypted as ``ansible-vault encrypt`` would (Ansible's VaultLib), with the
    password of ``password_file`` (else the run's) or ``password`` (as typed at a prompt)."""
    vault = _vault(password_file, password)
    return bytes(vault.encrypt(data))  # type: ignore[attr-defined]


def read_secret(path: Path, password_file: Path | None = None) -> bytes:
    """A secret file's content, decrypted by Ansible's VaultLib when it is vaulted."""
    data = path.read_bytes()
    if not data.lstrip().startswith(VAULT_HEADER):
        return data
    try:
        return bytes(_vault(password_file).decrypt(data))  # type: ignore[attr-defined]
    except ToolkitError:
        raise
    except Exception as exc:  # AnsibleError and friends: a wrong password, a damaged file
        raise ToolkitError(f"cannot decrypt {path}: {exc}") from exc
