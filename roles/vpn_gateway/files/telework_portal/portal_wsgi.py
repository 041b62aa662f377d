"""The teleworker portal as gunicorn serves it: ``gunicorn 'portal_wsgi:app_from_env()'``,
the configuration in ``TELEWORK_PORTAL_CONFIG`` (default /etc/telework-portal/portal.json,
written by role vpn_gateway): ``session_key_file``, ``totp_key_file`` (a Fernet key),
``database``, ``gate_socket``, ``issuer``, ``enrol_networks`` (CIDR list),
``session_idle_seconds``, ``session_max_seconds``, ``ldap`` (the fields of LdapDirectory).
A configuration that is not what it should be stops the start with one line naming it."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from portal_app import Settings, create_app
from portal_directory import LdapDirectory
from portal_gate_client import GateClient
from portal_store import Store

DEFAULT_CONFIG = "/etc/telework-portal/portal.json"
DEFAULT_SOCKET = "/run/telework-portal-gate/gate.sock"
LDAP_FIELDS = frozenset(LdapDirectory.__dataclass_fields__)


class ConfigError(ValueError):
    """The portal's configuration is not what it should be."""


def _read(path: str) -> dict[str, Any]:
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if not isinstance(config, dict) or not isinstance(config.get("ldap"), dict):
        raise ConfigError(f"{path}: a JSON object with an ldap object is expected")
    unknown = set(config["ldap"]) - LDAP_FIELDS
    if unknown:
        raise ConfigError(f"{path}: unknown ldap fields {sorted(unknown)}")
    return config


def app_from_config(path: str) -> Flask:
    config = _read(path)
    try:
        settings = Settings(
            secret_key=Path(config["session_key_file"]).read_bytes().strip(),
            issuer=str(config.get("issuer", "Administration")),
            enrol_networks=tuple(
                ipaddress.ip_network(n, strict=False) for n in config.get("enrol_networks", [])
            ),
            session_idle_seconds=int(config.get("session_idle_seconds", 900)),
            session_max_seconds=int(config.get("session_max_seconds", 36000)),
        )
        store = Store(config["database"], Path(config["totp_key_file"]).read_bytes().strip())
        directory = LdapDirectory(**config["ldap"])
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {type(exc).__name__}: {exc}") from exc
    gate = GateClient(str(config.get("gate_socket", DEFAULT_SOCKET)))
    return create_app(settings, directory, gate, store)


def app_from_env() -> Flask:
    """For gunicorn."""
    if not logging.getLogger().handlers:  # the journal reads stderr
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    return app_from_config(os.environ.get("TELEWORK_PORTAL_CONFIG", DEFAULT_CONFIG))
