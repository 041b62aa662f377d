"""No secret file the toolkit or a role writes can be committed by mistake: in a
temporary git repository holding the project's .gitignore, the toolkit's own writers make
their secret files (`toolkit init`'s vault-encrypted credentials, VPN keys and bundles,
BYOD tokens, the charter-signing key, initial and service passwords where the roles put
them) and `git status --porcelain --ignored` shows every one ignored, none untracked;
what must be committed (hosts, group_vars, the encrypted vault.yml, the roster) is not
ignored. Every folder a role writes secrets to on the control node is one of
toolkit/secrets.py's SECRET_DIRS."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from toolkit.byod.store import TOKENS_DIR
from toolkit.cli.init import settings_from_options
from toolkit.init.create import create_environment
from toolkit.report.activity import DATA_DIR
from toolkit.report.charter_sign import PKI_DIR
from toolkit.secrets import SECRET_DIRS, vault_encrypt, write_secret
from toolkit.vpn.layout import BUNDLES_DIR, KEYS_DIR

from .test_init import OPTIONS

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60, check=True
    ).stdout


def status(repo: Path) -> dict[str, str]:
    """Path -> ``??`` (untracked) or ``!!`` (ignored), every file listed on its own."""
    out = git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all")
    found = {}
    for line in out.splitlines():
        code, path = line[:2], line[3:]
        found[path.rstrip("/")] = code
    return found


def covered(state: dict[str, str], path: str) -> str | None:
    """The status of ``path`` or of the ignored folder that holds it."""
    parts = path.split("/")
    for i in range(len(parts), 0, -1):
        code = state.get("/".join(parts[:i]))
        if code is not None:
            return code
    return None


def test_every_secret_file_the_toolkit_writes_is_ignored(tmp_path: Path) -> None:
    repo = tmp_path / "clone"
    repo.mkdir()
    git(repo, "init", "-q")
    shutil.copy(ROOT / ".gitignore", repo / ".gitignore")
    vault = tmp_path / "vault-password"
    vault.write_text("outside the repository\n")
    env = repo / "inventories" / "prodlike"
    existing = {**OPTIONS, "directory": "existing", "hosts": ("vpn_gateways=gw",),
                "identity_uri": "ldaps://dc01.example.gov.ma:636"}  # fmt: skip
    written = create_environment(
        env,
        settings_from_options("prodlike", existing),
        lambda data: vault_encrypt(data, vault),
    )
    secret = [p for p in written if ".credentials" in p.parts]
    assert len(secret) == 7  # the audit's sudo password, four bind passwords, the two probes'
    # What the other writers make, at the paths they use (toolkit/secrets.py writes them).
    for relative in (
        KEYS_DIR / "ag0001-laptop.psk",
        KEYS_DIR / "ag0001-laptop.key",
        BUNDLES_DIR / "ag0001" / "ag0001-laptop.conf",
        TOKENS_DIR / "tok-1.json",
        Path(PKI_DIR) / "charter-signing.key",
        Path(".credentials/directory/ag0001.password"),
        Path(".credentials/directory/probes/audit-probe.password"),
        Path(".credentials/directory/services/mail.password"),
        Path(".credentials/collaboration/database.password"),
        Path(".lab/admin-password"),
        Path(".lab/ssh/id_ed25519"),
        DATA_DIR / "vpn" / "2026-11.jsonl",
    ):
        secret.append(write_secret(env / relative, b"not for git\n"))
    state = status(repo)
    for path in secret:
        name = path.relative_to(repo).as_posix()
        assert covered(state, name) == "!!", f"{name} is not ignored"
    assert not [p for p, code in state.items() if code == "??" and ".credentials" in p]
    for kept in ("hosts.yml", "roster.csv", "group_vars/all/vault.yml",
                 "group_vars/all/identity.yml"):  # fmt: skip
        assert covered(state, f"inventories/prodlike/{kept}") == "??", kept
    shutil.copy(vault, repo / ".vault-password")
    assert covered(status(repo), ".vault-password") == "!!"


def test_every_folder_a_role_writes_secrets_to_is_a_secret_folder() -> None:
    """The roles' control-node folders under the inventory (keys, passwords, the CA)."""
    found = set()
    for defaults in ROOT.glob("roles/*/defaults/main.yml"):
        for line in defaults.read_text(encoding="utf-8").splitlines():
            match = re.match(
                r"^([a-z_]+_(?:credentials|keys|ca)_dir):.*inventory_dir.*?/(\.[a-z-]+)", line
            )
            if match:
                found.add((match.group(1), match.group(2)))
    assert {name for name, _ in found} >= {
        "directory_credentials_dir", "collaboration_credentials_dir", "pki_ca_dir",
        "vpn_gateway_keys_dir", "vpn_client_keys_dir",
    }  # fmt: skip
    assert {folder for _, folder in found} <= set(SECRET_DIRS)
    for folder in SECRET_DIRS:
        ignored = subprocess.run(
            ["git", "-C", str(ROOT), "check-ignore", "-q", f"inventories/any/{folder}/x"],
            timeout=30, check=False,
        )  # fmt: skip
        assert ignored.returncode == 0, folder
