"""The peers of a ``toolkit load vpn`` run: key pairs made on the control node for the run
only, their public keys registered on the gateway's running interface before the ramp and
removed after it (playbooks/vpn_load_peers.yml), their private keys in a 0600 file that
the run's processes read.

No Locust import here: the CLI calls it around the run process."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.load.wireguard import KeyPair, decode_key
from toolkit.provision import run_playbook
from toolkit.vpn.keys import generate_keypair
from toolkit.vpn.layout import GATEWAYS_DIR

log = logging.getLogger(__name__)

PLAYBOOK = "playbooks/vpn_load_peers.yml"
#: Longest wait for the playbook that adds or removes the run's peers.
PLAYBOOK_TIMEOUT = 600.0
#: Largest keys file read (a 50,000-peer run: 45 bytes a key).
MAX_KEYS_FILE = 4 * 1024 * 1024
#: Largest gateway export read (a few thousand devices' addresses).
MAX_EXPORT = 16 * 1024 * 1024


@dataclass(frozen=True)
class LoadPeers:
    """The run's peers: ``private_file`` (0600) for the run, ``public_file`` for the
    gateway."""

    private_file: Path
    public_file: Path
    count: int


def make_peers(private_file: Path, count: int) -> LoadPeers:
    """``count`` new key pairs: private keys in ``private_file`` (0600, in a folder only
    this user reads), public keys beside it (``.pub``)."""
    pairs = [generate_keypair() for _ in range(count)]
    public_file = private_file.with_suffix(".pub")
    fd = os.open(private_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.writelines(p.private + "\n" for p in pairs)
    public_file.write_text("".join(p.public + "\n" for p in pairs), encoding="ascii")
    return LoadPeers(private_file, public_file, count)


def read_keys(path: str) -> list[KeyPair]:
    """The run's peers, from their private keys (base64, one a line)."""
    file = Path(path)
    if file.stat().st_size > MAX_KEYS_FILE:
        raise ValueError(f"{path}: larger than {MAX_KEYS_FILE} bytes")
    pairs = []
    for number, line in enumerate(file.read_text(encoding="ascii").splitlines(), 1):
        try:
            pairs.append(KeyPair.from_private(decode_key(line)))
        except ValueError as exc:
            raise ValueError(f"{path}, line {number}: {exc}") from exc
    if not pairs:
        raise ValueError(f"{path}: no key")
    return pairs


def gateway_export(inventory: Path, gateway: str) -> dict[str, Any]:
    """What role vpn_gateway exported of ``gateway`` (its public key and port)."""
    path = inventory / GATEWAYS_DIR / f"{gateway}.json"
    try:
        if path.stat().st_size > MAX_EXPORT:
            raise ToolkitError(f"{path}: larger than {MAX_EXPORT} bytes")
        data = json.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise ToolkitError(
            f"{path}: no export of the gateway {gateway}: run `toolkit provision` (role "
            "vpn_gateway) first, or give --gateway-key",
            exit_code=ExitCode.USAGE,
        ) from exc
    except (OSError, ValueError) as exc:
        raise ToolkitError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ToolkitError(f"{path}: not a gateway export (a JSON object)")
    return data


def set_peers(inventory: Path, gateway: str, peers: LoadPeers, *, present: bool) -> None:
    """Register (``present``) or remove the run's peers on ``gateway``."""
    what = "registered on" if present else "removed from"
    result = run_playbook(
        inventory,
        PLAYBOOK,
        limit=gateway,
        extra_vars={
            "telework_load_peers_file": str(peers.public_file),
            "telework_load_peers_state": "present" if present else "absent",
        },
        timeout=PLAYBOOK_TIMEOUT,
    )
    if result.returncode != 0 or gateway not in result.hosts:
        raise ToolkitError(
            f"the run's {peers.count} WireGuard peers could not be {what} {gateway} "
            f"(ansible-playbook exited {result.returncode}; log: {result.log_file})"
        )
    log.info("%d load peers %s %s", peers.count, what, gateway)
