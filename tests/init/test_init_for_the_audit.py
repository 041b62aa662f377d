"""What `toolkit init` sets so that the pre-opening audit can judge the environment it made:
VPN-05's targets for the test peers, the continuity plan's owner (BCK-05)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.init.test_init import LAB_HOSTS, init_args, toolkit
from toolkit.adapters.ansible import load_inventory
from toolkit.audit.engine import Options, prepare
from toolkit.init.render import DEFAULT_CONTINUITY_OWNER
from toolkit.secrets import VAULT_PASSWORD_ENV


def _made(tmp_path: Path, *extra: str, hosts: list[tuple[str, str, str, int]] = LAB_HOSTS) -> Path:
    tmp_path.mkdir(exist_ok=True)
    vault = tmp_path / "vault-password"
    vault.write_text("a vault password kept outside the repository\n")
    target = tmp_path / "prodlike"
    toolkit(*init_args(target, vault, *extra, hosts=hosts))
    return target


def _vpn05(target: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.setenv(VAULT_PASSWORD_ENV, str(target.parent / "vault-password"))
    plans = {p.name: p for p in prepare(Options(inventory=target)).plans}
    return dict({c.control.id: c.params for c in plans["laptop01"].controls}["VPN-05"])


def test_the_test_peer_probes_the_mail_server_allowed_and_the_directory_forbidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """M7, A13: staff's IMAPS answers through the tunnel, the directory's LDAPS (no VPN
    group's service) does not; both at the hosts' inside addresses."""
    params = _vpn05(_made(tmp_path), monkeypatch)
    assert params["allowed"] == ["10.60.2.13:993"]
    assert params["forbidden"] == ["10.60.2.12:636"]


def test_without_a_directory_host_the_log_collector_is_the_forbidden_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts = [h for h in LAB_HOSTS if h[0] != "directory_servers"]
    target = _made(tmp_path, "--directory", "existing",
                   "--identity-uri", "ldaps://dc01.ministere.gov.ma:636", hosts=hosts)  # fmt: skip
    params = _vpn05(target, monkeypatch)
    assert params["allowed"] == ["10.60.2.13:993"]
    assert params["forbidden"] == ["10.60.2.17:6514"]


def test_every_server_has_the_continuity_plans_owner_given_or_the_dsi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A5: `toolkit report continuity` (and BCK-05) refuse a platform without an owner."""
    default = _made(tmp_path / "default")
    given = _made(tmp_path / "given", "--continuity-owner", "Service infrastructure")
    for target, owner in ((default, DEFAULT_CONTINUITY_OWNER), (given, "Service infrastructure")):
        monkeypatch.setenv(VAULT_PASSWORD_ENV, str(target.parent / "vault-password"))
        hosts = load_inventory(target)
        servers = [h for h in hosts.values() if "servers" in h.groups]
        assert servers
        assert {h.vars["continuity_owner"] for h in servers} == {owner}
