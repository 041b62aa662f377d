"""Teleworker user class for the VPN (Locust): each simulated teleworker is a WireGuard
peer of its own, registered on the gateway for the run, that makes the handshake a device
makes when its tunnel comes up or renews its session (M7): initiation, the gateway's
response checked with the peer's keys, then the keepalive that confirms the session.

Only the run process and its workers import this module: importing Locust patches the
process for gevent. The peers' private keys are read by each process from the run's keys
file (never sent over the master/worker link); the CLI registers their public keys on the
gateway before the run and removes them after (:mod:`toolkit.load.vpn_peers`)."""

from __future__ import annotations

import contextlib
import itertools
import random
import socket
from typing import Any

from locust import User, task

from toolkit.load.base import TimedUser
from toolkit.load.config import LoadConfig
from toolkit.load.vpn_peers import read_keys
from toolkit.load.wireguard import (
    MAX_DATAGRAM,
    HandshakeError,
    Initiator,
    KeyPair,
    StaleResponseError,
    decode_key,
)

#: Datagrams read for one handshake before giving up (answers to earlier, timed-out
#: initiations of the same peer are skipped).
MAX_READS = 8
#: Shortest time between two handshakes of one peer in the flood profile: the gateway drops
#: a peer's initiation that comes less than 20 ms after its last (WireGuard's flood guard,
#: wireguard-go's HandshakeInitationRate), so back to back means this far apart per peer;
#: the ceiling comes from many peers at once.
FLOOD_PEER_INTERVAL = 0.05

#: Set once per process before users start.
STATE: dict[str, Any] = {}


def configure(config: LoadConfig) -> None:
    STATE.update(
        config=config,
        gateway=decode_key(config.gateway_key),
        keys=read_keys(config.peers_file),
        taken=itertools.count(),
    )


def _config() -> LoadConfig:
    config: LoadConfig = STATE["config"]
    return config


class VpnTeleworker(TimedUser):
    """A device's WireGuard peer: a handshake at the profile's hourly rate (teleworker), or
    back to back within ``max_rate`` (flood: the gateway's ceiling in handshakes a
    second)."""

    def wait_time(self) -> float:
        c = _config()
        if c.profile == "flood":
            return FLOOD_PEER_INTERVAL
        per_hour = c.handshakes_per_hour
        return random.expovariate(per_hour / 3600) if per_hour > 0 else 3600.0

    def on_start(self) -> None:
        c = _config()
        keys: list[KeyPair] = STATE["keys"]
        # each process's users take every processes-th key from its own index on: no two
        # users of a run, in any process, share a peer
        index = getattr(self.environment.runner, "worker_index", 0)
        slot = next(STATE["taken"]) * c.processes + index
        self.peer = keys[slot % len(keys)]
        family = socket.AF_INET6 if ":" in c.target else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.settimeout(c.timeout)
        self.sock.connect((c.target, c.vpn_port))

    def on_stop(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def handshake(self) -> int:
        initiator = Initiator(self.peer, STATE["gateway"])
        self.sock.send(initiator.initiation())
        for _ in range(MAX_READS):
            datagram = self.sock.recv(MAX_DATAGRAM)
            try:
                session = initiator.response(datagram)
            except StaleResponseError:
                continue
            self.sock.send(session.keepalive())
            return len(datagram)
        raise HandshakeError(f"no answer to this initiation in {MAX_READS} datagrams")

    @task
    def renew(self) -> None:
        self.measure("WireGuard", "handshake", self.handshake, _config().timeout)


def user_classes(config: LoadConfig) -> list[type[User]]:
    return [VpnTeleworker]
