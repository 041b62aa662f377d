"""WireGuard handshakes as ``toolkit load vpn`` makes them, against Debian's wireguard-go in
a network namespace the test makes (tests/load/wggateway.py): a handshake completes and the
gateway lists it; a tampered, foreign or truncated answer is refused; an unregistered peer
gets no answer; and the Locust ramp, in one process or with two workers, carries every
simulated device, each a peer of its own."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from tests.conftest import REPO
from tests.load import wggateway
from toolkit.load.config import LoadConfig, Probe
from toolkit.load.results import LoadResult
from toolkit.load.vpn_peers import read_keys
from toolkit.load.wireguard import (
    COOKIE_REPLY,
    MAX_DATAGRAM,
    CookieReplyError,
    HandshakeError,
    Initiator,
    KeyPair,
    StaleResponseError,
    decode_key,
    tai64n,
)
from toolkit.vpn.keys import KEY_PATTERN

needs_gateway = pytest.mark.skipif(wggateway.missing() is not None, reason=str(wggateway.missing()))


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[wggateway.Gateway]:
    with wggateway.started(tmp_path) as running:
        yield running


def _initiate(gw: wggateway.Gateway, peer: KeyPair) -> tuple[Initiator, bytes, socket.socket]:
    """An initiation of ``peer`` sent to the gateway: (initiator, the answer, the socket)."""
    initiator = Initiator(peer, gw.keys.public)
    sock = gw.socket()
    sock.send(initiator.initiation())
    return initiator, sock.recv(MAX_DATAGRAM), sock


@needs_gateway
def test_a_handshake_completes_and_the_gateway_lists_it(gateway: wggateway.Gateway) -> None:
    peer = KeyPair.generate()
    gateway.register([peer.public_b64])
    assert gateway.handshakes() == {}
    initiator, answer, sock = _initiate(gateway, peer)
    with sock:
        session = initiator.response(answer)
        sock.send(session.keepalive())
    assert session.local_index == initiator.index
    assert session.sending_key != session.receiving_key
    deadline = time.monotonic() + 5
    while peer.public_b64 not in gateway.handshakes():
        assert time.monotonic() < deadline, "the gateway lists no handshake of the peer"
        time.sleep(0.1)
    assert abs(gateway.handshakes()[peer.public_b64] - time.time()) < 30


@needs_gateway
def test_a_tampered_foreign_or_truncated_answer_is_refused(gateway: wggateway.Gateway) -> None:
    peer = KeyPair.generate()
    gateway.register([peer.public_b64])
    initiator, answer, sock = _initiate(gateway, peer)
    sock.close()
    tampered = bytearray(answer)
    tampered[70] ^= 1  # in mac1
    with pytest.raises(HandshakeError, match="mac1 is wrong"):
        initiator.response(bytes(tampered))
    foreign = answer[:8] + (initiator.index ^ 1).to_bytes(4, "little") + answer[12:]
    with pytest.raises(StaleResponseError, match="another initiation"):
        initiator.response(foreign)
    with pytest.raises(HandshakeError, match="not a handshake response"):
        initiator.response(answer[:60])
    cookie = COOKIE_REPLY.to_bytes(4, "little") + bytes(60)
    with pytest.raises(CookieReplyError, match="under load"):
        initiator.response(cookie)
    # the same answer to another peer's initiation: its payload was sealed for the first
    other = Initiator(KeyPair.generate(), gateway.keys.public)
    other.initiation()
    other.index = initiator.index
    with pytest.raises(HandshakeError, match="mac1 is wrong"):
        other.response(answer)
    assert initiator.response(answer).remote_index == int.from_bytes(answer[4:8], "little")


@needs_gateway
def test_a_peer_the_gateway_does_not_know_gets_no_answer(gateway: wggateway.Gateway) -> None:
    initiator = Initiator(KeyPair.generate(), gateway.keys.public)
    with gateway.socket(timeout=1.0) as sock:
        sock.send(initiator.initiation())
        with pytest.raises(TimeoutError):
            sock.recv(MAX_DATAGRAM)


def _keys_file(folder: Path, pairs: list[KeyPair]) -> Path:
    path = folder / "peers.key"
    path.write_text("".join(base64.b64encode(p.private).decode() + "\n" for p in pairs))
    path.chmod(0o600)
    return path


def _ramp(gw: wggateway.Gateway, folder: Path, workers: int) -> tuple[LoadResult, list[str]]:
    """A flood ramp of 4 then 12 devices (3 s each) run in the gateway's namespace."""
    pairs = [KeyPair.generate() for _ in range(12 + 2 * max(1, workers))]
    gw.register([p.public_b64 for p in pairs])
    config = LoadConfig(platform="vpn", profile="flood", target="127.0.0.1", server_name="gw",
                        gateway_key=base64.b64encode(gw.keys.public).decode(),
                        peers_file=str(_keys_file(folder, pairs)), processes=max(1, workers),
                        steps=(4, 12), step_seconds=3, spawn_rate=100, max_rate=300,
                        timeout=2)  # fmt: skip
    config_file, result_file = folder / "config.json", folder / "result.json"
    config_file.write_text(config.model_dump_json())
    argv = [sys.executable, "-m", "toolkit.load.run", str(config_file), str(result_file),
            "--workers", str(workers)]  # fmt: skip
    subprocess.run(gw.inside(*argv), check=True, timeout=120)
    return LoadResult.model_validate_json(result_file.read_bytes()), [p.public_b64 for p in pairs]


@needs_gateway
@pytest.mark.parametrize("workers", [0, 2], ids=["one process", "two workers"])
def test_the_ramp_carries_every_device_each_a_peer_of_its_own(
    gateway: wggateway.Gateway, tmp_path: Path, workers: int
) -> None:
    result, publics = _ramp(gateway, tmp_path, workers)
    assert [s.users for s in result.steps] == [4, 12], result.model_dump_json()
    assert result.carried == 12
    top = result.steps[-1]
    handshakes = next(r for r in top.requests if r.name == "handshake")
    assert handshakes.count > 12 and handshakes.failures == 0, handshakes.errors
    # 12 users: 12 distinct peers shook hands, none shared between processes
    assert len(set(gateway.handshakes()) & set(publics)) == 12
    assert result.ceiling() is not None and result.ceiling().platform == "vpn"  # type: ignore[union-attr]


def test_the_keys_file_names_the_line_of_a_bad_key(tmp_path: Path) -> None:
    good = base64.b64encode(KeyPair.generate().private).decode()
    path = tmp_path / "peers.key"
    path.write_text(f"{good}\nnot-a-key\n")
    with pytest.raises(ValueError, match=r"peers.key, line 2: not a WireGuard key"):
        read_keys(str(path))
    path.write_text(f"{good}\n{good}\n")
    assert [p.private for p in read_keys(str(path))] == [base64.b64decode(good)] * 2
    path.write_text("")
    with pytest.raises(ValueError, match="no key"):
        read_keys(str(path))


def test_a_vpn_run_needs_the_gateway_key_and_peers_and_others_a_probe() -> None:
    base = {"target": "127.0.0.1", "server_name": "gw", "steps": (1,), "step_seconds": 1}
    with pytest.raises(ValidationError, match="gateway_key, peers_file"):
        LoadConfig(platform="vpn", **base)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="logs in as a probe account"):
        LoadConfig(platform="groupware", **base)  # type: ignore[arg-type]
    probe = Probe(login="p", password_file="/nonexistent")
    with pytest.raises(ValidationError, match="flood is for the mail and vpn"):
        LoadConfig(platform="meeting", profile="flood", probe=probe, **base)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="gateway_key"):
        LoadConfig(platform="vpn", gateway_key="x" * 44, peers_file="/p", **base)  # type: ignore[arg-type]


def test_keys_and_timestamps_are_what_wireguard_reads() -> None:
    pair = KeyPair.generate()
    assert decode_key(pair.public_b64) == pair.public
    assert KeyPair.from_private(pair.private) == pair
    assert base64.b64encode(pair.private).decode() not in repr(pair)  # never in a log
    assert "private" not in repr(pair)
    for bad in ("", "AAAA", "!" * 44):
        with pytest.raises(ValueError, match="not a WireGuard key"):
            decode_key(bad)
    stamp = tai64n(1_700_000_000.5)
    assert len(stamp) == 12
    assert int.from_bytes(stamp[:8], "big") == 2**62 + 10 + 1_700_000_000
    assert int.from_bytes(stamp[8:], "big") == 500_000_000
    assert tai64n(1_700_000_001) > stamp  # the gateway wants each newer than the last


def test_the_peers_playbook_accepts_exactly_the_keys_the_toolkit_accepts() -> None:
    """One rule for a WireGuard key: the playbook's regular expression is KEY_PATTERN's."""
    play = yaml.safe_load((REPO / "playbooks" / "vpn_load_peers.yml").read_text())[0]
    checks = " ".join(play["tasks"][0]["ansible.builtin.assert"]["that"])
    assert f"match', '{KEY_PATTERN.pattern}')" in checks
