"""WEB-01..04 judged on canned scans and answers, without a server: each passes on what a
hardened service offers and fails on the weakness it names.

WEB-01..03 judge the TlsScan that sslyze's scan of a port gives (shared through the
context's memo, key ``tls:<port>``); WEB-04 judges the status and headers of each GET."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from cryptography import x509

from tests.audit.conftest import fake_context, params
from tests.certs import certificate
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.context import Context
from toolkit.audit.model import Outcome, Status
from toolkit.audit.registry import implementations
from toolkit.controls import web
from toolkit.controls.web import TlsScan

IMPL = implementations()
NAME = "mail.lab.test"
STRONG_SUITES = {
    "TLSv1.2": ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"],
    "TLSv1.3": ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"],
}


@pytest.fixture(scope="module")
def strong_certificate() -> x509.Certificate:
    """ECDSA P-256, SHA-256, the service's name, 200 days left."""
    return certificate(NAME, 200)


@pytest.fixture(scope="module")
def weak_certificate(tmp_path_factory: pytest.TempPathFactory) -> x509.Certificate:
    """RSA 1024, SHA-1, another name, 10 days left: made by openssl, since cryptography
    signs nothing with SHA-1 any more."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to sign a certificate with SHA-1")
    folder = tmp_path_factory.mktemp("weak")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:1024", "-sha1", "-nodes", "-days", "11",
         "-subj", "/CN=other.lab.test", "-addext", "subjectAltName=DNS:other.lab.test",
         "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())


def scanned(*scans: TlsScan) -> Context:
    """A host whose TLS ports were scanned: the scans are in the memo WEB-01..03 read."""
    ctx = fake_context({}, tls_ports=tuple(s.port for s in scans), server_name=NAME)
    for scan in scans:
        ctx.memo(f"tls:{scan.port}", lambda scan=scan: scan)  # type: ignore[misc]
    return ctx


def judge(catalogue: Catalogue, control: str, ctx: Context) -> Outcome:
    return IMPL[control].check(ctx, params(catalogue, control))


def test_web01_passes_a_port_that_accepts_only_tls_1_2_and_1_3(catalogue: Catalogue) -> None:
    ctx = scanned(TlsScan(443, accepted=STRONG_SUITES))
    outcome = judge(catalogue, "WEB-01", ctx)
    assert outcome.status is Status.PASS
    assert outcome.summary == "only TLSv1.2, TLSv1.3 accepted"


def test_web01_a_port_accepting_tls_1_0_and_1_1_fails_naming_the_versions(
    catalogue: Catalogue,
) -> None:
    old = {
        "TLSv1.0": ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"],
        "TLSv1.1": ["TLS_RSA_WITH_AES_128_CBC_SHA"],
    }
    ctx = scanned(TlsScan(443, accepted={**STRONG_SUITES, **old}), TlsScan(8443, accepted={}))
    outcome = judge(catalogue, "WEB-01", ctx)
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "port 443 accepts TLSv1.0, TLSv1.1; port 8443 accepts no protocol version"
    )


def test_web02_passes_ecdhe_and_aead_suites_only(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "WEB-02", scanned(TlsScan(443, accepted=STRONG_SUITES)))
    assert outcome.status is Status.PASS


def test_web02_a_static_rsa_or_cbc_suite_in_tls_1_2_fails(catalogue: Catalogue) -> None:
    suites = {"TLSv1.2": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384",
                          "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]}  # fmt: skip
    outcome = judge(catalogue, "WEB-02", scanned(TlsScan(443, accepted=suites)))
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "port 443 TLSv1.2: TLS_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
    )


def test_web03_passes_a_trusted_p256_sha256_certificate_for_the_name(
    catalogue: Catalogue, strong_certificate: x509.Certificate
) -> None:
    scan = TlsScan(443, accepted=STRONG_SUITES, chain=[strong_certificate], trusted=True)
    outcome = judge(catalogue, "WEB-03", scanned(scan))
    assert outcome.status is Status.PASS, outcome.summary


def test_web03_a_short_sha1_untrusted_certificate_for_another_name_fails_on_each_count(
    catalogue: Catalogue, weak_certificate: x509.Certificate
) -> None:
    scan = TlsScan(443, accepted=STRONG_SUITES, chain=[weak_certificate], trusted=False)
    outcome = judge(catalogue, "WEB-03", scanned(scan))
    assert outcome.status is Status.FAIL
    assert outcome.summary.split("; ") == [
        "port 443: RSA key of 1024 bits",
        "port 443: signed with sha1",
        "port 443: chain does not validate",
        f"port 443: not valid for {NAME} (other.lab.test)",
        "port 443: expires in 10 days (at least 30)",
    ]


def test_web03_a_port_that_sent_no_certificate_fails(catalogue: Catalogue) -> None:
    outcome = judge(catalogue, "WEB-03", scanned(TlsScan(443, accepted=STRONG_SUITES)))
    assert outcome.summary == "port 443: no certificate received"


def answering(
    monkeypatch: pytest.MonkeyPatch, answers: dict[tuple[int, bool], tuple[int, dict[str, str]]]
) -> None:
    """GET of (port, over TLS) answers (status, headers), as WEB-04's probe reads them."""

    def get(ctx: Context, port: int, *, tls: bool, server_name: str) -> tuple[int, dict[str, str]]:
        return answers[(port, tls)]

    monkeypatch.setattr(web, "_get", get)


def test_web04_passes_a_redirect_to_https_and_a_year_of_hsts(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    answering(
        monkeypatch,
        {(80, False): (301, {"location": f"https://{NAME}/"}),
         (443, True): (200, {"strict-transport-security": "max-age=31536000"})},
    )  # fmt: skip
    ctx = fake_context({}, tls_ports=(443,), http_ports=(80,), server_name=NAME)
    outcome = judge(catalogue, "WEB-04", ctx)
    assert outcome.status is Status.PASS


def test_web04_plain_http_content_and_a_one_day_hsts_fail(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    answering(
        monkeypatch,
        {(80, False): (200, {}),
         (443, True): (200, {"strict-transport-security": "max-age=86400; includeSubDomains"}),
         (8443, True): (200, {})},
    )  # fmt: skip
    ctx = fake_context({}, tls_ports=(443, 8443), http_ports=(80,), server_name=NAME)
    outcome = judge(catalogue, "WEB-04", ctx)
    assert outcome.status is Status.FAIL
    assert outcome.summary.split("; ") == [
        "http port 80: 200 without a redirect to https",
        "port 443: HSTS max-age 86400 s (at least 15552000)",
        "port 8443: no HSTS header",
    ]


def test_web04_a_redirect_to_plain_http_fails(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    answering(monkeypatch, {(80, False): (302, {"location": f"http://{NAME}/login"})})
    ctx = fake_context({}, http_ports=(80,), server_name=NAME)
    outcome = judge(catalogue, "WEB-04", ctx)
    assert outcome.summary == "http port 80: 302 without a redirect to https"
