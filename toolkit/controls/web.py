"""Web services, WEB-01 to WEB-04 (docs/controls.md).

Each TLS port the host's profiles list is scanned once with sslyze (protocol versions,
cipher suites, certificate) and the three TLS controls judge that scan; WEB-04 speaks
HTTP to each HTTP port and HTTPS to each TLS port, over a session whose certificate proved
the host's name (toolkit.controls.tls). Probes go to the host's service address, never
through SSH.
"""

from __future__ import annotations

import http.client
import logging
import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params, as_list
from toolkit.audit.registry import control
from toolkit.controls import tls as tlslib

log = logging.getLogger(__name__)

VERSIONS = {
    "ssl_2_0_cipher_suites": "SSLv2",
    "ssl_3_0_cipher_suites": "SSLv3",
    "tls_1_0_cipher_suites": "TLSv1.0",
    "tls_1_1_cipher_suites": "TLSv1.1",
    "tls_1_2_cipher_suites": "TLSv1.2",
    "tls_1_3_cipher_suites": "TLSv1.3",
}


@dataclass
class TlsScan:
    """What sslyze saw on one port (or why it could not look)."""

    port: int
    error: str | None = None
    accepted: dict[str, list[str]] = field(default_factory=dict)  # version -> suites
    chain: list[x509.Certificate] = field(default_factory=list)
    trusted: bool = False
    trust_errors: list[str] = field(default_factory=list)


def _scan(ctx: Context, port: int, server_name: str, ca_file: str) -> TlsScan:
    # sslyze is imported here: it loads several trust stores, which only TLS scans need.
    from sslyze import (  # noqa: PLC0415
        CertificateInfoExtraArgument,
        ScanCommand,
        ScanCommandAttemptStatusEnum,
        ScanCommandsExtraArguments,
        Scanner,
        ServerConnectivityStatusEnum,
        ServerNetworkConfiguration,
        ServerNetworkLocation,
        ServerScanRequest,
    )

    commands = {getattr(ScanCommand, name.upper()) for name in VERSIONS}
    commands.add(ScanCommand.CERTIFICATE_INFO)
    extra = ScanCommandsExtraArguments(
        certificate_info=CertificateInfoExtraArgument(custom_ca_file=Path(ca_file))
        if ca_file
        else None
    )
    request = ServerScanRequest(
        server_location=ServerNetworkLocation(server_name, port, ip_address=ctx.address),
        network_configuration=ServerNetworkConfiguration(
            tls_server_name_indication=server_name,
            network_timeout=int(max(1, ctx.probe_timeout)),
            network_max_retries=1,
        ),
        scan_commands=commands,
        scan_commands_extra_arguments=extra,
    )
    scan = TlsScan(port)
    scanner = Scanner(per_server_concurrent_connections_limit=4, concurrent_server_scans_limit=1)
    with warnings.catch_warnings():
        # sslyze's bundled trust stores hold old roots that cryptography warns about
        warnings.simplefilter("ignore")
        scanner.queue_scans([request])
        results = list(scanner.get_results())
    result = results[0]
    if result.connectivity_status != ServerConnectivityStatusEnum.COMPLETED:
        trace = result.connectivity_error_trace
        why = "".join(trace.format_exception_only()).strip() if trace else "unknown"
        scan.error = f"no TLS connection ({result.connectivity_status.name}): {why}"
        return scan
    attempts = result.scan_result
    if attempts is None:
        scan.error = f"sslyze gave no result ({result.scan_status.name})"
        return scan
    for name, version in VERSIONS.items():
        attempt = getattr(attempts, name)
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED or attempt.result is None:
            scan.error = f"{version} scan failed: {attempt.error_reason}"
            return scan
        suites = [s.cipher_suite.name for s in attempt.result.accepted_cipher_suites]
        if suites:
            scan.accepted[version] = suites
    cert = attempts.certificate_info
    if cert.status == ScanCommandAttemptStatusEnum.COMPLETED and cert.result is not None:
        deployment = cert.result.certificate_deployments[0]
        scan.chain = list(deployment.received_certificate_chain)
        for check in deployment.path_validation_results:
            if check.was_validation_successful:
                scan.trusted = True
            else:
                scan.trust_errors.append(f"{check.trust_store.name}: {check.validation_error}")
    else:
        scan.error = f"certificate scan failed: {cert.error_reason}"
    return scan


def _scans(ctx: Context, p: Params) -> list[TlsScan]:
    """One sslyze scan a TLS port, shared by WEB-01..03 of this host."""
    name, ca_file = ctx.server_name, ctx.ca_file
    scans = []
    for port in ctx.tls_ports:

        def scan_port(port: int = port) -> TlsScan:
            return _scan(ctx, port, name, ca_file)

        scan = ctx.memo(f"tls:{port}", scan_port)
        probe = f"sslyze {ctx.address}:{port} (SNI {name})"
        if scan.error:
            ctx.note(probe, scan.error)
            raise ControlError(f"port {port}: {scan.error}")
        scans.append(scan)
    return scans


def _no_ports(ctx: Context) -> Outcome | None:
    if not ctx.tls_ports:
        return Outcome.skipped("the host's profiles list no TLS port")
    return None


@control("WEB-01", needs_ssh=False)
def tls_versions(ctx: Context, p: Params) -> Outcome:
    """Only TLS 1.2 and 1.3 are accepted."""
    if skip := _no_ports(ctx):
        return skip
    allowed = {str(v) for v in as_list(p["allowed_versions"])}
    problems = []
    for scan in _scans(ctx, p):
        versions = sorted(scan.accepted)
        ctx.note(
            f"sslyze {ctx.address}:{scan.port}  (protocol versions)",
            "accepted: " + ", ".join(versions),
        )
        bad = [v for v in versions if v not in allowed]
        if bad:
            problems.append(f"port {scan.port} accepts {', '.join(bad)}")
        if not versions:
            problems.append(f"port {scan.port} accepts no protocol version")
    return Outcome.of(problems, f"only {', '.join(sorted(allowed))} accepted")


def _weak_suite(
    name: str, allowed: list[re.Pattern[str]], forbidden: list[re.Pattern[str]]
) -> bool:
    return any(r.search(name) for r in forbidden) or not any(r.search(name) for r in allowed)


@control("WEB-02", needs_ssh=False)
def tls_cipher_suites(ctx: Context, p: Params) -> Outcome:
    """ECDHE key exchange and AEAD ciphers only, in the versions WEB-01 allows."""
    if skip := _no_ports(ctx):
        return skip
    allowed = [re.compile(str(x)) for x in as_list(p["allowed"])]
    forbidden = [re.compile(str(x)) for x in as_list(p["forbidden"])]
    judged = {str(v) for v in as_list(p["versions"])}
    problems = []
    for scan in _scans(ctx, p):
        lines = []
        for version, suites in sorted(scan.accepted.items()):
            if version not in judged:
                continue
            lines.append(f"{version}: {', '.join(suites)}")
            weak = [s for s in suites if _weak_suite(s, allowed, forbidden)]
            if weak:
                problems.append(f"port {scan.port} {version}: {', '.join(weak)}")
        ctx.note(f"sslyze {ctx.address}:{scan.port}  (cipher suites)", "\n".join(lines) or "none")
    return Outcome.of(problems, "ECDHE + AEAD suites only")


def _names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        return [str(n) for n in san.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        return []


def name_matches(name: str, patterns: list[str]) -> bool:
    """RFC 6125 matching of a host name against a certificate's DNS names (one leftmost
    wildcard label)."""
    name = name.lower().rstrip(".")
    for pattern in (p.lower().rstrip(".") for p in patterns):
        if pattern == name:
            return True
        if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
            return True
    return False


@control("WEB-03", needs_ssh=False)
def tls_certificate(ctx: Context, p: Params) -> Outcome:
    """Strong key and signature, a chain that validates, the right name, time left."""
    if skip := _no_ports(ctx):
        return skip
    name = ctx.server_name
    problems = []
    for scan in _scans(ctx, p):
        if not scan.chain:
            problems.append(f"port {scan.port}: no certificate received")
            continue
        leaf = scan.chain[0]
        key = leaf.public_key()
        hash_name = leaf.signature_hash_algorithm.name if leaf.signature_hash_algorithm else "none"
        left = (leaf.not_valid_after_utc - datetime.now(UTC)).days
        names = _names(leaf)
        ctx.note(
            f"sslyze {ctx.address}:{scan.port}  (certificate)",
            f"subject: {leaf.subject.rfc4514_string()}\nDNS names: {', '.join(names) or 'none'}\n"
            f"key: {type(key).__name__} {getattr(key, 'key_size', '?')} bits, "
            f"signature {hash_name}\n"
            f"expires: {leaf.not_valid_after_utc:%Y-%m-%d} ({left} days)\n"
            f"trusted: {scan.trusted}"
            + ("" if scan.trusted else f" ({scan.trust_errors[-1] if scan.trust_errors else ''})"),
        )
        where = f"port {scan.port}"
        if isinstance(key, rsa.RSAPublicKey):
            if key.key_size < int(p["min_rsa_bits"]):
                problems.append(f"{where}: RSA key of {key.key_size} bits")
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if key.key_size < int(p["min_ecdsa_bits"]):
                problems.append(f"{where}: ECDSA key of {key.key_size} bits")
        else:
            problems.append(f"{where}: {type(key).__name__} key")
        if hash_name not in as_list(p["allowed_signature_hashes"]):
            problems.append(f"{where}: signed with {hash_name}")
        if not scan.trusted:
            problems.append(f"{where}: chain does not validate")
        if not name_matches(name, names):
            problems.append(f"{where}: not valid for {name} ({', '.join(names) or 'no DNS name'})")
        if left < int(p["min_days_left"]):
            problems.append(f"{where}: expires in {left} days (at least {p['min_days_left']})")
    return Outcome.of(problems, "strong, trusted certificate for the right name")


def _get(ctx: Context, port: int, *, tls: bool, server_name: str) -> tuple[int, dict[str, str]]:
    if tls:
        # Headers count only from the server that proved the name (WEB-03 says why not).
        conn: http.client.HTTPConnection = tlslib.HTTPS(
            ctx.address,
            port,
            server_name=server_name,
            context=tlslib.verifying_context(ctx.ca_file),
            timeout=ctx.probe_timeout,
        )
    else:
        conn = http.client.HTTPConnection(ctx.address, port, timeout=ctx.probe_timeout)
    try:
        conn.request(
            "GET", "/", headers={"Host": server_name, "User-Agent": "telework-toolkit audit"}
        )
        response = conn.getresponse()
        response.read(65536)
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


@control("WEB-04", needs_ssh=False)
def https_redirect_hsts(ctx: Context, p: Params) -> Outcome:
    """Plain HTTP redirects to HTTPS; HTTPS answers with HSTS of at least N days."""
    if not ctx.tls_ports and not ctx.http_ports:
        return Outcome.skipped("the host's profiles list no HTTP or TLS port")
    name = ctx.server_name
    problems = []
    min_age = int(p["min_hsts_days"]) * 86400
    try:
        for port in ctx.http_ports:
            status, headers = _get(ctx, port, tls=False, server_name=name)
            location = headers.get("location", "")
            ctx.note(
                f"GET http://{ctx.address}:{port}/ (Host: {name})",
                f"{status} Location: {location or '-'}",
            )
            if status not in (301, 302, 307, 308) or not location.startswith("https://"):
                problems.append(f"http port {port}: {status} without a redirect to https")
        for port in ctx.tls_ports:
            status, headers = _get(ctx, port, tls=True, server_name=name)
            hsts = headers.get("strict-transport-security", "")
            ctx.note(
                f"GET https://{ctx.address}:{port}/ (Host: {name})",
                f"{status} Strict-Transport-Security: {hsts or '-'}",
            )
            m = re.search(r"max-age\s*=\s*\"?(\d+)", hsts, re.I)
            if not m:
                problems.append(f"port {port}: no HSTS header")
            elif int(m.group(1)) < min_age:
                problems.append(f"port {port}: HSTS max-age {m.group(1)} s (at least {min_age})")
    except (OSError, http.client.HTTPException) as exc:  # ssl.SSLError is an OSError
        raise ControlError(f"HTTP probe of {ctx.address}: {exc}") from exc
    return Outcome.of(problems, "HTTP redirects to HTTPS, HSTS set")
