"""Headless Chromium on the auditor's machine, driven by Playwright (VC-06).

The browser is the system's (Debian's ``/usr/bin/chromium``): Playwright downloads none.
Playwright is an optional dependency (``pip install 'telework-toolkit[browser]'``) imported
only when a browser is launched; :func:`missing` says why none can be, so the control that
needs one is ``skipped`` with that reason rather than failing on the auditor's machine.

A site's certificate is never ignored wholesale: the caller proves it first against the
inventory's CA and the server's name (toolkit.controls.tls), then hands its public key's
SHA-256 (:func:`spki_pin`) to Chromium, which accepts that key and no other. The browser
always closes, even when the caller's code raises.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import ipaddress
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization

if TYPE_CHECKING:
    from playwright.sync_api import Browser

log = logging.getLogger(__name__)

#: Debian's Chromium (package chromium).
CHROMIUM = "/usr/bin/chromium"


def missing(executable: str = CHROMIUM) -> str | None:
    """Why no browser can be launched here (None when one can)."""
    if not (Path(executable).is_file() and os.access(executable, os.X_OK)):
        return f"no Chromium at {executable} on the auditor's machine (Debian package chromium)"
    if importlib.util.find_spec("playwright") is None:
        return (
            "the Python package playwright is not installed on the auditor's machine "
            "(pip install 'telework-toolkit[browser]')"
        )
    return None


def spki_pin(der: bytes) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of a DER certificate: Chromium's key pin."""
    key = x509.load_der_x509_certificate(der).public_key()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@dataclass(frozen=True)
class Site:
    """A site reached at ``address`` under ``name``, whose proven key is ``pin``."""

    name: str
    address: str
    pin: str


def _mapped(address: str) -> str:
    try:
        return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    except ValueError:
        return address


def arguments(site: Site, *, root: bool) -> list[str]:
    """Chromium's flags: headless, fake camera and microphone, ``site.name`` resolved to
    its address, the proven key accepted, no proxy (the audit's probes go straight to the
    host), nothing fetched in the background. The sandbox is off only for root, where
    Chromium refuses to start with it."""
    args = [
        "--headless",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-proxy-server",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--host-resolver-rules=MAP {site.name} {_mapped(site.address)}",
        f"--ignore-certificate-errors-spki-list={site.pin}",
    ]
    return [*args, "--no-sandbox"] if root else args


@contextmanager
def chromium(site: Site, *, timeout: float, executable: str = CHROMIUM) -> Iterator[Browser]:
    """A headless Chromium for ``site``, launched within ``timeout`` seconds and closed on
    the way out, whatever happened inside."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (optional, heavy)

    root = hasattr(os, "geteuid") and os.geteuid() == 0
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable,
            args=arguments(site, root=root),
            timeout=max(1.0, timeout) * 1000,
        )
        try:
            yield browser
        finally:
            try:
                browser.close()
            except Exception:  # already gone: nothing left to close
                log.debug("closing Chromium", exc_info=True)
