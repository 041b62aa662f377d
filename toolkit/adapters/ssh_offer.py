"""What an SSH server offers on the wire: its KEXINIT lists (key exchange, host key,
cipher and MAC algorithms) and the authentication methods it allows (LNX-03, LNX-04).

The audit's own connection keeps them (:func:`audit_transport`, :func:`connection_offer`):
no second key exchange on every host. :func:`probe_offer` asks on a connection of its own
when that connection did not see them all.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any

import paramiko

log = logging.getLogger(__name__)

#: The memo key (Context.memo) of the host's ServerOffer, shared by LNX-03 and LNX-04.
OFFER_MEMO = "ssh-offer"


@dataclass(frozen=True)
class ServerOffer:
    """What an SSH server offers before anyone logs in."""

    banner: str
    kex: tuple[str, ...]
    host_key: tuple[str, ...]
    ciphers: tuple[str, ...]
    macs: tuple[str, ...]
    auth_methods: tuple[str, ...] | None  # None when the server did not say


class _OfferTransport(paramiko.Transport):
    """A client transport that keeps the server's KEXINIT lists."""

    offer: dict[str, list[str]] | None = None

    def _really_parse_kex_init(self, m: paramiko.Message, ignore_first_byte: bool = False) -> Any:
        parsed = super()._really_parse_kex_init(m, ignore_first_byte)  # type: ignore[misc]
        if not self.server_mode and self.offer is None:
            self.offer = parsed
        return parsed


class _AuditTransport(_OfferTransport):
    """The audit's client transport: AES-GCM preferred (one pass for encryption and
    integrity: about half the CPU of AES-CTR with HMAC-SHA2 on bulk output; CTR still
    accepted), the server's KEXINIT lists kept, and before the first public key the
    methods the server offers asked with a "none" request, as OpenSSH's client does: the
    wire facts of LNX-03/04 come from the audit's own connection instead of a second one
    (a second key exchange on every host)."""

    _preferred_ciphers = (
        "aes128-gcm@openssh.com",
        "aes256-gcm@openssh.com",
        *(c for c in paramiko.Transport._preferred_ciphers if "gcm" not in c),  # type: ignore[attr-defined]
    )
    auth_methods: tuple[str, ...] | None = None
    _asked = False

    def auth_publickey(self, username: str, key: paramiko.PKey, event: Any = None) -> Any:
        if not self._asked:
            self._asked = True
            try:
                self.auth_none(username)
            except paramiko.BadAuthenticationType as exc:
                self.auth_methods = tuple(exc.allowed_types)
            except paramiko.AuthenticationException as exc:
                log.debug("'none' authentication request: %s", exc)
            else:  # logged in with no authentication at all
                self.auth_methods = ("none",)
                return []
        return super().auth_publickey(username, key, event)


def audit_transport(
    sock: Any,
    *,
    gss_kex: bool = False,
    gss_deleg_creds: bool = True,
    disabled_algorithms: Any = None,
) -> paramiko.Transport:
    """SSHClient's transport_factory: an :class:`_AuditTransport` (no GSSAPI: keys only)."""
    if gss_kex:
        raise paramiko.SSHException("GSSAPI key exchange is not used by the audit")
    return _AuditTransport(sock, disabled_algorithms=disabled_algorithms)


def connection_offer(client: paramiko.SSHClient) -> ServerOffer | None:
    """What the server offered on ``client``'s connection (made by :func:`connect`), or
    None when it was not all seen (then :func:`probe_offer` asks on a connection of its
    own)."""
    transport = client.get_transport()
    if not isinstance(transport, _AuditTransport) or transport.offer is None:
        return None
    if transport.auth_methods is None:
        return None
    return _server_offer(transport, transport.auth_methods)


def _server_offer(transport: _OfferTransport, auth: tuple[str, ...] | None) -> ServerOffer:
    offer = transport.offer
    if offer is None:
        raise paramiko.SSHException("the server sent no KEXINIT")
    return ServerOffer(
        banner=str(transport.remote_version or ""),
        kex=tuple(offer["kex_algo_list"]),
        host_key=tuple(offer["server_key_algo_list"]),
        ciphers=tuple(
            dict.fromkeys(offer["client_encrypt_algo_list"] + offer["server_encrypt_algo_list"])
        ),
        macs=tuple(dict.fromkeys(offer["client_mac_algo_list"] + offer["server_mac_algo_list"])),
        auth_methods=auth,
    )


def probe_offer(host: str, port: int, *, timeout: float, user: str = "audit") -> ServerOffer:
    """Read the server's algorithm lists (KEXINIT) and, when the key exchange completes,
    the authentication methods it allows (an unauthenticated "none" request). Nothing is
    logged in; raises OSError or paramiko.SSHException when nothing could be read."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = _OfferTransport(sock)
    transport.banner_timeout = timeout
    transport.handshake_timeout = timeout
    transport.auth_timeout = timeout
    auth: tuple[str, ...] | None = None
    try:
        try:
            transport.start_client(timeout=timeout)
            try:
                transport.auth_none(user)
                auth = ("none",)
            except paramiko.BadAuthenticationType as exc:
                auth = tuple(exc.allowed_types)
        except paramiko.SSHException as exc:
            if transport.offer is None:
                raise
            log.debug("%s:%s: key exchange stopped after KEXINIT: %s", host, port, exc)
        return _server_offer(transport, auth)
    finally:
        transport.close()
        sock.close()
