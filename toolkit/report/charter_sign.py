"""The administration's signature of a charter (M17, A7: law 53-05): PAdES (PDF Advanced
Electronic Signature, baseline B-B) made and checked by pyHanko, so anyone holding the
administration's CA certificate can check the charter was not altered after signing
(``toolkit report verify-charter``, or any PAdES validator given the CA as trusted).

The signing certificate: the administration's own in production (``--signer-key``,
``--signer-cert``, ``--ca-cert``); in the lab, a document-signing certificate issued once by
the internal CA of the pki role (``<inventory>/.pki/ca.{crt,key}``) and kept beside it
(``charter-signer.{crt,key}``, the key 0600), re-issued when fewer than 30 days remain.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID

from toolkit.errors import ToolkitError
from toolkit.secrets import write_secret

log = logging.getLogger(__name__)

PKI_DIR = ".pki"
SIGNER_KEY = "charter-signer.key"
SIGNER_CERT = "charter-signer.crt"
FIELD_NAME = "Administration"
_RENEW = timedelta(days=30)


@dataclass(frozen=True)
class SignerFiles:
    key: Path
    cert: Path
    ca_cert: Path


def _load_ca(pki: Path) -> tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]:
    try:
        key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    except (OSError, ValueError) as exc:
        raise ToolkitError(
            f"cannot read the internal CA in {pki} ({exc}): provision the lab (role pki) or "
            "give --signer-key, --signer-cert and --ca-cert"
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ToolkitError(f"{pki / 'ca.key'}: not an RSA or ECDSA key")
    return key, cert


def _still_good(cert_path: Path, ca: x509.Certificate, now: datetime) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return False
    return cert.issuer == ca.subject and cert.not_valid_after_utc - now > _RENEW


def lab_signer(inventory: Path, administration: str, now: datetime | None = None) -> SignerFiles:
    """The lab's charter-signing certificate, issued by the internal CA when missing or
    near its end: an ECDSA P-256 key, key usages digitalSignature and nonRepudiation."""
    now = now or datetime.now(UTC)
    pki = inventory / PKI_DIR
    files = SignerFiles(pki / SIGNER_KEY, pki / SIGNER_CERT, pki / "ca.crt")
    ca_key, ca_cert = _load_ca(pki)
    if files.key.is_file() and _still_good(files.cert, ca_cert, now):
        return files
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Telework charters"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, administration[:64]),
        ]
    )
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(min(now + timedelta(days=730), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_secret(files.key, pem)
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    log.info("issued the charter-signing certificate %s", files.cert)
    return files


def sign(pdf: bytes, signer_files: SignerFiles, *, reason: str, location: str) -> bytes:
    """``pdf`` signed as PAdES B-B by the certificate of ``signer_files`` (an incremental
    update: the typeset document is kept byte for byte before the signature)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: PLC0415
    from pyhanko.sign import fields, signers  # noqa: PLC0415

    # pyHanko is imported when a charter is signed or checked: the CLI starts faster.
    signer = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
        str(signer_files.key), str(signer_files.cert), ca_chain_files=(str(signer_files.ca_cert),)
    )
    if signer is None:
        raise ToolkitError(f"cannot load the signing key {signer_files.key}")
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
    )
    out = io.BytesIO()
    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer, output=out)
    return out.getvalue()


@dataclass(frozen=True)
class Verification:
    ok: bool
    summary: str
    signer: str = ""
    signed_at: datetime | None = None


def verify(pdf: bytes, ca_cert: Path) -> Verification:
    """Check every signature of ``pdf`` with pyHanko's validator against ``ca_cert``:
    intact (the signed bytes unchanged), valid (the CMS signature), trusted (a chain to the
    CA) and covering the whole file (nothing added after signing)."""
    from pyhanko.keys import load_cert_from_pemder  # noqa: PLC0415
    from pyhanko.pdf_utils.misc import PdfError  # noqa: PLC0415
    from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: PLC0415
    from pyhanko.sign.validation import validate_pdf_signature  # noqa: PLC0415
    from pyhanko.sign.validation.status import SignatureCoverageLevel  # noqa: PLC0415
    from pyhanko_certvalidator import ValidationContext  # noqa: PLC0415

    root = load_cert_from_pemder(str(ca_cert))  # type: ignore[no-untyped-call]
    context = ValidationContext(trust_roots=[root])
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=True)
        signatures = reader.embedded_signatures
        if not signatures:
            return Verification(False, "no signature in the document")
        for embedded in signatures:
            status = validate_pdf_signature(embedded, context)
            whole = status.coverage is SignatureCoverageLevel.ENTIRE_FILE
            if not (status.intact and status.valid and status.trusted and whole):
                return Verification(
                    False,
                    f"signature {embedded.field_name}: intact={status.intact} "
                    f"valid={status.valid} trusted={status.trusted} "
                    f"coverage={status.coverage.name if status.coverage else None}",
                )
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        return Verification(False, f"not a readable signed PDF: {exc}")
    cert = status.signing_cert
    return Verification(
        True,
        "signature intact, valid, trusted and covering the whole document",
        signer=cert.subject.human_friendly,
        signed_at=status.signer_reported_dt,
    )
