"""The settings role vpn_gateway writes for the teleworker portal are the ones its programs
read: portal.json builds the web application gunicorn serves (portal_wsgi) and gate.json
the gate's configuration, with the peers in a file of their own; a configuration that is
not what it should be stops the start with a message naming the file."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import jinja2
import pytest
from ansible.plugins.filter.core import FilterModule
from cryptography.fernet import Fernet

from tests.conftest import REPO

PORTAL = REPO / "roles/vpn_gateway/files/telework_portal"
if str(PORTAL) not in sys.path:
    sys.path.insert(0, str(PORTAL))
portal_wsgi = importlib.import_module("portal_wsgi")
portal_gate_config = importlib.import_module("portal_gate_config")


def render(name: str, tmp_path: Path, **changes: Any) -> Path:
    env = jinja2.Environment(  # noqa: S701 (JSON files, as Ansible renders them)
        loader=jinja2.FileSystemLoader(REPO / "roles/vpn_gateway/templates"),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(FilterModule().filters())
    variables: dict[str, Any] = {
        "__vpn_gateway_portal_socket": str(tmp_path / "gate.sock"),
        "__vpn_gateway_portal_state": str(tmp_path),
        "__vpn_gateway_portal_gate_state": str(tmp_path),
        "__vpn_gateway_portal_etc": str(tmp_path),
        "__vpn_gateway_table": "telework_vpn",
        "__vpn_gateway_gated_groups": ["finance"],
        "vpn_gateway_portal_issuer": "Télétravail",
        "vpn_gateway_portal_enrol_networks": [],
        "vpn_gateway_portal_admin_networks": ["192.0.2.0/24"],
        "vpn_gateway_portal_login_idle_seconds": 900,
        "vpn_gateway_portal_login_max_seconds": 28800,
        "vpn_gateway_portal_retention_days": 180,
        "vpn_gateway_portal_work_max_seconds": 36000,
        "vpn_gateway_portal_workdays": ["Mon", "tue", "wed", "thu", "fri"],
        "vpn_gateway_portal_timezone": "Africa/Casablanca",
        "vpn_gateway_portal_ldap_uri": "ldaps://directory.example:636",
        "vpn_gateway_portal_ldap_ca_file": "/usr/local/share/ca-certificates/ca.crt",
        "vpn_gateway_portal_ldap_people_dn": "ou=people,dc=example",
        "vpn_gateway_portal_ldap_user_filter": "(objectClass=inetOrgPerson)",
        "vpn_gateway_portal_ldap_login_attribute": "uid",
        "vpn_gateway_portal_ldap_bind_dn": "uid=vpn,ou=services,dc=example",
    }
    path = tmp_path / name
    path.write_text(env.get_template(f"etc/telework-portal/{name}.j2").render(variables | changes))
    return path


def test_the_web_application_starts_from_the_settings_the_role_writes(tmp_path: Path) -> None:
    config = render("portal.json", tmp_path)
    (tmp_path / "session.key").write_text("s" * 64 + "\n")
    (tmp_path / "totp.key").write_text(Fernet.generate_key().decode() + "\n")
    written = json.loads(config.read_text())
    assert written["enrol_networks"] == ["192.0.2.0/24"]  # the administration's, not the tunnel
    assert written["ldap"]["bind_password_file"] == str(tmp_path / "ldap.password")
    app = portal_wsgi.app_from_config(str(config))
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"ok": True}
    login = client.get("/", headers={"X-Real-IP": "10.77.0.2", "Accept-Language": "ar"})
    assert login.status_code == 200 and 'dir="rtl"' in login.text


def test_a_missing_key_file_or_an_unknown_directory_field_stops_the_start(tmp_path: Path) -> None:
    config = render("portal.json", tmp_path)
    with pytest.raises(portal_wsgi.ConfigError, match=r"portal\.json: FileNotFoundError"):
        portal_wsgi.app_from_config(str(config))
    data = json.loads(config.read_text())
    data["ldap"]["password"] = "in clear"
    config.write_text(json.dumps(data))
    with pytest.raises(portal_wsgi.ConfigError, match="unknown ldap fields"):
        portal_wsgi.app_from_config(str(config))


def test_the_gate_reads_its_settings_and_the_peers_file_the_role_writes(tmp_path: Path) -> None:
    config = render("gate.json", tmp_path)
    loaded = portal_gate_config.GateConfig.load(config)
    assert loaded.peers == ()  # no peers file yet: no peers, the gate still starts
    assert loaded.workdays == frozenset({0, 1, 2, 3, 4})
    assert loaded.gated_groups == frozenset({"finance"})
    assert loaded.max_seconds == 36000 and loaded.table == "telework_vpn"
    (tmp_path / "peers.json").write_text(
        json.dumps([{"user": "ag0001", "device": "lt-1", "groups": ["finance"],
                     "address_v4": "10.77.0.2", "address_v6": "", "schedule": {}}])
    )  # fmt: skip
    assert [p.device for p in portal_gate_config.GateConfig.load(config).peers] == ["lt-1"]
