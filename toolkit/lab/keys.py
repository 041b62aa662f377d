"""SSH keys of a lab: the admin's key pair and one ed25519 host key per host, pinned in
the lab's own known_hosts so every SSH connection is checked strictly."""

from __future__ import annotations

import secrets
from pathlib import Path

from toolkit.adapters.process import run


def _keypair(path: Path, comment: str) -> Path:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    path.with_suffix(".pub").chmod(0o644)
    return path


def admin_key(state: Path) -> Path:
    """The lab admin's private key (created on first use)."""
    return _keypair(state / "ssh" / "id_ed25519", "telework-lab admin")


def host_key(state: Path, host: str) -> Path:
    """The private host key of ``host`` (created on first use)."""
    return _keypair(state / "hostkeys" / host, f"telework-lab host {host}")


def known_hosts_file(state: Path) -> Path:
    return state / "ssh" / "known_hosts"


def write_known_hosts(state: Path, entries: dict[str, int]) -> Path:
    """Pin each host's key at ``[127.0.0.1]:PORT``; ``entries`` maps host to port."""
    lines = []
    for host, port in sorted(entries.items()):
        public = host_key(state, host).with_suffix(".pub").read_text().split()
        lines.append(f"[127.0.0.1]:{port} {public[0]} {public[1]}")
    path = known_hosts_file(state)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text("\n".join(lines) + "\n")
    return path


def admin_password(state: Path) -> Path:
    """File holding the lab admin's sudo password (random, made on first use, 0600).
    Ansible reads it as ansible_become_password, the audit as its sudo password."""
    path = state / "admin-password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(18) + "\n")
    return path
