"""Write a new environment: every file in a temporary folder beside the target, secrets
vault-encrypted, then one rename; an existing environment is never touched."""

from __future__ import annotations

import logging
import secrets as random_secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.init.platforms import PROBE, PROBE_2
from toolkit.init.render import environment_files
from toolkit.init.settings import Directory, Settings
from toolkit.init.varsfile import BECOME_SECRET, IDENTITY_SERVICES
from toolkit.secrets import credentials_dir, write_secret

log = logging.getLogger(__name__)

#: Length of generated passwords (letters and digits: safe in every config file).
PASSWORD_LENGTH = 32
_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_password() -> str:
    return "".join(random_secrets.choice(_ALPHABET) for _ in range(PASSWORD_LENGTH))


def create_environment(
    target: Path,
    settings: Settings,
    encrypt: Callable[[bytes], bytes],
    *,
    become_password: str = "",
) -> list[Path]:
    """Make ``target`` (which must not exist) and return the files written. Secrets: the
    sudo password (given, else generated) in group_vars/all/vault.yml, and the files the
    toolkit reads itself (the audit's sudo password; with an existing directory, the
    platforms' bind passwords) under .credentials/, 0600, each vault-encrypted."""
    if target.exists():
        raise ToolkitError(
            f"{target} exists: toolkit init never overwrites an environment",
            exit_code=ExitCode.USAGE,
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    values = {BECOME_SECRET: become_password or new_password()}
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.init-", dir=target.parent))
    try:
        written = []
        for relative, text in environment_files(settings, values).items():
            path = tmp / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            data = text.encode("utf-8")
            if relative.endswith("vault.yml"):
                write_secret(path, encrypt(data))
            else:
                path.write_bytes(data)
            written.append(target / relative)
        secret_files = {"become.password": values[BECOME_SECRET]}
        if settings.directory is Directory.EXISTING:
            accounts = (*IDENTITY_SERVICES, PROBE, PROBE_2)
            secret_files |= {f"identity/{a}.password": new_password() for a in accounts}
        for relative, value in secret_files.items():
            path = credentials_dir(tmp) / relative
            write_secret(path, encrypt(f"{value}\n".encode()))
            written.append(credentials_dir(target) / relative)
        tmp.chmod(0o755)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("environment %s written to %s", settings.env, target)
    return written
