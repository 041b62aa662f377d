"""VPN-01 (gateway software) and VPN-03 (tunnel crypto) on canned gateway answers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.audit.conftest import Answer, fake_context, params
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, Outcome, Status
from toolkit.audit.registry import implementations

IMPL = implementations()
BOOKWORM = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
INSTALLED = "wireguard-tools\tii \t1.0.20210914-1+b1\nnftables\tii \t1.0.6-2+deb12u2\n"
KERNEL_UPDATE = (
    "Inst linux-image-6.1.0-40-amd64 [6.1.153-1] (6.1.158-1 Debian-Security:12/stable-security "
    "[amd64])\n"
)
LIBSSL_UPDATE = (
    "Inst libssl3 [3.0.11-1~deb12u2] (3.0.17-1~deb12u3 Debian-Security:12/stable-security "
    "[amd64])\n"
)


def run(catalogue: Catalogue, control: str, answers: dict[str, Any], **over: Any) -> Outcome:
    ctx = fake_context(answers)
    return IMPL[control].check(ctx, params(catalogue, control, **over))


def gateway(**changes: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {"os-release": BOOKWORM, "dpkg-query": INSTALLED, "apt-get -s": ""}
    answers.update(changes)
    return answers


def test_vpn01_passes_bookworms_current_packages_with_nothing_pending(
    catalogue: Catalogue,
) -> None:
    outcome = run(catalogue, "VPN-01", gateway(**{"apt-get -s": LIBSSL_UPDATE}), warn_days=0)
    assert outcome.status is Status.PASS, outcome.summary
    assert outcome.summary == (
        "Debian GNU/Linux 12 (bookworm) supported until 2028-06-30; "
        "nftables 1.0.6-2+deb12u2, wireguard-tools 1.0.20210914-1+b1; no security update pending"
    )


def test_vpn01_an_older_nftables_and_a_pending_kernel_fix_fail(catalogue: Catalogue) -> None:
    installed = INSTALLED.replace("1.0.6-2+deb12u2", "1.0.6-2+deb12u1")
    answers = gateway(**{"dpkg-query": installed, "apt-get -s": KERNEL_UPDATE + LIBSSL_UPDATE})
    outcome = run(catalogue, "VPN-01", answers, warn_days=0)
    assert outcome.status is Status.FAIL
    assert outcome.summary.split("; ") == [
        "nftables 1.0.6-2+deb12u1 is older than 1.0.6-2+deb12u2",
        "security updates pending: linux-image-6.1.0-40-amd64 6.1.153-1 -> 6.1.158-1",
    ]


def test_vpn01_a_release_out_of_support_or_no_wireguard_fails(catalogue: Catalogue) -> None:
    # buster: past its end of support in audits/end_of_life.yml, no package floor in VPN-01's
    buster = 'PRETTY_NAME="Debian GNU/Linux 10 (buster)"\nID=debian\nVERSION_ID="10"\n'
    answers = gateway(
        **{"os-release": buster, "dpkg-query": Answer(1, "nftables\tii \t1.0.6-2+deb12u2\n")}
    )
    outcome = run(catalogue, "VPN-01", answers)
    assert outcome.status is Status.FAIL
    assert outcome.summary.split("; ") == [
        "Debian GNU/Linux 10 (buster) lost security support on 2024-06-30",
        "wireguard-tools is not installed",
    ]


def test_vpn01_a_release_missing_from_the_end_of_life_table_is_an_error(
    catalogue: Catalogue,
) -> None:
    answers = gateway(**{"os-release": 'ID=debian\nVERSION_ID="9"\n'})
    with pytest.raises(ControlError, match="not in the end-of-life table"):
        run(catalogue, "VPN-01", answers)


def test_vpn01_reads_the_same_apt_simulation_as_lnx01_once(catalogue: Catalogue) -> None:
    lnx01 = {
        "dpkg-query.*unattended": "install ok installed",
        "apt-config shell": "UPD='1'\nUU='1'\n",
        "is-enabled apt-daily": "enabled\nenabled\n",
        "lists": "3600 /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease\n",
    }
    ctx = fake_context({**lnx01, **gateway()})
    for control in ("LNX-01", "VPN-01"):
        IMPL[control].check(ctx, params(catalogue, control))
    simulations = [c for c in ctx.host.commands if "apt-get -s" in c]  # type: ignore[union-attr]
    assert len(simulations) == 1


# --- VPN-03 ---------------------------------------------------------------------------------

PRIVATE = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
WG_LINK = """\
5: wg0: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1420 qdisc noqueue state UNKNOWN mode DEFAULT
    link/none  promiscuity 0  allmulti 0 minmtu 0 maxmtu 2147483552
    wireguard addrgenmode none numtxqueues 1 numrxqueues 1 gso_max_size 65536
"""
#: What ip -d link printed for a tun device on this machine (wireguard-go's kind of link).
TUN_LINK = """\
25: wg0: <POINTOPOINT,MULTICAST,NOARP> mtu 1500 qdisc noop state DOWN mode DEFAULT
    link/none  promiscuity 0  allmulti 0 minmtu 68 maxmtu 65535
    tun type tun pi off vnet_hdr off persist on addrgenmode eui64 numtxqueues 1
"""


def wireguard(link: str = WG_LINK, key: str = PRIVATE, port: str = "51820") -> dict[str, Any]:
    return {
        "wg show interfaces": "wg0\n",
        "ip -d link show": link,
        "private-key": key + "\n",
        "listen-port": port + "\n",
    }


def test_vpn03_a_kernel_wireguard_interface_with_key_and_port_passes(
    catalogue: Catalogue,
) -> None:
    outcome = run(catalogue, "VPN-03", wireguard())
    assert outcome.status is Status.PASS
    assert outcome.summary == (
        "wg0 is WireGuard (wireguard) on udp/51820: Noise IK: Curve25519, ChaCha20-Poly1305, "
        "BLAKE2s (fixed by the protocol)"
    )


def test_vpn03_wireguard_go_on_a_tun_link_passes_and_the_key_stays_out_of_the_evidence(
    catalogue: Catalogue,
) -> None:
    ctx = fake_context(wireguard(link=TUN_LINK))
    outcome = IMPL["VPN-03"].check(ctx, params(catalogue, "VPN-03"))
    assert outcome.status is Status.PASS
    assert "wireguard-go (tun)" in outcome.summary
    assert not [e for e in ctx.evidence if PRIVATE in e.excerpt or PRIVATE in e.probe]


def test_vpn03_no_private_key_no_port_or_another_link_kind_fails(catalogue: Catalogue) -> None:
    bridge = WG_LINK.replace("wireguard addrgenmode", "bridge forward_delay")
    outcome = run(catalogue, "VPN-03", wireguard(link=bridge, key="(none)", port="0"))
    assert outcome.summary.split("; ") == [
        "wg0 is listed by wg but is neither a wireguard nor a tun link",
        "wg0 has no private key",
        "wg0 listens on no UDP port",
    ]


SWANCTL_CONNS = "telework: IKEv2, no reauthentication, rekeying every 14400s\n"
SWANCTL_GOOD = """\
connections {
  telework {
    version = 2
    proposals = aes256gcm16-prfsha384-ecp384, chacha20poly1305-prfsha256-curve25519
    children {
      net {
        esp_proposals = aes256gcm16-ecp384
      }
    }
  }
}
"""


def test_vpn03_strongswan_ikev2_with_aead_and_pfs_passes(catalogue: Catalogue) -> None:
    answers = {"swanctl --list-conns": SWANCTL_CONNS, "swanctl.conf": SWANCTL_GOOD}
    outcome = run(catalogue, "VPN-03", answers)
    assert outcome.status is Status.PASS, outcome.summary


def test_vpn03_ikev1_cbc_modp1024_and_esp_without_pfs_fail(catalogue: Catalogue) -> None:
    conns = "legacy: IKEv1, reauthentication every 10800s\n"
    config = SWANCTL_GOOD.replace(
        "aes256gcm16-prfsha384-ecp384, chacha20poly1305-prfsha256-curve25519",
        "aes128-sha1-modp1024",
    ).replace("aes256gcm16-ecp384", "aes256gcm16")
    outcome = run(catalogue, "VPN-03", {"swanctl --list-conns": conns, "swanctl.conf": config})
    assert outcome.summary.split("; ") == [
        "connection legacy uses IKEv1",
        "aes128-sha1-modp1024: cipher not AEAD",
        "aes128-sha1-modp1024: Diffie-Hellman group 2 (at least 14)",
        "aes256gcm16: no Diffie-Hellman group (no PFS)",
    ]


OPENVPN = "/etc/openvpn/server/tw.conf: data-ciphers AES-256-GCM:CHACHA20-POLY1305\n"


def test_vpn03_openvpn_with_aead_ciphers_and_tls_1_2_passes(catalogue: Catalogue) -> None:
    config = OPENVPN + "/etc/openvpn/server/tw.conf: tls-version-min 1.2\n"
    outcome = run(catalogue, "VPN-03", {"openvpn": config})
    assert outcome.status is Status.PASS


def test_vpn03_openvpn_with_a_cbc_cipher_and_no_minimum_tls_fails(catalogue: Catalogue) -> None:
    config = "/etc/openvpn/server/tw.conf: data-ciphers AES-256-GCM:AES-256-CBC\n"
    outcome = run(catalogue, "VPN-03", {"openvpn": config})
    assert outcome.summary.split("; ") == [
        "/etc/openvpn/server/tw.conf: data-ciphers AES-256-CBC is not AEAD",
        "/etc/openvpn/server/tw.conf: no tls-version-min 1.2",
    ]


def test_vpn03_is_an_error_when_the_kind_of_vpn_cannot_be_told(catalogue: Catalogue) -> None:
    with pytest.raises(ControlError, match="the VPN cannot be determined"):
        run(
            catalogue,
            "VPN-03",
            {"wg show interfaces": Answer(1, "", "wg: not found"), "openvpn": ""},
        )
