"""Helpers for the audit tests: the real catalogue, a fake host answering commands, plans."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from toolkit.adapters.ssh import Endpoint, ServerOffer
from toolkit.audit.catalogue import Catalogue, load_catalogue
from toolkit.audit.context import Context
from toolkit.audit.registry import implementations
from toolkit.audit.targets import HostPlan, PlannedControl

AUDITS = REPO / "audits"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(AUDITS, frozenset(implementations()))


@dataclass
class Answer:
    rc: int
    stdout: str
    stderr: str = ""


class FakeHost:
    """Answers commands by the first regex that matches them; unknown ones exit 127."""

    def __init__(self, answers: Mapping[str, Answer | str]) -> None:
        self.answers = [
            (re.compile(k), v if isinstance(v, Answer) else Answer(0, v))
            for k, v in answers.items()
        ]
        self.commands: list[str] = []

    def run(self, command: str) -> Answer:
        self.commands.append(command)
        for pattern, answer in self.answers:
            if pattern.search(command):
                return answer
        return Answer(127, "", f"sh: {command}: not found")


def fake_context(answers: Mapping[str, Answer | str], **kwargs: Any) -> Context:
    ctx = Context(
        name="srv1",
        address="192.0.2.10",
        ssh_address="192.0.2.10",
        ssh_port=22,
        tls_ports=kwargs.pop("tls_ports", ()),
        http_ports=kwargs.pop("http_ports", ()),
        probe_timeout=1.0,
        **kwargs,
    )
    ctx.host = FakeHost(answers)
    return ctx


def with_offer(ctx: Context, **lists: Any) -> Context:
    """Give the context what the SSH probe would have seen (no network)."""
    offer = ServerOffer(
        banner="SSH-2.0-OpenSSH_9.2p1",
        kex=lists.get("kex", ("curve25519-sha256",)),
        host_key=lists.get("host_key", ("ssh-ed25519",)),
        ciphers=lists.get("ciphers", ("aes256-gcm@openssh.com",)),
        macs=lists.get("macs", ("hmac-sha2-256-etm@openssh.com",)),
        auth_methods=lists.get("auth_methods", ("publickey",)),
    )
    ctx.memo("ssh-offer", lambda: offer)
    return ctx


def params(catalogue: Catalogue, control: str, **overrides: Any) -> dict[str, Any]:
    return {**catalogue.controls[control].spec.params, **overrides}


def plan_for(
    catalogue: Catalogue, name: str, controls: list[str], groups: tuple[str, ...] = ("servers",)
) -> HostPlan:
    return HostPlan(
        name=name,
        groups=frozenset(groups),
        endpoint=Endpoint("127.0.0.1", 1, "admin", Path("/nonexistent/key"), Path("/nonexistent")),
        address="127.0.0.1",
        server_name=name,
        ca_file="",
        controls=tuple(
            PlannedControl(catalogue.controls[c], catalogue.controls[c].spec.params, ("test",))
            for c in controls
        ),
        tls_ports=(),
        http_ports=(),
    )
