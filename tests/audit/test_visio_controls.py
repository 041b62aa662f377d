"""VC-01..05 (videoconference) on canned answers of a Janus and coturn host: each passes
on what role videoconference builds (the answers below were read from its Molecule host)
and fails on Debian's stock configuration or the weakness it names."""

from __future__ import annotations

from typing import Any

from tests.audit.conftest import Answer, fake_context, params
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.context import Context
from toolkit.audit.model import Outcome, Status
from toolkit.audit.registry import implementations

IMPL = implementations()

ROLE_JANUS = """\
/etc/janus/janus.jcfg
[general]
token_auth = true
token_auth_secret = (set)
admin_secret = (set)
[media]
/etc/janus/janus.plugin.videoroom.jcfg
[general]
admin_key = (set)
/etc/janus/janus.transport.http.jcfg
[general]
http = true
ip = 127.0.0.1
https = false
[admin]
admin_http = false
/etc/janus/janus.transport.websockets.jcfg
[general]
ws = true
ws_ip = 127.0.0.1
wss = false
"""
# Debian's stock files, read the same way: no token, demo rooms, transports on every address.
STOCK_JANUS = """\
/etc/janus/janus.jcfg
[general]
admin_secret = (set)
/etc/janus/janus.plugin.videoroom.jcfg
[general]
[room-1234]
secret = (set)
record = false
[room-5678]
secret = (set)
/etc/janus/janus.transport.http.jcfg
[general]
http = true
https = false
/etc/janus/janus.transport.websockets.jcfg
[general]
ws = true
wss = false
"""
DENIED = [
    "0.0.0.0-0.255.255.255",
    "10.0.0.0-10.255.255.255",
    "127.0.0.0-127.255.255.255",
    "169.254.0.0-169.254.255.255",
    "172.16.0.0-172.31.255.255",
    "192.168.0.0-192.168.255.255",
]
ROLE_TURN = (
    "tls-listening-port=5349\nno-udp\nno-tcp\ncert=/etc/ssl/telework/videoconference.crt\n"
    "use-auth-secret\n" + "".join(f"denied-peer-ip={r}\n" for r in DENIED)
)


def run(catalogue: Catalogue, control: str, ctx: Context, **over: Any) -> Outcome:
    return IMPL[control].check(ctx, params(catalogue, control, **over))


def host(janus: str | Answer = ROLE_JANUS, turn: str | Answer = ROLE_TURN) -> Context:
    return fake_context({"sed -s": janus, "grep -E": turn})


def test_the_roles_host_passes_vc01_to_vc05(catalogue: Catalogue) -> None:
    for control in ("VC-01", "VC-02", "VC-03", "VC-04", "VC-05"):
        outcome = run(catalogue, control, host())
        assert outcome.status is Status.PASS, (control, outcome.summary)
    assert run(catalogue, "VC-02", host()).summary == "every Janus session needs a token (signed)"


def test_debian_stock_janus_fails_room_creation_protection_and_tls(catalogue: Catalogue) -> None:
    stock = host(janus=STOCK_JANUS)
    vc01 = run(catalogue, "VC-01", stock)
    assert vc01.status is Status.FAIL
    assert vc01.summary.split("; ") == [
        "VideoRoom has no admin_key: any session may create rooms",
        "static rooms in the configuration: room-1234, room-5678",
    ]
    assert run(catalogue, "VC-02", stock).status is Status.FAIL
    vc03 = run(catalogue, "VC-03", stock)
    assert vc03.status is Status.FAIL
    assert "plain http on every address" in vc03.summary
    assert "plain ws on every address" in vc03.summary


def test_debian_stock_coturn_is_an_open_relay(catalogue: Catalogue) -> None:
    stock = host(turn=Answer(1, ""))  # every line of the stock file is a comment
    vc04 = run(catalogue, "VC-04", stock)
    assert vc04.status is Status.FAIL
    assert vc04.summary.startswith("TURN allocations without credentials")
    assert "private range 10.0.0.0-10.255.255.255 not denied as a peer" in vc04.summary
    vc03 = run(catalogue, "VC-03", stock)
    assert "coturn has no certificate" in vc03.summary


def test_a_missing_private_range_or_loopback_peers_fail_vc04(catalogue: Catalogue) -> None:
    lax = ROLE_TURN.replace("denied-peer-ip=192.168.0.0-192.168.255.255\n", "")
    lax += "allow-loopback-peers\nallowed-peer-ip=127.0.0.1\n"
    vc04 = run(catalogue, "VC-04", host(turn=lax))
    assert vc04.status is Status.FAIL
    assert vc04.summary.split("; ") == [
        "loopback peers allowed (allow-loopback-peers)",
        "private range 192.168.0.0-192.168.255.255 not denied as a peer",
    ]


def test_turn_over_tls_elsewhere_than_443_or_5349_fails_vc03(catalogue: Catalogue) -> None:
    odd = ROLE_TURN.replace("tls-listening-port=5349", "tls-listening-port=45349")
    vc03 = run(catalogue, "VC-03", host(turn=odd))
    assert vc03.status is Status.FAIL
    assert vc03.summary == "TURN over TLS on 45349, not on 443 or 5349"


def test_a_room_recording_by_default_fails_vc05(catalogue: Catalogue) -> None:
    recording = ROLE_JANUS.replace(
        "admin_key = (set)\n", "admin_key = (set)\n[salle]\nrecord = true\n"
    )
    vc05 = run(catalogue, "VC-05", host(janus=recording))
    assert vc05.status is Status.FAIL
    assert vc05.summary == "rooms recording by default: salle"
    assert run(catalogue, "VC-01", host(janus=recording)).status is Status.FAIL


def test_no_janus_or_coturn_on_the_host_is_skipped(catalogue: Catalogue) -> None:
    none = host(
        janus=Answer(2, "", "sed: can't read /etc/janus/janus.jcfg: No such file or directory"),
        turn=Answer(2, "", "grep: /etc/turnserver.conf: No such file or directory"),
    )
    for control in ("VC-01", "VC-02", "VC-03", "VC-04", "VC-05"):
        assert run(catalogue, control, none).status is Status.SKIPPED, control
