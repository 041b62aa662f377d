"""What one ``toolkit load`` run does, and the bounds it may not cross. Plain data (no Locust
import): the CLI builds it, the run process and every worker read it.

Bounds: every run has at most :data:`MAX_USERS` simulated users, at most
:data:`MAX_RATE` operations a second (``max_rate``, shared by all processes), lasts at most
:data:`MAX_SECONDS`, and targets only 127.0.0.1, ::1 or an address the inventory names
(:func:`allowed_target`).

Platforms: ``mail`` (SMTP submission, IMAP), ``groupware`` (SOGo: web login, CalDAV),
``meeting`` (the meeting application's login and Janus token, Janus signalling) and ``vpn``
(WireGuard handshakes of peers registered for the run only)."""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.secrets import read_secret
from toolkit.vpn.keys import KEY_PATTERN

MAX_USERS = 50_000
MAX_RATE = 5_000.0
MAX_SECONDS = 3_600
LOOPBACK = frozenset({"127.0.0.1", "::1"})
#: Header every message of a run carries (its token): cleanup deletes by it.
HEADER = "X-Telework-Load"


def event_prefix(token: str) -> str:
    """Start of the file name of every groupware event of a run: cleanup deletes by it."""
    return f"telework-load-{token}-"


def calendar_path(login: str) -> str:
    """The probe's personal calendar on SOGo's CalDAV."""
    return f"/SOGo/dav/{login}/Calendar/personal/"


#: Platform of a load run -> platform of ``capacity plan`` its ceiling is checked on.
CAPACITY_PLATFORM = {"mail": "mail", "groupware": "web", "meeting": "video", "vpn": "vpn"}


class Slo(BaseModel):
    """A step meets the SLO when every request's p95 latency and the error rate stay within
    these (decides ``carried`` and the exit code)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    p95_ms: float = Field(default=1000.0, gt=0)
    error_rate: float = Field(default=0.01, ge=0, le=1)


class Probe(BaseModel):
    """The probe mailbox (directory role's probe accounts): the password stays in its file,
    which each worker reads itself (it never crosses the master/worker link)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    login: str = Field(pattern=r"^[A-Za-z0-9._@-]{1,64}$")
    #: Mail address (mail only: messages are sent to it).
    address: str = ""
    password_file: str


class LoadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: Literal["mail", "groupware", "meeting", "vpn"] = "mail"
    #: teleworker: paced like the activity profile (mixed mail use); flood: SMTP submissions
    #: (vpn: handshakes) back to back (the server's ceiling in operations a second).
    profile: Literal["teleworker", "flood"] = "teleworker"
    target: str
    server_name: str
    ca_file: str = ""
    smtp_port: int = Field(default=587, gt=0, lt=65536)
    imap_port: int = Field(default=993, gt=0, lt=65536)
    #: groupware and meeting: their HTTPS port.
    https_port: int = Field(default=443, gt=0, lt=65536)
    #: flood only: plain SMTP without STARTTLS nor AUTH (the anchor smtp-source speaks).
    smtp_plain: bool = False
    #: The directory's probe account (every platform but vpn).
    probe: Probe | None = None
    #: vpn: the gateway's WireGuard port and public key (base64, as `wg` shows it), and the
    #: file of the run's peers' private keys (one a line, 0600), which each process reads
    #: itself, as the probe's password; the peers are registered for the run only.
    vpn_port: int = Field(default=51820, gt=0, lt=65536)
    gateway_key: str = ""
    peers_file: str = ""
    #: vpn pacing: handshakes a teleworker's device makes an hour (WireGuard renews its
    #: session every 120 s while traffic flows: 30).
    handshakes_per_hour: float = Field(default=30.0, ge=0)
    #: Processes the run's users are spread over (the run process, or its workers): vpn
    #: users pick their peer's key by it, so no two users share one.
    processes: int = Field(default=1, ge=1, le=1000)
    steps: tuple[int, ...] = Field(min_length=1)
    step_seconds: float = Field(gt=0)
    spawn_rate: float = Field(default=100.0, gt=0)
    max_rate: float = Field(default=500.0, gt=0, le=MAX_RATE)
    slo: Slo = Field(default_factory=Slo)
    #: Teleworker pacing, per simulated user and hour (from the capacity profile).
    sent_per_hour: float = Field(default=4.5, ge=0)
    read_per_hour: float = Field(default=10.6, ge=0)
    logins_per_hour: float = Field(default=2.0, ge=0)
    idle_per_hour: float = Field(default=60 / 29, ge=0)
    #: groupware pacing, per user and hour: pages opened, events created (each read back
    #: with a REPORT), web logins.
    pages_per_hour: float = Field(default=20.0, ge=0)
    events_per_hour: float = Field(default=1.0, ge=0)
    web_logins_per_hour: float = Field(default=1.0, ge=0)
    #: meeting: participants a room (each a publisher), Janus keepalives (janus.js sends
    #: one every 25 s), meetings joined an hour (a leave and a join in another room).
    meeting_size: int = Field(default=6, ge=1, le=100)
    keepalive_seconds: float = Field(default=25.0, gt=0, le=55)
    joins_per_hour: float = Field(default=2.0, ge=0)
    message_bytes: int = Field(default=2_000, gt=0, le=10_000_000)
    timeout: float = Field(default=10.0, gt=0, le=120)
    token: str = Field(default_factory=lambda: secrets.token_hex(8), pattern=r"^[0-9a-f]{16}$")

    @model_validator(mode="after")
    def _bounded(self) -> LoadConfig:
        if max(self.steps) > MAX_USERS or min(self.steps) < 1:
            raise ValueError(f"each step has 1 to {MAX_USERS} users")
        if list(self.steps) != sorted(self.steps):
            raise ValueError("steps must go up (a stepped ramp)")
        if self.duration > MAX_SECONDS:
            raise ValueError(f"a run lasts at most {MAX_SECONDS} s (steps x step seconds)")
        if self.platform not in ("mail", "vpn") and self.profile == "flood":
            raise ValueError("profile: flood is for the mail and vpn platforms only")
        if self.platform != "mail" and self.smtp_plain:
            raise ValueError("smtp_plain is for the mail platform only")
        if self.gateway_key and not KEY_PATTERN.match(self.gateway_key):
            raise ValueError("gateway_key: not a WireGuard public key (32 bytes in base64)")
        if self.platform == "vpn":
            if not (self.gateway_key and self.peers_file):
                raise ValueError("gateway_key, peers_file: the vpn platform needs both")
        elif self.probe is None:
            raise ValueError(f"probe: the {self.platform} platform logs in as a probe account")
        elif self.platform == "mail" and not self.probe.address:
            raise ValueError("probe.address: the mail platform sends to the probe's address")
        return self

    @property
    def account(self) -> Probe:
        """The probe account (validated present on every platform that logs in)."""
        if self.probe is None:
            raise ToolkitError(f"the {self.platform} platform has no probe account")
        return self.probe

    @property
    def duration(self) -> float:
        return len(self.steps) * self.step_seconds


def stepped(top: int, count: int) -> tuple[int, ...]:
    """``count`` evenly spaced steps up to ``top`` users."""
    return tuple(sorted({max(1, round(top * (i + 1) / count)) for i in range(count)}))


def allowed_target(target: str, inventory_addresses: dict[str, str]) -> str:
    """The address to load: 127.0.0.1/::1, an address the inventory names, or an inventory
    host's name (its address). Anything else is refused: a load test is an attack on
    whatever it points at."""
    if target in inventory_addresses:
        return inventory_addresses[target]
    try:
        address = str(ipaddress.ip_address(target))
    except ValueError:
        address = ""
    if address in LOOPBACK or (address and address in inventory_addresses.values()):
        return address
    known = ", ".join(sorted(inventory_addresses)) or "none"
    raise ToolkitError(
        f"refusing to load {target!r}: only 127.0.0.1, ::1 or a host of the inventory "
        f"(hosts: {known}) may be targeted",
        exit_code=ExitCode.USAGE,
    )


def read_password(probe: Probe) -> str:
    """The probe's password; its file may be vault-encrypted, as the audit reads it."""
    try:
        password = read_secret(Path(probe.password_file)).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError, ToolkitError) as exc:
        raise ToolkitError(f"password of the probe account {probe.login}: {exc}") from exc
    if not password:
        raise ToolkitError(f"password of the probe account {probe.login}: file is empty")
    return password
