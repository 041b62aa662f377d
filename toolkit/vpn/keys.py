"""WireGuard keys made on the controller (Curve25519, base64 as `wg` prints them)."""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.hazmat.primitives.serialization import PublicFormat as _PublicFormat

#: 32 bytes in base64, as `wg genkey`, `wg pubkey` and `wg genpsk` print them.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")


@dataclass(frozen=True)
class KeyPair:
    private: str
    public: str

    def __repr__(self) -> str:  # never show the private key in logs or tracebacks
        return f"KeyPair(public={self.public!r})"


def generate_keypair() -> KeyPair:
    """A new Curve25519 key pair."""
    key = X25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, _PublicFormat.Raw)
    return KeyPair(base64.b64encode(private).decode(), base64.b64encode(public).decode())


def public_key_of(private: str) -> str:
    """The public key of a base64 private key (what `wg pubkey` prints)."""
    key = X25519PrivateKey.from_private_bytes(base64.b64decode(private))
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, _PublicFormat.Raw)).decode()


def generate_psk() -> str:
    """A new preshared key (32 random bytes)."""
    return base64.b64encode(os.urandom(32)).decode()
