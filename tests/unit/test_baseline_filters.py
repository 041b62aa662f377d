"""Role baseline's lock-out guard filters: the key Ansible connects with compared with the
admins' keys however they are written, and the controller's address (as sshd reports it)
against the admin networks."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO
from tests.loading import load_module

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINmlVXeM3KiUPsR1i9k5GdjQ+Aii8Qpz8K7ATzgeUtMr"
OTHER = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvczSYk1Hg26QD0AYNfGI+nbtphPKlr7u/0VEacS5Cm"


def _plugin() -> ModuleType:
    path = REPO / "roles" / "baseline" / "filter_plugins" / "baseline.py"
    return load_module(path, "baseline_filters")


F = _plugin()


def test_key_ids_drop_options_and_comments_and_match_the_bare_key() -> None:
    written = [
        f'from="10.0.0.0/8",command="echo a b" {KEY} amina@laptop',
        f"{KEY}\n{OTHER} second line",
        "not a key at all",
        "ssh-ed25519 not-base64!",
    ]
    assert F.ssh_key_ids(written) == [KEY, OTHER]
    assert F.ssh_key_ids(f"{KEY} comment") == [KEY]
    assert F.ssh_key_ids(None) == []
    assert F.ssh_key_ids("") == []


def test_fingerprint_is_the_one_ssh_keygen_prints(tmp_path: Path) -> None:
    pub = tmp_path / "k.pub"
    pub.write_text(f"{KEY} x\n")
    keygen = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert F.ssh_key_fingerprint(KEY).split()[1] == keygen.stdout.split()[1]
    assert F.ssh_key_fingerprint("garbage") == "garbage"


@pytest.mark.parametrize(
    ("address", "networks", "inside"),
    [
        ("10.89.0.1", ["10.89.0.0/24"], True),
        ("10.89.1.1", ["10.89.0.0/24"], False),
        ("::ffff:10.89.0.7", ["10.89.0.0/24"], True),  # IPv4-mapped, as sshd may report it
        ("2001:db8::5", ["10.0.0.0/8", "2001:db8::/32"], True),
        ("fe80::1%eth0", ["fe80::/64"], True),
        ("2001:db8::5", ["10.0.0.0/8"], False),
        ("10.0.0.5", ["10.0.0.5"], True),  # a single address
        ("10.0.0.5", ["10.0.0.1/24"], True),  # host bits set, as nft accepts
        ("", ["0.0.0.0/0"], False),  # unknown address: never inside
        ("junk", ["0.0.0.0/0"], False),
        ("10.0.0.5", ["not-a-network", "10.0.0.0/30"], False),
    ],
)
def test_address_in_networks(address: str, networks: list[str], inside: bool) -> None:
    assert F.address_in_networks(address, networks) is inside


def test_client_address_is_the_first_field_of_ssh_connection() -> None:
    assert F.ssh_client_address("10.89.0.1 52144 10.89.0.5 22") == "10.89.0.1"
    assert F.ssh_client_address("\n") == ""
    assert F.ssh_client_address(None) == ""


def test_filters_are_registered_under_the_role_prefix() -> None:
    names = set(F.FilterModule().filters())
    assert names == {
        "baseline_ssh_key_ids",
        "baseline_ssh_key_fingerprint",
        "baseline_address_in_networks",
        "baseline_ssh_client_address",
    }
