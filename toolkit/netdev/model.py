"""What the audit knows of one network device: how to reach it (or where its saved
configuration is), and what was read from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.netdev.platforms import Platform

if TYPE_CHECKING:
    from toolkit.netdev.fortios import FortiConfig
    from toolkit.netdev.ios import CiscoConfig


class DeviceError(Exception):
    """The device's configuration could not be read or parsed: the device is reported
    with this reason and the other devices go on."""


@dataclass(frozen=True, order=True)
class Line:
    """One configuration line and its number (from 1) in the configuration read."""

    number: int
    text: str

    def __str__(self) -> str:
        return f"line {self.number}: {self.text.strip()}"

    @property
    def words(self) -> str:
        """The text with its spacing collapsed (``deny   ip`` -> ``deny ip``)."""
        return " ".join(self.text.split())


@dataclass(frozen=True)
class DeviceSpec:
    """A network device of the inventory: its platform and how to read its configuration.
    ``saved`` is set for an offline audit (``--config-dir``): the files are read instead of
    the device."""

    name: str
    platform: Platform
    host: str
    port: int = 22
    user: str | None = None
    key_file: Path | None = None
    password_file: Path | None = None
    enable_password_file: Path | None = None
    known_hosts: Path | None = None
    saved: Path | None = None

    def __str__(self) -> str:
        if self.saved is not None:
            return f"{self.name} (saved configuration {self.saved})"
        user = f"{self.user}@" if self.user else ""
        return f"{user}{self.host}:{self.port}"


@dataclass(frozen=True)
class HostKey:
    """The SSH host key the device presented (None offline)."""

    kind: str
    bits: int


@dataclass(frozen=True)
class DeviceConfig:
    """What was read from a device, parsed: ``cisco`` for IOS and ASA, ``forti`` for
    FortiOS. ``source`` says where the configuration came from (the command or file)."""

    name: str
    platform: Platform
    source: str
    running: str
    version: str
    cisco: CiscoConfig | None = None
    forti: FortiConfig | None = None
    host_key: HostKey | None = None
