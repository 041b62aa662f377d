"""Mail server, MAIL-01 to MAIL-09 (docs/controls.md).

The DNS-record controls (MAIL-01..06) read the domain's records with dnspython: from the
DNS (the resolver of the machine running the audit, with the probe timeout) or, when the
parameter ``zone_file`` is set, from a zone file such as the snippet the mail_server role
writes to ``<inventory>/.mail/<domain>.zone`` (the lab has no DNS zone: there the audit
judges the records the administration is asked to publish, not published ones). The
service controls (MAIL-04 policy, MAIL-07..09) speak SMTP, HTTPS and IMAP to the host's
service address, never through SSH, and never send a message. Every TLS session is opened
with toolkit.controls.tls: the certificate must be of the target's CA and valid for the
name the service presents (``audit_server_name``, MAIL-07's ``mx_name``, or
``mta-sts.<domain>``), whatever address is probed.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import imaplib
import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.zone
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params, as_list
from toolkit.audit.registry import control
from toolkit.controls import tls as tlslib
from toolkit.controls.web import name_matches

log = logging.getLogger(__name__)

Lookup = Callable[[str, str], list[str]]
SPF_LOOKUP_TERMS = re.compile(r"^[+~?-]?(include|a|mx|ptr|exists)\b|^redirect=", re.I)


def _zone_lookup(path: str, domain: str) -> Lookup:
    try:
        zone = dns.zone.from_file(path, origin=domain, relativize=False, check_origin=False)
    except (OSError, dns.exception.DNSException) as exc:
        raise ControlError(f"zone file {path}: {exc}") from exc

    def lookup(name: str, rdtype: str) -> list[str]:
        node = zone.get_node(dns.name.from_text(name))
        rdataset = (
            node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype)) if node else None
        )
        return [_text(r) for r in rdataset] if rdataset else []

    return lookup


def _dns_lookup(timeout: float) -> Lookup:
    def lookup(name: str, rdtype: str) -> list[str]:
        try:
            answer = dns.resolver.resolve(name, rdtype, lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            raise ControlError(f"DNS {rdtype} {name}: {exc}") from exc
        return [_text(r) for r in answer]

    return lookup


def _text(rdata: object) -> str:
    strings = getattr(rdata, "strings", None)
    if strings is not None:
        return b"".join(strings).decode()
    return str(rdata).rstrip(".")


def records(ctx: Context, p: Params) -> tuple[str, Lookup]:
    """The audited domain and how its records are read (zone file or DNS)."""
    domain = str(p.get("domain") or "").rstrip(".")
    if not domain:
        raise ControlError("set the parameter domain (audit_params) to the mail domain")
    zone_file = str(p.get("zone_file") or "")
    if zone_file:
        lookup = ctx.memo(f"zone:{zone_file}", lambda: _zone_lookup(zone_file, domain))
        ctx.note(f"zone file {zone_file}", f"records of {domain} read from the file, not from DNS")
    else:
        lookup = _dns_lookup(ctx.probe_timeout)
    return domain, lookup


def _txt(lookup: Lookup, name: str, prefix: str, ctx: Context) -> list[str]:
    found = [t for t in lookup(name, "TXT") if t.lower().startswith(prefix.lower())]
    ctx.note(f"TXT {name}", "\n".join(found) or "(none)")
    return found


def _tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            tags[key.strip().lower()] = value.strip()
    return tags


def spf_lookups(record: str, lookup: Lookup, depth: int = 0) -> int:
    """DNS-querying terms of an SPF record, includes and redirects followed (RFC 7208 4.6.4)."""
    count = 0
    for term in record.split()[1:]:
        if not SPF_LOOKUP_TERMS.search(term):
            continue
        count += 1
        target = re.split(r"[:=]", term, maxsplit=1)
        if depth < 10 and len(target) == 2 and re.match(r"^[+~?-]?include|^redirect", term, re.I):
            nested = [t for t in lookup(target[1], "TXT") if t.lower().startswith("v=spf1")]
            if nested:
                count += spf_lookups(nested[0], lookup, depth + 1)
    return count


@control("MAIL-01", needs_ssh=False)
def spf(ctx: Context, p: Params) -> Outcome:
    """One SPF record, at most 10 look-ups, ending with -all or ~all."""
    domain, lookup = records(ctx, p)
    found = _txt(lookup, domain, "v=spf1", ctx)
    if len(found) != 1:
        return Outcome.failed(f"{len(found)} SPF records for {domain} (exactly one is needed)")
    problems = []
    count = spf_lookups(found[0], lookup)
    if count > int(p["max_lookups"]):
        problems.append(f"{count} DNS look-ups (at most {p['max_lookups']})")
    last = found[0].split()[-1].lower()
    if last not in as_list(p["endings"]) and not last.startswith("redirect="):
        problems.append(f"ends with {last} (one of {', '.join(as_list(p['endings']))} is needed)")
    return Outcome.of(problems, f"one SPF record, {count} look-ups, ends {last}")


@control("MAIL-02", needs_ssh=False)
def dkim_key(ctx: Context, p: Params) -> Outcome:
    """The published DKIM key is RSA of at least N bits and not restricted to SHA-1."""
    domain, lookup = records(ctx, p)
    name = f"{p['selector']}._domainkey.{domain}"
    found = _txt(lookup, name, "v=DKIM1", ctx)
    if not found:
        return Outcome.failed(f"no DKIM key at {name}")
    tags = _tags(found[0])
    problems = []
    if tags.get("k", "rsa") != "rsa":
        problems.append(f"key type {tags['k']}")
    if "h" in tags and "sha256" not in tags["h"]:
        problems.append(f"hash algorithms {tags['h']} (sha256 is needed, rsa-sha1 is obsolete)")
    try:
        key = load_der_public_key(base64.b64decode(tags.get("p", "")))
    except ValueError as exc:
        return Outcome.failed(f"the key at {name} cannot be read: {exc}")
    if not isinstance(key, rsa.RSAPublicKey):
        problems.append("not an RSA key")
    elif key.key_size < int(p["min_rsa_bits"]):
        problems.append(f"RSA key of {key.key_size} bits (at least {p['min_rsa_bits']})")
    bits = getattr(key, "key_size", "?")
    return Outcome.of(problems, f"RSA {bits}-bit DKIM key at {name}")


@control("MAIL-03", needs_ssh=False)
def dmarc(ctx: Context, p: Params) -> Outcome:
    """DMARC policy quarantine or reject, with aggregate reports."""
    domain, lookup = records(ctx, p)
    found = _txt(lookup, f"_dmarc.{domain}", "v=DMARC1", ctx)
    if len(found) != 1:
        return Outcome.failed(f"{len(found)} DMARC records at _dmarc.{domain} (exactly one)")
    tags = _tags(found[0])
    problems = []
    if tags.get("p", "none").lower() not in as_list(p["policies"]):
        problems.append(f"p={tags.get('p', 'none')} (quarantine or reject is needed)")
    if not tags.get("rua", "").startswith("mailto:"):
        problems.append("no rua (aggregate reports) address")
    if int(tags.get("pct", "100")) < 100:
        problems.append(f"pct={tags['pct']} (the policy applies to part of the mail only)")
    return Outcome.of(problems, f"p={tags.get('p')}, reports to {tags.get('rua')}")


def _mx_hosts(domain: str, lookup: Lookup, ctx: Context) -> list[str]:
    hosts = [r.split()[-1].rstrip(".") for r in lookup(domain, "MX")]
    ctx.note(f"MX {domain}", "\n".join(hosts) or "(none)")
    return hosts


def _san(sock: ssl.SSLSocket) -> list[str]:
    """DNS names of the verified peer certificate."""
    cert = sock.getpeercert() or {}
    return [
        str(entry[1])
        for entry in cert.get("subjectAltName", ())
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == "DNS"
    ]


def _https_get(ctx: Context, host: str, path: str) -> tuple[int, str]:
    """GET ``path`` from ``host`` at the service address, once its certificate proved ``host``."""
    conn = tlslib.HTTPS(
        ctx.address,
        443,
        server_name=host,
        context=tlslib.verifying_context(ctx.ca_file),
        timeout=ctx.probe_timeout,
    )
    try:
        conn.request("GET", path, headers={"Host": host, "User-Agent": "telework-toolkit audit"})
        response = conn.getresponse()
        return response.status, response.read(65536).decode(errors="replace")
    except (OSError, http.client.HTTPException) as exc:
        raise ControlError(f"https://{host}{path} at {ctx.address}: {exc}") from exc
    finally:
        conn.close()


def judge_mta_sts(policy: str, mx_hosts: list[str]) -> list[str]:
    """What is wrong with an MTA-STS policy file for these MX hosts (RFC 8461 3.2)."""
    fields: dict[str, list[str]] = {}
    for line in policy.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            fields.setdefault(key.strip(), []).append(value.strip())
    problems = []
    if fields.get("version") != ["STSv1"]:
        problems.append("version is not STSv1")
    if fields.get("mode") != ["enforce"]:
        problems.append(f"mode {fields.get('mode', ['none'])[0]} (enforce is needed)")
    patterns = fields.get("mx", [])
    uncovered = [h for h in mx_hosts if not name_matches(h, patterns)]
    if uncovered or not mx_hosts:
        problems.append(f"mx list {patterns} does not cover {uncovered or 'any MX'}")
    return problems


@control("MAIL-04", needs_ssh=False)
def mta_sts(ctx: Context, p: Params) -> Outcome:
    """_mta-sts record and the policy served at https://mta-sts.<domain>/ (enforce, MX covered)."""
    domain, lookup = records(ctx, p)
    found = _txt(lookup, f"_mta-sts.{domain}", "v=STSv1", ctx)
    if len(found) != 1 or not _tags(found[0]).get("id"):
        return Outcome.failed(
            f"_mta-sts.{domain}: {len(found)} record(s) with an id (one is needed)"
        )
    host = f"mta-sts.{domain}"
    status, body = _https_get(ctx, host, "/.well-known/mta-sts.txt")
    ctx.note(f"GET https://{host}/.well-known/mta-sts.txt at {ctx.address}", f"{status}\n{body}")
    if status != 200:
        return Outcome.failed(f"the policy answers {status}")
    return Outcome.of(
        judge_mta_sts(body, _mx_hosts(domain, lookup, ctx)), "mode enforce, MX covered"
    )


@control("MAIL-05", needs_ssh=False)
def tls_rpt(ctx: Context, p: Params) -> Outcome:
    """A TLS-RPT record with a reporting address."""
    domain, lookup = records(ctx, p)
    found = _txt(lookup, f"_smtp._tls.{domain}", "v=TLSRPTv1", ctx)
    if len(found) != 1:
        return Outcome.failed(
            f"{len(found)} TLS-RPT records at _smtp._tls.{domain} (one is needed)"
        )
    rua = _tags(found[0]).get("rua", "")
    if not re.match(r"^(mailto:|https:)", rua):
        return Outcome.failed(f"no rua address in {found[0]}")
    return Outcome.passed(f"TLS reports to {rua}")


@dataclass
class SmtpTls:
    version: str
    certificate: bytes
    names: list[str]


def _starttls(ctx: Context, port: int, context: ssl.SSLContext, server_name: str) -> SmtpTls:
    """STARTTLS on ``port`` for ``server_name``; what the session and certificate are."""
    try:
        with smtplib.SMTP(ctx.address, port, timeout=ctx.probe_timeout) as smtp:
            smtp.ehlo("audit.invalid")
            if not smtp.has_extn("starttls"):
                raise ControlError(f"port {port} does not offer STARTTLS")
            sock = tlslib.starttls(smtp, server_name, context)
            der = sock.getpeercert(binary_form=True) or b""
            return SmtpTls(sock.version() or "", der, _san(sock))
    except (OSError, smtplib.SMTPException) as exc:
        raise ControlError(f"SMTP {ctx.address}:{port}: {exc}") from exc


def _smtp_tls(ctx: Context, port: int, server_name: str) -> SmtpTls:
    """The verified STARTTLS session of ``port`` for ``server_name``, shared by MAIL-06/07."""
    return ctx.memo(
        f"smtp-tls:{port}:{server_name}",
        lambda: _starttls(ctx, port, tlslib.verifying_context(ctx.ca_file), server_name),
    )


def _old_tls_accepted(ctx: Context, port: int) -> bool:
    """Whether the server completes a handshake capped at TLS 1.1 (nothing is sent over it)."""
    context = tlslib.handshake_only_context(ssl.TLSVersion.TLSv1_1)
    try:
        _starttls(ctx, port, context, tlslib.service_name(ctx))
    except ControlError:
        return False
    return True


@control("MAIL-06", needs_ssh=False)
def dane(ctx: Context, p: Params) -> Outcome:
    """TLSA records of each MX match its certificate (advisory: a warning without them)."""
    domain, lookup = records(ctx, p)
    tls = _smtp_tls(ctx, int(p["port"]), tlslib.service_name(ctx, str(p.get("mx_name") or "")))
    problems, missing = [], []
    for mx in _mx_hosts(domain, lookup, ctx):
        tlsa = lookup(f"_25._tcp.{mx}", "TLSA")
        ctx.note(f"TLSA _25._tcp.{mx}", "\n".join(tlsa) or "(none)")
        if not tlsa:
            missing.append(mx)
        elif not any(tlsa_matches(r, tls.certificate) for r in tlsa):
            problems.append(f"no TLSA record of {mx} matches the certificate it presents")
    warnings = [f"no TLSA record for {', '.join(missing)} (DANE needs DNSSEC)"] if missing else []
    return Outcome.of(problems, "TLSA records match the certificate", warnings=warnings)


def tlsa_matches(record: str, der: bytes) -> bool:
    """Whether a DANE-EE / DANE-TA style TLSA record (usage selector type data) matches a
    DER certificate; selector 1 (SubjectPublicKeyInfo) and 0 (whole certificate)."""
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: PLC0415

    parts = record.split()
    if len(parts) < 4:
        return False
    selector, matching, data = int(parts[1]), int(parts[2]), "".join(parts[3:]).lower()
    cert = x509.load_der_x509_certificate(der)
    content = (
        der
        if selector == 0
        else cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    digest = {
        0: content.hex(),
        1: hashlib.sha256(content).hexdigest(),
        2: hashlib.sha512(content).hexdigest(),
    }
    return digest.get(matching) == data


@control("MAIL-07", needs_ssh=False)
def mx_starttls(ctx: Context, p: Params) -> Outcome:
    """STARTTLS on the MX port, TLS 1.2 or newer only, a certificate valid for the MX name."""
    port = int(p["port"])
    mx_name = tlslib.service_name(ctx, str(p.get("mx_name") or ""))
    problems = []
    try:
        tls: SmtpTls | None = _smtp_tls(ctx, port, mx_name)
    except tlslib.CertificateRefusedError as exc:
        tls = None
        problems.append(str(exc))
    old = _old_tls_accepted(ctx, port)
    seen = f"{tls.version}, names {', '.join(tls.names)}" if tls else "certificate refused"
    ctx.note(f"STARTTLS {ctx.address}:{port} for {mx_name}", f"{seen}; TLS 1.1 accepted: {old}")
    if tls and tls.version not in ("TLSv1.2", "TLSv1.3"):
        problems.append(f"negotiated {tls.version}")
    if old:
        problems.append("a TLS 1.1 handshake succeeds")
    if tls and not name_matches(mx_name, tls.names):
        problems.append(
            f"certificate not valid for {mx_name} ({', '.join(tls.names) or 'no name'})"
        )
    version = tls.version if tls else ""
    return Outcome.of(problems, f"{version}, trusted certificate for {mx_name}")


@control("MAIL-08", needs_ssh=False)
def open_relay(ctx: Context, p: Params) -> Outcome:
    """A stranger cannot relay: RCPT TO an outside address is refused with 5xx (no DATA is sent)."""
    port = int(p["port"])
    try:
        with smtplib.SMTP(ctx.address, port, timeout=ctx.probe_timeout) as smtp:
            smtp.ehlo("audit.invalid")
            if smtp.has_extn("starttls"):
                tlslib.starttls(
                    smtp, tlslib.service_name(ctx), tlslib.verifying_context(ctx.ca_file)
                )
                smtp.ehlo("audit.invalid")
            smtp.mail(str(p["probe_sender"]))
            code, text = smtp.rcpt(str(p["probe_recipient"]))
            smtp.rset()
    except (OSError, smtplib.SMTPException) as exc:
        raise ControlError(f"SMTP {ctx.address}:{port}: {exc}") from exc
    ctx.note(
        f"RCPT TO:<{p['probe_recipient']}> at {ctx.address}:{port}",
        f"{code} {text.decode(errors='replace')}",
    )
    if 500 <= code < 600:
        return Outcome.passed(f"relaying refused ({code})")
    return Outcome.failed(f"relaying to {p['probe_recipient']} answered {code}: an open relay")


@control("MAIL-09", needs_ssh=False)
def client_access(ctx: Context, p: Params) -> Outcome:
    """IMAPS on 993; submission on 465 (implicit TLS) or 587 (STARTTLS required); no AUTH
    before TLS."""
    problems, seen = [], []
    name, context = tlslib.service_name(ctx), tlslib.verifying_context(ctx.ca_file)
    try:
        with tlslib.IMAPS(
            ctx.address, 993, server_name=name, context=context, timeout=ctx.probe_timeout
        ) as imap:
            seen.append(f"IMAPS 993: {imap.tls.version()}")
    except (OSError, imaplib.IMAP4.error, tlslib.CertificateRefusedError) as exc:
        problems.append(f"IMAPS 993: {exc}")
    try:
        with smtplib.SMTP(ctx.address, 587, timeout=ctx.probe_timeout) as smtp:
            smtp.ehlo("audit.invalid")
            auth_in_clear = smtp.has_extn("auth")
            mail_code = smtp.docmd("MAIL", "FROM:<audit@audit.invalid>")[0]
            seen.append(f"587 before TLS: AUTH offered {auth_in_clear}, MAIL FROM {mail_code}")
            if auth_in_clear:
                problems.append("587 offers AUTH before STARTTLS")
            if mail_code < 500:
                problems.append(f"587 accepts MAIL FROM before STARTTLS ({mail_code})")
    except (OSError, smtplib.SMTPException) as exc:
        problems.append(f"submission 587: {exc}")
    try:
        with tlslib.SMTPS(
            ctx.address, 465, server_name=name, context=context, timeout=ctx.probe_timeout
        ) as smtp:
            smtp.ehlo("audit.invalid")
            seen.append(f"465: {smtp.tls.version()}, AUTH offered {smtp.has_extn('auth')}")
    except tlslib.CertificateRefusedError as exc:
        problems.append(f"465: {exc}")  # a client of 465 would be refused, or worse
    except (OSError, smtplib.SMTPException) as exc:
        seen.append(f"465: {exc}")
    ctx.note(f"IMAPS/submission at {ctx.address}", "\n".join(seen))
    return Outcome.of(problems, "IMAPS and submission over TLS only")
