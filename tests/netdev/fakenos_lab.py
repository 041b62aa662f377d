"""Emulated network devices for the tests: FakeNOS over SSH on 127.0.0.1.

Each device gets its own NOS definition: a copy of FakeNOS's YAML for its platform with
the configuration under test as the answer to ``show running-config`` (FortiOS: ``show
full-configuration``), given at the enable prompt only on IOS and ASA, and the matching
version command. A device may also hang on its configuration command until released
(``hang``), to stand for a device that stops answering mid-collection. The server's host
key is written to a known_hosts file, so the collector checks it strictly."""

from __future__ import annotations

import copy
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
import yaml
from fakenos import FakeNOS
from fakenos.core.nos import Nos
from fakenos.plugins.nos import nos_plugins
from fakenos.plugins.servers import ssh_server_paramiko

from tests.ports import free_port
from toolkit.netdev.model import DeviceSpec
from toolkit.netdev.platforms import COMMANDS, Platform

USER, PASSWORD = "auditor", "s3cret-audit"
_NOS = {Platform.IOS: "cisco_ios", Platform.ASA: "cisco_asa", Platform.FORTIOS: "fortinet"}


@dataclass(frozen=True)
class Device:
    name: str
    platform: Platform
    running: str
    version: str
    #: The configuration command never answers (until the lab is stopped).
    hang: bool = False
    #: The inventory gives no password for it.
    no_password: bool = False


def _nos(device: Device, release: threading.Event) -> Nos:
    stock = yaml.safe_load(Path(nos_plugins[_NOS[device.platform]][0]).read_text())
    data: dict[str, Any] = copy.deepcopy(stock)
    data["name"] = f"test_{device.name}"
    commands = COMMANDS[device.platform]
    at_enable = "{base_prompt}#"
    if device.platform is Platform.FORTIOS:  # FortiOS has no enable: `NAME #` at login
        data["initial_prompt"] = at_enable = "{base_prompt} #"
    running: Any = device.running
    if device.hang:

        def running(*_: Any, **__: Any) -> str:
            release.wait(60)
            return "never seen"

    data["commands"][commands.running] = {"output": running, "help": "", "prompt": at_enable}
    data["commands"][commands.version] = {"output": device.version, "help": "", "prompt": None}
    nos = Nos()
    nos.from_dict(data)
    nos.validate()
    return nos


@dataclass
class Lab:
    specs: dict[str, DeviceSpec]
    known_hosts: Path


@contextmanager
def fakenos_lab(devices: list[Device], tmp: Path) -> Iterator[Lab]:
    """The devices listening on 127.0.0.1, and how the inventory would reach each."""
    release = threading.Event()
    password = tmp / "password"
    password.write_text(PASSWORD + "\n")
    key = paramiko.RSAKey(file_obj=io.StringIO(ssh_server_paramiko.DEFAULT_SSH_KEY))
    ports = {d.name: free_port() for d in devices}
    known = tmp / "known_hosts"
    known.write_text(
        "".join(f"[127.0.0.1]:{p} {key.get_name()} {key.get_base64()}\n" for p in ports.values())
    )
    plugins = [_nos(d, release) for d in devices]
    inventory = {
        "default": {"username": USER, "password": PASSWORD},
        "hosts": {
            d.name: {"port": ports[d.name], "nos": {"plugin": f"test_{d.name}"}} for d in devices
        },
    }
    net = FakeNOS(inventory=inventory, plugins=plugins)
    net.start()
    try:
        yield Lab(
            {
                d.name: DeviceSpec(
                    name=d.name,
                    platform=d.platform,
                    host="127.0.0.1",
                    port=ports[d.name],
                    user=USER,
                    password_file=None if d.no_password else password,
                    known_hosts=known,
                )
                for d in devices
            },
            known,
        )
    finally:
        release.set()
        net.stop()
