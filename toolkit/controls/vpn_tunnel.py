"""VPN tunnel cryptography: VPN-03 (docs/controls.md).

WireGuard negotiates nothing: its handshake is Noise IK over Curve25519, ChaCha20-Poly1305
and BLAKE2s, for every peer. So for WireGuard the control proves the interface really is
WireGuard (``wg show interfaces`` lists it and ``ip -d link`` says ``wireguard``, or
``tun`` for wireguard-go) and that it has a private key and a listen port. A gateway that
is not WireGuard is judged on its proposals: strongSwan (IKEv2 only; IKE and ESP
proposals AEAD, Diffie-Hellman group 14 or stronger, ESP with a group: PFS) or OpenVPN
(AEAD data ciphers, TLS 1.2 or newer, ECDHE/DHE control channel). When none of them is
found the kind of VPN is unknown and the control is an ``error``.
"""

from __future__ import annotations

import logging
import re
import shlex

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params
from toolkit.audit.registry import control
from toolkit.controls import linux_parsers as parsers

log = logging.getLogger(__name__)

WIREGUARD_CRYPTO = "Noise IK: Curve25519, ChaCha20-Poly1305, BLAKE2s (fixed by the protocol)"

#: IKE Diffie-Hellman groups by strongSwan keyword (IANA numbers, RFC 8247).
DH_GROUPS = {
    "modp768": 1, "modp1024": 2, "modp1536": 5, "modp2048": 14, "modp3072": 15,
    "modp4096": 16, "modp6144": 17, "modp8192": 18, "ecp256": 19, "ecp384": 20,
    "ecp521": 21, "modp1024s160": 22, "modp2048s224": 23, "modp2048s256": 24,
    "ecp192": 25, "ecp224": 26, "ecp224bp": 27, "ecp256bp": 28, "ecp384bp": 29,
    "ecp512bp": 30, "curve25519": 31, "x25519": 31, "curve448": 32, "x448": 32,
}  # fmt: skip
#: Groups with a number >= 14 that RFC 8247 still forbids (small subgroups, short curves).
WEAK_GROUPS = frozenset({22, 23, 24, 25, 26})
_AEAD = re.compile(r"^(aes\d*(gcm|ccm)\d*|chacha20poly1305)$")
_IFACE = re.compile(r"[A-Za-z0-9_.=-]{1,15}")

_SWANCTL_FILES = (
    "for f in /etc/swanctl/swanctl.conf /etc/swanctl/conf.d/*.conf; do "
    '[ -f "$f" ] && cat "$f"; done; true'
)
_OPENVPN_FILES = (
    "for f in /etc/openvpn/*.conf /etc/openvpn/server/*.conf; do "
    '[ -f "$f" ] && sed -e "s|^|$f: |" "$f"; done; true'
)


def _wireguard(ctx: Context, interface: str) -> Outcome:
    link = ctx.output(f"ip -d link show dev {shlex.quote(interface)}")
    kind = "wireguard" if re.search(r"^\s+wireguard\b", link, re.M) else ""
    if not kind and re.search(r"^\s+tun\b", link, re.M):
        kind = "wireguard-go (tun)"
    problems = []
    if not kind:
        problems.append(f"{interface} is listed by wg but is neither a wireguard nor a tun link")
    key = ctx.run(f"wg show {shlex.quote(interface)} private-key", sudo=True, record=False)
    has_key = key.rc == 0 and re.fullmatch(r"[A-Za-z0-9+/]{43}=", key.stdout.strip()) is not None
    ctx.note(
        f"{ctx.sudo} wg show {interface} private-key  (the key is not kept)",
        "a private key is set" if has_key else f"no private key (exit {key.rc})",
    )
    if not has_key:
        problems.append(f"{interface} has no private key")
    port = parsers.ascii_int(ctx.output(f"wg show {shlex.quote(interface)} listen-port", sudo=True))
    if not port or not 0 < port < 65536:
        problems.append(f"{interface} listens on no UDP port")
    return Outcome.of(
        problems, f"{interface} is WireGuard ({kind}) on udp/{port}: {WIREGUARD_CRYPTO}"
    )


def _proposal_problems(proposal: str, *, pfs: bool, min_group: int) -> list[str]:
    """What is wrong with one strongSwan proposal (``aes256gcm16-prfsha384-ecp384``)."""
    if proposal in ("default", ""):
        return [
            f"'{proposal or 'no proposal'}': strongSwan's defaults (not AEAD only, ESP without PFS)"
        ]
    tokens = proposal.lower().split("-")
    problems = []
    ciphers = [t for t in tokens if not t.startswith(("prf", "sha", "md5", "aesxcbc"))]
    ciphers = [t for t in ciphers if t not in DH_GROUPS and t not in ("esn", "noesn")]
    if not ciphers or not all(_AEAD.match(t) for t in ciphers):
        problems.append(f"{proposal}: cipher not AEAD")
    groups = [DH_GROUPS[t] for t in tokens if t in DH_GROUPS]
    weak = [g for g in groups if g < min_group or g in WEAK_GROUPS]
    if weak:
        problems.append(f"{proposal}: Diffie-Hellman group {weak[0]} (at least {min_group})")
    elif not groups and pfs:
        problems.append(f"{proposal}: no Diffie-Hellman group (no PFS)")
    return problems


def _ipsec(ctx: Context, conns: str, min_group: int) -> Outcome:
    problems = [
        f"connection {line.split(':')[0].strip()} uses IKEv1"
        for line in conns.splitlines()
        if re.search(r"^\S[^:]*:\s*IKEv1\b", line)
    ]
    config = ctx.output(_SWANCTL_FILES, sudo=True, grep=r"proposals|version")
    ike = re.findall(r"^\s*proposals\s*=\s*(.+)$", config, re.M)
    esp = re.findall(r"^\s*esp_proposals\s*=\s*(.+)$", config, re.M)
    if not ike:
        problems.append("no IKE proposals set: strongSwan's defaults apply")
    if not esp:
        problems.append("no ESP proposals set: strongSwan's defaults have no PFS")
    for line, pfs in [*((x, False) for x in ike), *((x, True) for x in esp)]:
        for proposal in (p.strip() for p in line.split(",")):
            problems += _proposal_problems(proposal, pfs=pfs, min_group=min_group)
    return Outcome.of(problems, "IPsec: IKEv2, AEAD proposals, DH group >= 14 with PFS")


def _openvpn(ctx: Context, config: str) -> Outcome:
    settings: dict[str, str] = {}
    for line in config.splitlines():
        where, _, body = line.partition(": ")
        words = body.split("#", 1)[0].split(";", 1)[0].split()
        if words:
            settings[f"{where} {words[0]}"] = " ".join(words[1:])
    problems = []
    for key, value in sorted(settings.items()):
        where, option = key.split(" ", 1)
        if option in ("data-ciphers", "data-ciphers-fallback"):
            ciphers = [c for c in re.split(r"[:\s]+", value) if c]
            weak = [c for c in ciphers if not re.search(r"GCM|POLY1305", c, re.I)]
            if weak:
                problems.append(f"{where}: {option} {':'.join(weak)} is not AEAD")
        if option == "tls-version-min" and value.split()[:1] not in (["1.2"], ["1.3"]):
            problems.append(f"{where}: tls-version-min {value}")
        if option == "tls-cipher" and re.search(r"(^|:)TLS-(RSA|PSK)-WITH", value, re.I):
            problems.append(f"{where}: tls-cipher allows static RSA or PSK (no PFS)")
    servers = {k.split(" ", 1)[0] for k in settings}
    for where in sorted(servers):
        if f"{where} tls-version-min" not in settings:
            problems.append(f"{where}: no tls-version-min 1.2")
    return Outcome.of(problems, "OpenVPN: AEAD data ciphers, TLS 1.2 or newer")


@control("VPN-03")
def tunnel_crypto(ctx: Context, p: Params) -> Outcome:
    """WireGuard's crypto is fixed (the interface is checked to be WireGuard, with a key
    and a port); IPsec and OpenVPN proposals are judged (A11)."""
    interface = str(p["interface"])
    if not _IFACE.fullmatch(interface):
        raise ControlError(f"{interface!r} is not an interface name")
    listed = ctx.run("wg show interfaces", sudo=True)
    if listed.rc == 0 and interface in listed.stdout.split():
        return _wireguard(ctx, interface)
    conns = ctx.run("swanctl --list-conns", sudo=True)
    if conns.rc == 0 and conns.stdout.strip():
        return _ipsec(ctx, conns.stdout, int(p["min_dh_group"]))
    config = ctx.output(_OPENVPN_FILES, sudo=True)
    if config.strip():
        return _openvpn(ctx, config)
    raise ControlError(
        f"the VPN cannot be determined: {interface} is not a WireGuard interface "
        "(wg show interfaces), and neither strongSwan connections nor an OpenVPN "
        "configuration were found"
    )
