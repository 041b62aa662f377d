"""Filters of role baseline: the lock-out guard's comparisons of SSH keys and addresses.

Standard library only (``ipaddress``, ``hashlib``): ansible.utils' ipaddr filters need
netaddr, which the controller's environment does not carry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import re
from collections.abc import Iterable
from typing import Any

#: Key types OpenSSH accepts in authorized_keys (plain, certificates, security keys).
_KEY_TYPE = re.compile(
    r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+"
    r"|ssh-ed25519-cert-v01@openssh\.com|ssh-rsa-cert-v01@openssh\.com"
    r"|ecdsa-sha2-nistp(256|384|521)-cert-v01@openssh\.com)$"
)


def _blob(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def ssh_key_ids(keys: Any) -> list[str]:
    """``TYPE BASE64`` of every public key in ``keys`` (a string or a list of strings,
    each possibly several authorized_keys lines), options and comments left out, so that
    the same key compares equal however it is written."""
    if isinstance(keys, str):
        keys = [keys]
    found: list[str] = []
    for entry in keys or []:
        for line in str(entry).splitlines():
            fields = line.split()
            for i, field in enumerate(fields[:-1]):
                # options come first and may hold spaces only inside quotes, which never
                # make a field that is exactly a key type followed by valid base64
                if _KEY_TYPE.match(field) and _blob(fields[i + 1]):
                    ident = f"{field} {fields[i + 1]}"
                    if ident not in found:
                        found.append(ident)
                    break
    return found


def ssh_key_fingerprint(key_id: str) -> str:
    """OpenSSH's ``SHA256:`` fingerprint of a ``TYPE BASE64`` key (as ``ssh-keygen -l``)."""
    parts = str(key_id).split()
    blob = _blob(parts[1]) if len(parts) > 1 else None
    if blob is None:
        return str(key_id)
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"{parts[0]} SHA256:{digest}"


def address_in_networks(address: Any, networks: Iterable[Any]) -> bool:
    """Whether ``address`` (as sshd reports it: IPv4, IPv6, IPv4-mapped IPv6, maybe with
    a zone) lies in one of ``networks`` (CIDR or single addresses). Unparsable input is
    never inside."""
    text = str(address or "").strip().strip("[]").split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for net in networks or []:
        try:
            network = ipaddress.ip_network(str(net).strip(), strict=False)
        except ValueError:
            continue
        if ip.version == network.version and ip in network:
            return True
    return False


def ssh_client_address(ssh_connection: Any) -> str:
    """The client's address from ``SSH_CONNECTION`` or ``SSH_CLIENT`` (first field)."""
    fields = str(ssh_connection or "").split()
    return fields[0] if fields else ""


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "baseline_ssh_key_ids": ssh_key_ids,
            "baseline_ssh_key_fingerprint": ssh_key_fingerprint,
            "baseline_address_in_networks": address_in_networks,
            "baseline_ssh_client_address": ssh_client_address,
        }
