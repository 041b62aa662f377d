"""The gate's configuration (gate.json, written by the vpn_gateway role) and the nftables
batches it runs (A13: only the gated groups' ``open_G_v4``/``open_G_v6`` sets are touched).

Self-contained (Debian's Python 3 only).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from portal_errors import GateError
from portal_schedule import PortalSchedule, parse

log = logging.getLogger(__name__)

USER_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
TABLE_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
NFT_TIMEOUT = 10.0
#: Bytes of nft's error output kept for the log.
NFT_OUTPUT_CAP = 4096

#: Runs one nft batch; raises GateError("firewall") when nft fails.
Nft = Callable[[str], None]


@dataclass(frozen=True)
class Peer:
    """One VPN peer (a teleworker's device) of the roster."""

    user: str
    device: str
    groups: tuple[str, ...]
    address_v4: str
    address_v6: str
    schedule: PortalSchedule

    def addresses(self) -> tuple[str, ...]:
        return tuple(a for a in (self.address_v4, self.address_v6) if a)


@dataclass(frozen=True)
class GateConfig:
    socket: str
    database: str
    retention_days: int
    max_seconds: int
    table: str
    nft: tuple[str, ...]
    workdays: frozenset[int]
    timezone: ZoneInfo
    gated_groups: frozenset[str]
    peers: tuple[Peer, ...]
    socket_group: str = ""

    @classmethod
    def load(cls, path: str | Path) -> GateConfig:
        """gate.json; its peers are in ``peers_file`` when it names one (the role rewrites
        that file when the roster changes; none yet: no peers)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("peers_file"):
            peers_file = Path(str(data["peers_file"]))
            try:
                text = peers_file.read_text(encoding="utf-8")
            except FileNotFoundError:
                text = "[]"
            peers = json.loads(text)
            if not isinstance(peers, list):
                raise ValueError(f"{peers_file} is not a JSON list of peers")
            data = {**data, "peers": peers}
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> GateConfig:
        """Raises ValueError saying what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("the gate configuration is a JSON object")
        nft = data.get("nft", "/usr/sbin/nft")
        argv = (nft,) if isinstance(nft, str) else tuple(nft)
        if not argv or not all(isinstance(a, str) and a for a in argv):
            raise ValueError("nft is a path or a non-empty argv list")
        table = str(data.get("table", ""))
        if not TABLE_RE.match(table):
            raise ValueError(f"table {table!r} is not an nft table name")
        workdays = data.get("workdays", [0, 1, 2, 3, 4])
        if not isinstance(workdays, list) or not all(
            isinstance(d, int) and 0 <= d <= 6 for d in workdays
        ):
            raise ValueError("workdays is a list of 0 (Monday) to 6")
        max_seconds = int(data.get("max_seconds", 36000))
        retention = int(data.get("retention_days", 180))
        if max_seconds < 1 or retention < 1:
            raise ValueError("max_seconds and retention_days are positive")
        return cls(
            socket=str(data["socket"]),
            database=str(data["database"]),
            retention_days=retention,
            max_seconds=max_seconds,
            table=table,
            nft=argv,
            workdays=frozenset(workdays),
            timezone=ZoneInfo(str(data.get("timezone", "UTC"))),
            gated_groups=frozenset(str(g) for g in data.get("gated_groups", [])),
            peers=tuple(_peer(p) for p in data.get("peers", [])),
            socket_group=str(data.get("socket_group", "")),
        )


def logvalue(value: object, cap: int = 128) -> str:
    """``value`` for a key=value log line: visible ASCII other than ``=`` and ``\\`` kept,
    anything else (spaces, controls, bidi controls, non-ASCII) shown as an escape
    (``\\x1b``, ``\\u202e``); cut to ``cap`` characters; ``-`` when empty."""
    text = (value if isinstance(value, str) else str(value))[:cap]
    out = []
    for ch in text:
        code = ord(ch)
        if 0x21 <= code <= 0x7E and ch not in "=\\":
            out.append(ch)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out) or "-"


def normal_address(text: str) -> str:
    """The canonical text of an IP address; raises ValueError."""
    return ipaddress.ip_address(text.strip()).compressed


def _peer(data: Any) -> Peer:
    if not isinstance(data, dict):
        raise ValueError("a peer is an object")
    user = str(data.get("user", ""))
    if not USER_RE.match(user):
        raise ValueError(f"peer user {user!r} is not a user id")
    v4 = str(data.get("address_v4") or "")
    v6 = str(data.get("address_v6") or "")
    if not v4 and not v6:
        raise ValueError(f"peer of {user} has no address")
    if v4 and ipaddress.ip_address(v4).version != 4:
        raise ValueError(f"address_v4 of {user} is not IPv4")
    if v6 and ipaddress.ip_address(v6).version != 6:
        raise ValueError(f"address_v6 of {user} is not IPv6")
    groups = data.get("groups") or []
    if not isinstance(groups, list):
        raise ValueError(f"groups of {user} is not a list")
    return Peer(
        user=user.lower(),
        device=str(data.get("device", "")),
        groups=tuple(str(g) for g in groups),
        address_v4=normal_address(v4) if v4 else "",
        address_v6=normal_address(v6) if v6 else "",
        schedule=parse(data.get("schedule")),
    )


def set_name(group: str, family: int) -> str:
    """The nft set of a gated group's open addresses: open_G_v4 or open_G_v6."""
    return f"open_{re.sub(r'[^A-Za-z0-9_]', '_', group)}_v{family}"


def _elements(addresses: Iterable[str], groups: Iterable[str]) -> list[tuple[str, str]]:
    """(set, address) for every address and group; addresses are checked IP addresses."""
    pairs: list[tuple[str, str]] = []
    for address in addresses:
        ip = ipaddress.ip_address(address)
        pairs += [(set_name(g, ip.version), ip.compressed) for g in groups]
    return pairs


def open_batch(table: str, addresses: Iterable[str], groups: Iterable[str], seconds: int) -> str:
    """Adds the addresses to the groups' open sets for ``seconds``; an element already there
    is removed first (add with 1 s, delete), so its timeout is the new one on any kernel."""
    lines = []
    for name, ip in _elements(addresses, groups):
        lines += [
            f"add element inet {table} {name} {{ {ip} timeout 1s }}",
            f"delete element inet {table} {name} {{ {ip} }}",
            f"add element inet {table} {name} {{ {ip} timeout {max(1, seconds)}s }}",
        ]
    return "\n".join(lines) + "\n"


def close_batch(table: str, addresses: Iterable[str], groups: Iterable[str]) -> str:
    """Removes the addresses from the groups' open sets, whether they are there or not."""
    lines = []
    for name, ip in _elements(addresses, groups):
        lines += [
            f"add element inet {table} {name} {{ {ip} timeout 1s }}",
            f"delete element inet {table} {name} {{ {ip} }}",
        ]
    return "\n".join(lines) + "\n"


class NftRunner:
    """Runs batches with ``ARGV -f -`` (batch on stdin), 10 s at most, its error output
    capped; ``argv`` may be a prefix (``ip netns exec NS nft``)."""

    def __init__(self, argv: Sequence[str], timeout: float = NFT_TIMEOUT) -> None:
        self.argv = list(argv)
        self.timeout = timeout

    def __call__(self, batch: str) -> None:
        with tempfile.TemporaryFile() as errors:
            try:
                done = subprocess.run(
                    [*self.argv, "-f", "-"],
                    input=batch.encode(),
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    timeout=self.timeout,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                log.error("nft-failed error=%s", type(exc).__name__)
                raise GateError("firewall") from exc
            if done.returncode != 0:
                errors.seek(0)
                text = errors.read(NFT_OUTPUT_CAP).decode("utf-8", "replace")
                log.error("nft-failed rc=%d output=%s", done.returncode, logvalue(text, 1024))
                raise GateError("firewall")
