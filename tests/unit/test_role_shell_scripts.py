"""The shell programs the roles install pass shellcheck (POSIX sh, every warning): a role's
template is checked with its Ansible-managed comment line left out (the only Jinja in it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHELL_SCRIPTS = sorted(
    path
    for pattern in ("*/*/usr/local/*bin/*", "*/*/etc/NetworkManager/dispatcher.d/*")
    for path in (ROOT / "roles").glob(pattern)
    if path.read_text(encoding="utf-8").startswith("#!/bin/sh\n")
)


def test_the_roles_install_at_least_the_laptops_re_resolve_and_wifi_scripts() -> None:
    reresolve = "roles/vpn_client/templates/usr/local/sbin/telework-wg-reresolve.j2"
    wifi = "roles/laptop/files/etc/NetworkManager/dispatcher.d/10-telework-refuse-insecure-wifi"
    assert {ROOT / reresolve, ROOT / wifi} <= set(SHELL_SCRIPTS)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="Debian's shellcheck is missing")
@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda path: path.name)
def test_each_installed_shell_program_passes_shellcheck(script: Path) -> None:
    lines = script.read_text(encoding="utf-8").splitlines(keepends=True)
    source = "".join(line for line in lines if "{{" not in line)
    assert "{%" not in source, f"{script.name}: Jinja beyond the managed comment"
    done = subprocess.run(
        ["shellcheck", "--shell=sh", "--severity=style", "-"],
        input=source,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout
