"""TLS for every control that speaks it with the standard library (SMTP, IMAP, HTTPS).

The probed address is often an IP (``audit_address``), but a server is judged, and a
credential sent, only once it has proved the name it must present (``audit_server_name``,
or a name the control is given such as MAIL-07's ``mx_name``): every connection here is
made to the address with ``server_hostname`` set to that name, and the context checks the
chain against the target's CA file, the name and TLS 1.2 or newer. A certificate that
does not verify raises :class:`CertificateRefusedError` before one byte of the application
protocol is sent over it. (sslyze's scans, WEB-01..03, are sslyze's own business.)
"""

from __future__ import annotations

import http.client
import imaplib
import logging
import smtplib
import socket
import ssl
from typing import TYPE_CHECKING

from toolkit.audit.model import ControlError

if TYPE_CHECKING:
    from toolkit.audit.context import Context

log = logging.getLogger(__name__)

#: Seconds a connection may take when a library gives no timeout (ours always do).
DEFAULT_TIMEOUT = 30.0
#: OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH.
_HOSTNAME_MISMATCH = 62


class CertificateRefusedError(ControlError):
    """The server's certificate does not verify for the name it must present; nothing was
    sent to it over TLS."""


def verifying_context(ca_file: str) -> ssl.SSLContext:
    """A client context that trusts ``ca_file`` (the system's CAs when empty), checks the
    server name and refuses anything older than TLS 1.2."""
    context = ssl.create_default_context(cafile=ca_file or None)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def handshake_only_context(maximum: ssl.TLSVersion) -> ssl.SSLContext:
    """A context that verifies nothing and offers old versions, up to ``maximum``: only for
    probes that send nothing and learn only whether the server completes such a handshake
    (MAIL-07's TLS 1.1 probe)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = maximum
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def service_name(ctx: Context, name: str = "") -> str:
    """The name the service must present: ``name`` if given, else the host's
    ``audit_server_name``; never the probed address."""
    found = name or ctx.server_name
    if not found:
        raise ControlError(f"{ctx.name}: no server name to check the certificate against")
    return found


def wrap(
    sock: socket.socket, context: ssl.SSLContext, server_name: str, where: str
) -> ssl.SSLSocket:
    """TLS handshake on a connected socket, for ``server_name`` (SNI and the name checked).
    The socket's timeout bounds the handshake; it is closed when the handshake fails."""
    try:
        return context.wrap_socket(sock, server_hostname=server_name)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        if exc.verify_code == _HOSTNAME_MISMATCH:
            why = f"the certificate does not match the name {server_name}"
        else:
            why = f"the certificate is not trusted for {server_name} ({exc.verify_message})"
        log.info("%s: %s", where, why)
        raise CertificateRefusedError(f"{where}: {why}; nothing was sent") from exc
    except OSError:
        sock.close()
        raise


def connect(
    address: str, port: int, server_name: str, context: ssl.SSLContext, timeout: float
) -> ssl.SSLSocket:
    """A TLS connection to ``address:port`` that has proved ``server_name``."""
    sock = socket.create_connection((address, port), timeout=timeout)
    return wrap(sock, context, server_name, f"TLS {address}:{port}")


def starttls(smtp: smtplib.SMTP, server_name: str, context: ssl.SSLContext) -> ssl.SSLSocket:
    """STARTTLS on an open SMTP session, the certificate checked for ``server_name`` (not
    the address the session was opened to, as ``smtplib.SMTP.starttls`` would)."""
    smtp.ehlo_or_helo_if_needed()
    if not smtp.has_extn("starttls"):
        raise smtplib.SMTPNotSupportedError("the server does not offer STARTTLS")
    code, reply = smtp.docmd("STARTTLS")
    if code != 220:
        raise smtplib.SMTPResponseException(code, reply)
    if smtp.sock is None:
        raise smtplib.SMTPServerDisconnected("connection closed before STARTTLS")
    secured = wrap(smtp.sock, context, server_name, "STARTTLS")
    # what smtplib.SMTP.starttls resets: the server's answers before TLS are forgotten
    smtp.sock, smtp.file = secured, None
    smtp.helo_resp = smtp.ehlo_resp = None
    smtp.esmtp_features, smtp.does_esmtp = {}, False
    return secured


class SMTPS(smtplib.SMTP):
    """SMTP over implicit TLS (port 465), the certificate checked for ``server_name``."""

    def __init__(
        self, address: str, port: int, *, server_name: str, context: ssl.SSLContext, timeout: float
    ) -> None:
        self.server_name, self.context = server_name, context
        super().__init__(address, port, timeout=timeout)

    def connect(
        self, host: str = "localhost", port: int = 0, source_address: object = None
    ) -> tuple[int, bytes]:
        self.tls = connect(host, port, self.server_name, self.context, float(self.timeout))
        self.sock, self.file = self.tls, None
        return self.getreply()


class IMAPS(imaplib.IMAP4):
    """IMAP over implicit TLS (port 993), the certificate checked for ``server_name``."""

    def __init__(
        self, address: str, port: int, *, server_name: str, context: ssl.SSLContext, timeout: float
    ) -> None:
        self.server_name, self.context = server_name, context
        super().__init__(address, port, timeout=timeout)

    def open(self, host: str = "", port: int = 993, timeout: float | None = None) -> None:
        self.host, self.port = host, port
        self.tls = connect(host, port, self.server_name, self.context, timeout or DEFAULT_TIMEOUT)
        self.sock = self.tls
        self.file = self.tls.makefile("rb")


class HTTPS(http.client.HTTPConnection):
    """HTTPS to an address, the certificate checked for ``server_name``."""

    default_port = 443

    def __init__(
        self, address: str, port: int, *, server_name: str, context: ssl.SSLContext, timeout: float
    ) -> None:
        super().__init__(address, port, timeout=timeout)
        self.server_name, self.context = server_name, context

    def connect(self) -> None:
        super().connect()
        self.sock = wrap(
            self.sock, self.context, self.server_name, f"HTTPS {self.host}:{self.port}"
        )
