"""WireGuard's handshake, initiator side (Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, as the
WireGuard paper and wireguard-go write it): what ``toolkit load vpn`` sends a gateway for
each simulated teleworker, with the gateway's answer checked as a client checks it.

Plain functions on bytes (no sockets, no Locust): :class:`Initiator` makes the 148-byte
initiation, reads the 92-byte response (its MAC, its receiver index and its sealed empty
payload: a response made without the peer's keys is refused) and derives the session's
keys, then makes the first transport message (a keepalive) that confirms the session on
the gateway's side (``wg show`` then lists the handshake). A cookie reply (the gateway's
guard under load) is recognised and reported as such; anything else is refused.

A gateway's answer is untrusted: lengths and types are checked before anything is read."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import time
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from toolkit.vpn.keys import KEY_PATTERN, generate_keypair, public_key_of

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"
#: Message types and lengths (bytes).
INITIATION, RESPONSE, COOKIE_REPLY, TRANSPORT = 1, 2, 3, 4
INITIATION_SIZE, RESPONSE_SIZE, COOKIE_REPLY_SIZE = 148, 92, 64
#: The most a gateway's datagram is read to (anything longer is not a handshake message).
MAX_DATAGRAM = 256
_TAI64_EPOCH = 2**62 + 10  # TAI64 label of 1970 (TAI is 10 s ahead of UTC then)


class HandshakeError(ValueError):
    """The gateway's answer is not a valid response to this initiation."""


class StaleResponseError(HandshakeError):
    """A response to another initiation (an earlier one of the same peer that timed out)."""


class CookieReplyError(HandshakeError):
    """The gateway answered with a cookie: it is under load and asks the peer to prove its
    address before it does the handshake's work (WireGuard's DoS guard)."""


def _hash(*parts: bytes) -> bytes:
    return hashlib.blake2s(b"".join(parts)).digest()


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.blake2s).digest()


def _kdf(key: bytes, data: bytes, n: int) -> list[bytes]:
    """HKDF over HMAC-BLAKE2s: ``n`` 32-byte outputs."""
    prk = _hmac(key, data)
    out, last = [], b""
    for i in range(1, n + 1):
        last = _hmac(prk, last + bytes([i]))
        out.append(last)
    return out


def _mac(key: bytes, data: bytes) -> bytes:
    return hashlib.blake2s(data, digest_size=16, key=key).digest()


def _aead(key: bytes, counter: int, plain: bytes, ad: bytes) -> bytes:
    return ChaCha20Poly1305(key).encrypt(b"\0" * 4 + struct.pack("<Q", counter), plain, ad)


def _open(key: bytes, counter: int, sealed: bytes, ad: bytes) -> bytes:
    try:
        return ChaCha20Poly1305(key).decrypt(b"\0" * 4 + struct.pack("<Q", counter), sealed, ad)
    except InvalidTag as exc:  # a payload not sealed for us
        raise HandshakeError("the response's sealed payload does not open") from exc


def tai64n(now: float | None = None) -> bytes:
    """12-byte TAI64N timestamp (the gateway refuses one not newer than the last)."""
    moment = time.time() if now is None else now
    seconds = int(moment)
    return struct.pack(">QI", _TAI64_EPOCH + seconds, int((moment - seconds) * 1e9))


@dataclass(frozen=True)
class KeyPair:
    """A peer's static X25519 key pair as raw 32-byte keys (the handshake's arithmetic);
    made and derived by toolkit.vpn.keys, as every other key of the project."""

    private: bytes = field(repr=False)  # never in logs or tracebacks
    public: bytes

    @classmethod
    def generate(cls) -> KeyPair:
        pair = generate_keypair()
        return cls(decode_key(pair.private), decode_key(pair.public))

    @classmethod
    def from_private(cls, private: bytes) -> KeyPair:
        return cls(private, decode_key(public_key_of(base64.b64encode(private).decode())))

    @property
    def public_b64(self) -> str:
        """The public key as `wg` writes it."""
        return base64.b64encode(self.public).decode()


def decode_key(text: str) -> bytes:
    """A key as `wg` writes it (base64 of 32 bytes: toolkit.vpn.keys.KEY_PATTERN)."""
    if not KEY_PATTERN.match(text.strip()):
        raise ValueError("not a WireGuard key (32 bytes in base64)")
    return base64.b64decode(text.strip())


def _dh(private: bytes, public: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private).exchange(
        X25519PublicKey.from_public_bytes(public)
    )


@dataclass(frozen=True)
class Session:
    """Keys of a completed handshake, from the initiator's side."""

    local_index: int
    remote_index: int
    sending_key: bytes
    receiving_key: bytes

    def keepalive(self) -> bytes:
        """The first transport message: an empty payload, counter 0 (it confirms the
        session on the gateway, which then counts the handshake as done)."""
        header = struct.pack("<I I Q", TRANSPORT, self.remote_index, 0)
        return header + _aead(self.sending_key, 0, b"", b"")


class Initiator:
    """One handshake from ``peer`` to the gateway whose public key is ``gateway``."""

    def __init__(self, peer: KeyPair, gateway: bytes, psk: bytes = b"\0" * 32) -> None:
        self.peer, self.gateway, self.psk = peer, gateway, psk
        self.index = int.from_bytes(os.urandom(4), "little")
        self._ephemeral = KeyPair.generate()
        self._chain = self._hash = b""

    def initiation(self, now: float | None = None) -> bytes:
        """The 148-byte handshake initiation (no cookie: mac2 is zeros)."""
        chain = _hash(CONSTRUCTION)
        h = _hash(_hash(chain, IDENTIFIER), self.gateway)
        ephemeral = self._ephemeral.public
        (chain,) = _kdf(chain, ephemeral, 1)
        h = _hash(h, ephemeral)
        chain, key = _kdf(chain, _dh(self._ephemeral.private, self.gateway), 2)
        static = _aead(key, 0, self.peer.public, h)
        h = _hash(h, static)
        chain, key = _kdf(chain, _dh(self.peer.private, self.gateway), 2)
        stamp = _aead(key, 0, tai64n(now), h)
        h = _hash(h, stamp)
        self._chain, self._hash = chain, h
        body = struct.pack("<I I", INITIATION, self.index) + ephemeral + static + stamp
        mac1 = _mac(_hash(LABEL_MAC1, self.gateway), body)
        return body + mac1 + b"\0" * 16

    def response(self, datagram: bytes) -> Session:
        """The session the gateway's response completes; HandshakeError for anything that is
        not a response to this initiation (CookieReplyError for a cookie reply)."""
        if not self._chain:
            raise HandshakeError("no initiation was sent")
        if len(datagram) == COOKIE_REPLY_SIZE and datagram[:4] == struct.pack("<I", COOKIE_REPLY):
            raise CookieReplyError("the gateway answered with a cookie (under load)")
        if len(datagram) != RESPONSE_SIZE or datagram[:4] != struct.pack("<I", RESPONSE):
            raise HandshakeError(f"not a handshake response ({len(datagram)} bytes)")
        sender, receiver = struct.unpack_from("<I I", datagram, 4)
        if receiver != self.index:
            raise StaleResponseError("the response is for another initiation")
        mac1 = _mac(_hash(LABEL_MAC1, self.peer.public), datagram[:60])
        if not hmac.compare_digest(mac1, datagram[60:76]):
            raise HandshakeError("the response's mac1 is wrong")
        ephemeral, sealed = datagram[12:44], datagram[44:60]
        (chain,) = _kdf(self._chain, ephemeral, 1)
        h = _hash(self._hash, ephemeral)
        (chain,) = _kdf(chain, _dh(self._ephemeral.private, ephemeral), 1)
        (chain,) = _kdf(chain, _dh(self.peer.private, ephemeral), 1)
        chain, tau, key = _kdf(chain, self.psk, 3)
        h = _hash(h, tau)
        _open(key, 0, sealed, h)
        sending, receiving = _kdf(chain, b"", 2)
        return Session(self.index, sender, sending, receiving)
