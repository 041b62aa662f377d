"""The teleworker portal as a person sees it on a phone, in Debian's Chromium (Playwright):
the login page in French and in Arabic (right to left) without sideways scrolling, then a
teleworker's enrolment from the office: QR code and secret, a code from the secret (as the
authenticator application computes it), the ten recovery codes, the home page. The
gateway's certificate is checked against the internal CA before its key is pinned for
Chromium. Prints the observations as JSON; screenshots go to --screenshots."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import socket
import ssl
import sys
from pathlib import Path
from typing import Any

import pyotp
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}


def pinned_spki(host: str, port: int, ca: str) -> str:
    """The server key's SHA-256 (base64), once its certificate is checked against the CA."""
    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = False  # reached by address; the chain is what is checked
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        context.wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if der is None:
        raise SystemExit(f"{host}:{port} gave no certificate")
    spki = (
        x509.load_der_x509_certificate(der)
        .public_key()
        .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def looks(page: Page) -> dict[str, Any]:
    return {
        "lang": page.get_attribute("html", "lang"),
        "dir": page.get_attribute("html", "dir"),
        "sideways": page.evaluate("document.documentElement.scrollWidth > window.innerWidth"),
        "text": page.inner_text("body")[:2000],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--screenshots", type=Path, required=True)
    a = parser.parse_args()
    host, port = a.url.removeprefix("https://").split(":")
    args = [f"--ignore-certificate-errors-spki-list={pinned_spki(host, int(port), a.ca)}"]
    password = Path(a.password_file).read_text(encoding="utf-8").strip()
    seen: dict[str, Any] = {"page_errors": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            for locale in ("fr-FR", "ar-MA"):
                context = browser.new_context(locale=locale, viewport=PHONE, is_mobile=True)
                page = context.new_page()
                page.set_default_timeout(15_000)
                page.on("pageerror", lambda e: seen["page_errors"].append(str(e)))
                page.goto(a.url + "/")
                seen[f"login_{locale}"] = looks(page)
                page.screenshot(path=str(a.screenshots / f"portal-login-{locale}.png"))
                if locale != "ar-MA":
                    context.close()
                    continue
                # A teleworker enrols from the office, in Arabic, on the phone.
                page.fill("input[name=username]", a.user)
                page.fill("input[name=password]", password)
                page.click("button[type=submit]")
                page.wait_for_selector("code.secret")
                seen["enrol"] = looks(page) | {"qr": page.locator("figure.qr svg").count()}
                page.screenshot(path=str(a.screenshots / "portal-enrol-ar.png"), full_page=True)
                secret = page.inner_text("code.secret").replace(" ", "")
                page.fill("input[name=code]", pyotp.TOTP(secret).now())
                page.click("form[action='/enrol'] button[type=submit]")
                page.wait_for_selector("ol.codes")
                seen["recovery_codes"] = page.locator("ol.codes li").count()
                page.screenshot(path=str(a.screenshots / "portal-codes-ar.png"), full_page=True)
                page.click("a.button")
                page.wait_for_selector("form[action='/start']")
                seen["home"] = looks(page)
                page.screenshot(path=str(a.screenshots / "portal-home-ar.png"), full_page=True)
                context.close()
        finally:
            browser.close()
    print(json.dumps(seen, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
