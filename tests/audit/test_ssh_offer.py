"""What the SSH server offers (LNX-03, LNX-04) is read on the audit's own connection: its
KEXINIT lists and, before the public key, the methods a "none" request is told (as
OpenSSH's client asks); no second connection, no second key exchange per host. AES-GCM
is preferred when the server offers it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.audit import test_host_concurrency as concurrency
from tests.audit.fake_ssh import fake_ssh_server
from tests.audit.test_host_concurrency import Fake, audit
from toolkit.adapters.ssh import OFFER_MEMO, ServerOffer, connect, connection_offer
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.context import Context
from toolkit.audit.model import Outcome, Params, Status
from toolkit.audit.registry import implementations

IMPL = implementations()
server = concurrency.server  # the fake SSH server fixture, with its connection count


def test_the_connection_keeps_the_servers_lists_and_methods(tmp_path: Path) -> None:
    with fake_ssh_server(tmp_path, lambda _c, _t: None, lambda: None) as endpoint:
        client = connect(endpoint, timeout=5)
        try:
            offer = connection_offer(client)
            transport = client.get_transport()
            assert transport is not None
            assert transport.local_cipher == "aes128-gcm@openssh.com"
        finally:
            client.close()
    assert offer is not None
    assert offer.auth_methods == ("publickey",)
    assert "curve25519-sha256@libssh.org" in offer.kex
    assert "aes128-ctr" in offer.ciphers


def test_lnx04_judges_the_audit_connections_offer_without_a_connection_of_its_own(
    server: Fake, catalogue: Catalogue
) -> None:
    seen: dict[str, Any] = {}

    def offer_reader(ctx: Context, p: Params) -> Outcome:
        seen["offer"] = ctx.memo(OFFER_MEMO, lambda: pytest.fail("probed again"))
        return Outcome.passed("read")

    checks = {"LNX-04": IMPL["LNX-04"].check, "LNX-03": offer_reader}
    host = audit(server, catalogue, checks, host_concurrency=2)
    lnx04 = next(r for r in host.results if r.control == "LNX-04")
    assert lnx04.status in (Status.PASS, Status.FAIL), lnx04.summary  # judged, not an error
    assert any(e.probe.startswith("SSH KEXINIT from 127.0.0.1") for e in lnx04.evidence)
    assert isinstance(seen["offer"], ServerOffer)
    assert seen["offer"].auth_methods == ("publickey",)
    assert server.seen.connections == 1
