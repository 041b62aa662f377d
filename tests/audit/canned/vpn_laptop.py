"""VPN gateway controls VPN-01..VPN-07 judged both ways on canned answers: each passes on
the gateway (or test peer) roles vpn_gateway and baseline build and fails on the weakness
it names. The managed laptops' LAP-* cases are in vpn_laptop_lap.py."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.audit.canned import AUDIT_DAY, Case, Judge, judged
from tests.audit.conftest import fake_context, params
from tests.audit.nft_fixtures import (
    ACCEPT,
    BASE,
    BASELINE,
    TUNNEL_TABLE,
    VPN,
    WG0,
    match,
    nft_json,
    payload,
    replace_rule,
    rule,
)
from tests.audit.test_vpn_controls import (
    KEY_A,
    KEY_B,
    KEY_ORPHAN,
    KEY_REVOKED,
    LISTENING,
    NOW,
    handshakes,
    tunnel_with,
)
from tests.audit.test_vpn_software_controls import (
    INSTALLED,
    KERNEL_UPDATE,
    LIBSSL_UPDATE,
    SWANCTL_CONNS,
    SWANCTL_GOOD,
    gateway,
    wireguard,
)
from tests.conftest import FIXTURES
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import Outcome, Status
from toolkit.audit.registry import implementations

IMPL = implementations()
PASS, FAIL = Status.PASS, Status.FAIL
DAY = 86400


def on(control: str, answers: Mapping[str, Any], **overrides: Any) -> Judge:
    """``control`` run on a host answering ``answers`` on AUDIT_DAY, with its catalogue
    parameters but ``overrides``."""
    return judged(control, answers, context={"today": AUDIT_DAY}, **overrides)


def inventory(tmp_path: Path, enrolled: Mapping[str, int]) -> Path:
    """An inventory folder with the test roster (a1 lt-1 and a2 lt-2 active, a4 revoked)
    and the devices' public keys in .vpn/keys, each enrolled (file time) ``enrolled[name]``
    days before NOW; lt-gone is a device no longer in the roster."""
    folder = tmp_path / "inventory"
    (folder / "group_vars" / "all").mkdir(parents=True)
    shutil.copyfile(FIXTURES / "telework.yml", folder / "group_vars" / "all" / "telework.yml")
    shutil.copyfile(FIXTURES / "roster-good.csv", folder / "roster.csv")
    keys = folder / ".vpn" / "keys"
    keys.mkdir(parents=True)
    for name, key in (("lt-1", KEY_A), ("lt-2", KEY_B), ("lt-gone", KEY_REVOKED)):
        (keys / f"{name}.pub").write_text(key + "\n", encoding="ascii")
        at = NOW - enrolled.get(name, 1) * DAY
        os.utime(keys / f"{name}.pub", (at, at))
    return folder


def on_gateway(
    control: str, answers: Mapping[str, Any], enrolled: Mapping[str, int] | None = None
) -> Judge:
    """``control`` run on a gateway answering ``answers``, against an inventory folder
    written in the case's scratch folder."""

    def judge(catalogue: Catalogue, tmp_path: Path) -> Outcome:
        folder = inventory(tmp_path, enrolled or {})
        ctx = fake_context(answers)
        return IMPL[control].check(ctx, params(catalogue, control, inventory_path=str(folder)))

    return judge


OLD_NFTABLES = INSTALLED.replace("1.0.6-2+deb12u2", "1.0.6-2+deb12u1")
# VPN-03: what a gateway of IKEv1 with CBC and a 1024-bit group shows.
SWANCTL_WEAK = SWANCTL_GOOD.replace(
    "aes256gcm16-prfsha384-ecp384, chacha20poly1305-prfsha256-curve25519", "aes128-sha1-modp1024"
)
# VPN-05: from the test peer, the mail service its group reaches and a service it does not.
PROBES = {"allowed": ["10.89.1.8:8025"], "forbidden": ["10.89.1.8:8081"]}
MAIL, OTHER = "/dev/tcp/10.89.1.8/8025", "/dev/tcp/10.89.1.8/8081"
PEER_UP = {"date": str(NOW), "latest-handshakes": handshakes((KEY_A, NOW - 5))}
# VPN-06: SSH accepted from every address instead of the admin networks only.
SSH_ANYWHERE = replace_rule(
    BASELINE,
    "ssh from admin networks",
    rule(BASE, "input", match(payload("tcp", "dport"), 22), ACCEPT),
)

CASES: list[Case] = [
    Case(
        "VPN-01",
        PASS,
        "bookworm's wireguard-tools and nftables are current, no kernel fix pending",
        on("VPN-01", gateway(**{"apt-get -s": LIBSSL_UPDATE})),
        "nftables 1.0.6-2+deb12u2, wireguard-tools 1.0.20210914-1+b1; no security update pending",
    ),
    Case(
        "VPN-01",
        FAIL,
        "nftables is older than bookworm's point-release fix",
        on("VPN-01", gateway(**{"dpkg-query": OLD_NFTABLES})),
        "nftables 1.0.6-2+deb12u1 is older than 1.0.6-2+deb12u2",
    ),
    Case(
        "VPN-01",
        FAIL,
        "a security update of the kernel (WireGuard's module) is pending",
        on("VPN-01", gateway(**{"apt-get -s": KERNEL_UPDATE})),
        "security updates pending: linux-image-6.1.0-40-amd64 6.1.153-1 -> 6.1.158-1",
    ),
    Case(
        "VPN-02",
        PASS,
        "every peer is a device of an active, approved teleworker",
        on_gateway("VPN-02", {"latest-handshakes": handshakes((KEY_A, NOW), (KEY_B, 0))}),
        "2 peers, each a device of an active, approved teleworker",
    ),
    Case(
        "VPN-02",
        FAIL,
        "a peer's device is no longer in the roster",
        on_gateway("VPN-02", {"latest-handshakes": handshakes((KEY_A, NOW), (KEY_REVOKED, NOW))}),
        "peer of lt-gone (not in the roster), revoked or unapproved still configured",
    ),
    Case(
        "VPN-02",
        FAIL,
        "a peer's key belongs to no device of the roster",
        on_gateway("VPN-02", {"latest-handshakes": handshakes((KEY_A, NOW), (KEY_ORPHAN, 0))}),
        "orphan peer DDDDDDDDDD... (no device of the roster has this key)",
    ),
    Case(
        "VPN-03",
        PASS,
        "wg0 is a kernel WireGuard interface with a key and a port",
        on("VPN-03", wireguard()),
        "wg0 is WireGuard (wireguard) on udp/51820",
    ),
    Case(
        "VPN-03",
        FAIL,
        "the IPsec proposal is CBC with Diffie-Hellman group 2",
        on("VPN-03", {"swanctl --list-conns": SWANCTL_CONNS, "swanctl.conf": SWANCTL_WEAK}),
        "aes128-sha1-modp1024: Diffie-Hellman group 2 (at least 14)",
    ),
    Case(
        "VPN-04",
        PASS,
        "the tunnel's peers of group staff reach the mail service only",
        on(
            "VPN-04",
            {"nft -j list table inet telework_vpn": nft_json(*TUNNEL_TABLE)},
            required_sets=["staff"],
        ),
        "default deny from the tunnel; 1 peer sets each reach listed services",
    ),
    Case(
        "VPN-04",
        FAIL,
        "everything from wg0 is accepted before the drop",
        on(
            "VPN-04",
            {"nft -j list table": nft_json(*tunnel_with(rule(VPN, "from_tunnel", WG0, ACCEPT)))},
        ),
        "accept without a peer set, destination and port: iifname wg0 accept",
    ),
    Case(
        "VPN-05",
        PASS,
        "the test peer reaches the mail service and is refused the forbidden one",
        on("VPN-05", {MAIL: "open", OTHER: "closed", **PEER_UP}, **PROBES),
        "handshake done, allowed service reached, forbidden one refused",
    ),
    Case(
        "VPN-05",
        FAIL,
        "the test peer reaches the service its group is not given",
        on("VPN-05", {MAIL: "open", OTHER: "open", **PEER_UP}, **PROBES),
        "forbidden 10.89.1.8:8081 is reachable",
    ),
    Case(
        "VPN-06",
        PASS,
        "only udp/51820 is open and ssh is limited to the admin networks",
        on("VPN-06", {"ss -Hlntu": LISTENING, "nft -j": nft_json(*BASELINE, *TUNNEL_TABLE)}),
        "only udp/51820 open outside; 2 other listening ports limited to admin sources",
    ),
    Case(
        "VPN-06",
        FAIL,
        "ssh is accepted from every address",
        on("VPN-06", {"ss -Hlntu": LISTENING, "nft -j": nft_json(*SSH_ANYWHERE, *TUNNEL_TABLE)}),
        "tcp/22 accepted from anywhere (telework_baseline input: tcp dport 22 accept)",
    ),
    Case(
        "VPN-07",
        PASS,
        "every peer connected within the last day",
        on_gateway(
            "VPN-07",
            {"date": str(NOW), "latest-handshakes": handshakes((KEY_A, NOW - 3600), (KEY_B, NOW))},
        ),
        "2 peers, none idle beyond 30 days",
    ),
    Case(
        "VPN-07",
        FAIL,
        "a peer has been idle for 120 days",
        on_gateway(
            "VPN-07",
            {"date": str(NOW), "latest-handshakes": handshakes((KEY_A, NOW - 120 * DAY))},
        ),
        "a1 lt-1: idle 120 days",
    ),
    Case(
        "VPN-07",
        FAIL,
        "a peer enrolled 100 days ago never connected",
        on_gateway(
            "VPN-07",
            {"date": str(NOW), "latest-handshakes": handshakes((KEY_A, NOW), (KEY_B, 0))},
            enrolled={"lt-2": 100},
        ),
        "a2 lt-2: never connected, enrolled 100 days ago",
    ),
]
