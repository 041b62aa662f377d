"""``toolkit load tunnel``: the throughput one teleworker's tunnel carries (A20, M3).

iperf3 runs on a laptop of the inventory, through its WireGuard tunnel, to the gateway's
tunnel address: into the site (the laptop sends) and out of it (``-R``: the gateway
sends). The gateway's iperf3 port is reachable from the tunnel only by the addresses in
the VPN table's throughput sets (role vpn_gateway): the laptop's tunnel address is added
with a timeout, so the opening closes by itself even if this process dies, and deleted
after. The gateway's iperf3 serves one test (``-1``) and is stopped by ``timeout``.

Where things are comes from the gateway's export (role vpn_gateway: its tunnel address,
the port, the table and sets, each device's tunnel address); how to log in comes from the
inventory (toolkit.backup.remote). What iperf3 prints is outside input: its size is capped
and it is validated before a figure is taken; its error text is made printable.

No Locust here: iperf3 is the load generator, the hosts run it.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.adapters.ansible import load_inventory
from toolkit.backup.remote import Session, Target, target_of, with_session
from toolkit.capacity.inputs import Ceiling
from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.load.vpn_peers import gateway_export
from toolkit.text import printable
from toolkit.vpn.layout import GATEWAYS_DIR

log = logging.getLogger(__name__)

#: Longest test in one direction.
MAX_SECONDS = 60
#: Most parallel streams of a test.
MAX_STREAMS = 16
#: Largest iperf3 report read (a 60 s test with 16 streams prints about 300 KB).
MAX_REPORT = 2 * 1024 * 1024
#: Time beyond the test for a host's command: iperf3's start, its connection, its report.
GRACE_SECONDS = 20
#: Longest wait for the gateway's iperf3 to listen.
LISTEN_SECONDS = 10.0
#: Longest SSH login.
LOGIN_SECONDS = 30.0
#: The ceiling's platform in ceilings.json (``toolkit capacity plan`` reads it).
PLATFORM = "vpn_tunnel"
#: Rate names of the ceiling, by direction.
INTO_SITE, OUT_OF_SITE = "into site Mbit/s", "out of site Mbit/s"
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")


class _Sum(BaseModel):
    model_config = ConfigDict(extra="ignore")
    bits_per_second: float = Field(ge=0, allow_inf_nan=False)
    retransmits: int = Field(default=0, ge=0)


class _End(BaseModel):
    model_config = ConfigDict(extra="ignore")
    sum_sent: _Sum
    sum_received: _Sum


class _Report(BaseModel):
    model_config = ConfigDict(extra="ignore")
    end: _End


@dataclass(frozen=True)
class Direction:
    """One direction's figure: what the receiving end got."""

    mbps: float
    retransmits: int


def parse_report(data: bytes, where: str) -> Direction:
    """The received throughput of an iperf3 client's ``-J`` report; ``where`` names the
    test in errors (what iperf3 said is made printable)."""
    if len(data) > MAX_REPORT:
        raise ToolkitError(f"{where}: iperf3's report is longer than {MAX_REPORT} bytes")
    try:
        report = _Report.model_validate_json(data)
    except ValidationError as exc:
        said = _iperf3_error(data)
        if said:
            raise ToolkitError(f"{where}: iperf3: {said}") from exc
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "-"
        raise ToolkitError(f"{where}: iperf3's report, field {field}: {first['msg']}") from exc
    received, sent = report.end.sum_received, report.end.sum_sent
    return Direction(received.bits_per_second / 1e6, sent.retransmits)


def _iperf3_error(data: bytes) -> str:
    """iperf3's own ``error`` field of a report, printable; empty when there is none."""
    try:
        value = json.loads(data)
    except ValueError:
        return ""
    if isinstance(value, dict) and isinstance(value.get("error"), str):
        return printable(value["error"][:200])
    return ""


@dataclass(frozen=True)
class Plan:
    """Where one measurement runs, from the gateway's export, and how to log in to both
    ends (from the inventory)."""

    gateway: Target
    client: Target
    gateway_address: str
    client_address: str
    port: int
    table: str
    set_name: str


def _address(value: Any, where: str) -> str:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError as exc:
        raise ToolkitError(f"{where}: not an IP address: {printable(str(value)[:60])!r}") from exc


def make_plan(inventory: Path, gateway: str, client: str | None) -> Plan:
    """The measurement's plan: the gateway's tunnel address, iperf3's port and sets, and the
    client's tunnel address (``client`` default: the first of ``laptops`` that the export
    gives an address)."""
    export = gateway_export(inventory, gateway)
    where = str(inventory / GATEWAYS_DIR / f"{gateway}.json")
    through = export.get("throughput")
    if not isinstance(through, dict):
        raise ToolkitError(
            f"{where}: no throughput settings: provision the gateway with this version of "
            "role vpn_gateway (it installs iperf3 and exports them)",
            exit_code=ExitCode.USAGE,
        )
    found = export.get("devices")
    devices: dict[str, Any] = found if isinstance(found, dict) else {}
    hosts = load_inventory(inventory, with_roster=False)
    laptops = sorted(n for n, h in hosts.items() if "laptops" in h.groups and n in devices)
    chosen = client or (laptops[0] if laptops else "")
    if chosen not in hosts or chosen not in devices:
        raise ToolkitError(
            f"--client {printable(chosen)!r}: not a host of {inventory} with a tunnel "
            f"address in {where} (laptops with one: {', '.join(laptops) or 'none'})",
            exit_code=ExitCode.USAGE,
        )
    device = devices[chosen]
    v4 = isinstance(device, dict) and bool(device.get("address_v4")) and export.get("address_v4")
    family = "v4" if v4 else "v6"
    if not (isinstance(device, dict) and device.get(f"address_{family}")):
        raise ToolkitError(f"{where}: devices.{chosen}: no tunnel address")
    port, table, sets = through.get("port"), through.get("table"), through.get("sets")
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise ToolkitError(f"{where}: throughput.port: not a port number")
    if not isinstance(table, str) or not _TABLE.match(table):
        raise ToolkitError(f"{where}: throughput.table: not an nftables table name")
    set_name = f"throughput_{family}"
    if not isinstance(sets, list) or set_name not in sets:
        raise ToolkitError(f"{where}: throughput.sets: no {set_name}")
    return Plan(
        gateway=target_of(hosts[gateway], inventory),
        client=target_of(hosts[chosen], inventory),
        gateway_address=_address(export.get(f"address_{family}"), f"{where}: address_{family}"),
        client_address=_address(
            device[f"address_{family}"], f"{where}: devices.{chosen}.address_{family}"
        ),
        port=port,
        table=table,
        set_name=set_name,
    )


class TunnelResult(BaseModel):
    """What one measurement found, both ways."""

    client: str
    gateway: str
    target: str
    seconds: int
    streams: int
    into_site_mbps: float
    out_of_site_mbps: float
    retransmits: dict[str, int]
    measured_at: datetime

    @property
    def rates(self) -> dict[str, float]:
        """Mbit/s by direction (INTO_SITE, OUT_OF_SITE)."""
        return {INTO_SITE: self.into_site_mbps, OUT_OF_SITE: self.out_of_site_mbps}

    def ceiling(self) -> Ceiling:
        """The measured throughput for ``toolkit capacity plan`` (rates in Mbit/s)."""
        return Ceiling(
            platform=PLATFORM,
            teleworkers=0,
            rates=self.rates,
            p95_ms=0.0,
            error_rate=0.0,
            target=f"{self.client} -> {self.gateway} ({self.target})",
            measured_at=self.measured_at,
        )


def _checked(session: Session, command: str, what: str, *, sudo: bool = False) -> bytes:
    rc, out, err = session.run(command, sudo=sudo, cap=MAX_REPORT)
    if rc != 0:
        said = printable(err.decode(errors="replace").strip()[:200])
        raise ToolkitError(f"{session.target.name}: {what} failed (exit {rc}): {said}")
    return out


def _wait_listening(gateway: Session, plan: Plan, server: threading.Thread) -> None:
    """Until the gateway's iperf3 listens (a bounded wait on the condition)."""
    deadline = time.monotonic() + LISTEN_SECONDS
    probe = f"ss -Hltn 'sport = :{plan.port}'"
    while not _checked(gateway, probe, "ss").strip():
        if not server.is_alive() or time.monotonic() > deadline:
            raise ToolkitError(
                f"{plan.gateway.name}: iperf3 does not listen on {plan.gateway_address} port "
                f"{plan.port} (is role vpn_gateway's iperf3 installed?)"
            )
        time.sleep(0.2)


def _one_way(
    gateway: Session, client: Session, plan: Plan, *, seconds: int, streams: int, reverse: bool
) -> Direction:
    """One iperf3 test: a one-test server on the gateway, the client on the laptop."""
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            _checked(
                gateway,
                f"timeout -k 2 {seconds + GRACE_SECONDS} iperf3 -s -1 "
                f"-B {plan.gateway_address} -p {plan.port} > /dev/null",
                "iperf3 server",
            )
        except BaseException as exc:  # reported by the caller's thread
            failure.append(exc)

    server = threading.Thread(target=serve, name="iperf3-server", daemon=True)
    server.start()
    _wait_listening(gateway, plan, server)
    name = OUT_OF_SITE if reverse else INTO_SITE
    rc, out, err = client.run(
        f"iperf3 -c {plan.gateway_address} -p {plan.port} -t {seconds} -P {streams} -J"
        + (" -R" if reverse else ""),
        cap=MAX_REPORT,
    )
    where = f"{plan.client.name} -> {plan.gateway.name}, {name.removesuffix(' Mbit/s')}"
    direction = parse_report(out, where)  # iperf3's own error first, whatever its exit
    if rc != 0:
        said = printable(err.decode(errors="replace").strip()[:200])
        raise ToolkitError(f"{where}: iperf3 exited {rc}: {said}")
    server.join(GRACE_SECONDS)
    if failure:
        raise failure[0]
    return direction


def measure(plan: Plan, *, seconds: int, streams: int) -> TunnelResult:
    """Both directions through ``plan.client``'s tunnel; the gateway's opening is removed
    after (and expires by itself)."""
    if not 1 <= seconds <= MAX_SECONDS or not 1 <= streams <= MAX_STREAMS:
        raise ToolkitError(
            f"at most {MAX_SECONDS} s and {MAX_STREAMS} streams", exit_code=ExitCode.USAGE
        )
    command_timeout = seconds + 2 * GRACE_SECONDS
    element = (
        f"inet {plan.table} {plan.set_name} '{{ {plan.client_address} timeout "
        f"{2 * seconds + 2 * GRACE_SECONDS + int(LISTEN_SECONDS) * 2}s }}'"
    )
    started = datetime.now(UTC)

    def on_gateway(gateway: Session) -> TunnelResult:
        _checked(gateway, f"nft add element {element}", "opening iperf3's port", sudo=True)
        try:
            return with_session(
                plan.client,
                LOGIN_SECONDS,
                lambda client: _both(gateway, client),
                command_timeout=command_timeout,
            )
        finally:
            rc, _, err = gateway.run(
                f"nft delete element inet {plan.table} {plan.set_name} "
                f"'{{ {plan.client_address} }}'",
                sudo=True,
                cap=65536,
            )
            if rc != 0:  # already expired: nothing is left open
                log.info("%s: %s", plan.gateway.name, printable(err.decode(errors="replace")[:200]))

    def _both(gateway: Session, client: Session) -> TunnelResult:
        into = _one_way(gateway, client, plan, seconds=seconds, streams=streams, reverse=False)
        out = _one_way(gateway, client, plan, seconds=seconds, streams=streams, reverse=True)
        return TunnelResult(
            client=plan.client.name,
            gateway=plan.gateway.name,
            target=plan.gateway_address,
            seconds=seconds,
            streams=streams,
            into_site_mbps=round(into.mbps, 2),
            out_of_site_mbps=round(out.mbps, 2),
            retransmits={INTO_SITE: into.retransmits, OUT_OF_SITE: out.retransmits},
            measured_at=started,
        )

    return with_session(
        plan.gateway,
        LOGIN_SECONDS,
        on_gateway,
        command_timeout=command_timeout,
    )
