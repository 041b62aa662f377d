"""Network devices audited over SSH: FakeNOS emulates IOS, ASA and FortiOS on 127.0.0.1
(tests/netdev/fakenos_lab.py). Compliant devices fail no control, non-compliant ones
exactly the controls they break; a device that stops answering mid-collection and one
that asks for a password it was not given are reported as such, and the others go on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import paramiko
import pytest

from tests.netdev.conftest import NONCOMPLIANT_FAILS, config, device_plan, failing, net_catalogue
from tests.netdev.fakenos_lab import Device, Lab, fakenos_lab
from toolkit.audit.catalogue import Severity
from toolkit.audit.model import Status
from toolkit.audit.registry import implementations
from toolkit.audit.results import HostResult
from toolkit.audit.runner import Limits, run_audit
from toolkit.netdev import collect
from toolkit.netdev.model import DeviceError
from toolkit.netdev.platforms import COMMANDS, Platform

# FakeNOS's server threads raise when a client drops a connection it refused (host key)
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
CATALOGUE = net_catalogue()
LIMITS = Limits(workers=8, connect=5.0, command=3.0, control=20.0, host=60.0)
VERSIONS = {
    (Platform.IOS, "compliant"): config(Platform.IOS, "compliant").with_suffix(".version"),
    (Platform.IOS, "noncompliant"): config(Platform.IOS, "noncompliant").with_suffix(".version"),
}
STATUS = {
    "compliant": {
        Platform.ASA: "Cisco Adaptive Security Appliance Software Version 9.18(4)22\n",
        Platform.FORTIOS: "Version: FortiGate-100F v7.2.10,build1706,240918 (GA.M)\n",
    },
    "noncompliant": {
        Platform.ASA: "Cisco Adaptive Security Appliance Software Version 9.18(2)\n",
        Platform.FORTIOS: "Version: FortiGate-100F v7.0.12,build0523,230613 (GA.M)\n",
    },
}


def device(name: str, platform: Platform, kind: str, **flags: bool) -> Device:
    version_file = VERSIONS.get((platform, kind))
    version = version_file.read_text() if version_file else STATUS[kind][platform]
    return Device(name, platform, config(platform, kind).read_text(), version, **flags)


DEVICES = [
    *(device(f"{p.name.lower()}-ok", p, "compliant") for p in Platform),
    *(device(f"{p.name.lower()}-bad", p, "noncompliant") for p in Platform),
    device("ios-hangs", Platform.IOS, "compliant", hang=True),
    device("asa-nopass", Platform.ASA, "compliant", no_password=True),
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with fakenos_lab(DEVICES, tmp_path_factory.mktemp("fakenos")) as running:
        yield running


@pytest.fixture(scope="module")
def audited(lab: Lab) -> dict[str, HostResult]:
    plans = [device_plan(CATALOGUE, spec) for spec in lab.specs.values()]
    hosts = run_audit(plans, implementations(), [], limits=LIMITS, fail_on=Severity.HIGH)
    return {h.host: h for h in hosts}


@pytest.mark.parametrize("platform", list(Platform))
def test_a_compliant_device_read_over_ssh_fails_no_control(
    audited: dict[str, HostResult], platform: Platform
) -> None:
    host = audited[f"{platform.name.lower()}-ok"]
    assert host.reachable, host.error
    assert failing(host) == set()
    crypto = next(r for r in host.results if r.control == "NET-09")
    assert crypto.status is Status.PASS  # the host key was seen: RSA 2048 bits
    assert crypto.summary.endswith("; host key ssh-rsa 2048 bits")


@pytest.mark.parametrize("platform", list(Platform))
def test_a_non_compliant_device_fails_exactly_the_controls_it_breaks(
    audited: dict[str, HostResult], platform: Platform
) -> None:
    host = audited[f"{platform.name.lower()}-bad"]
    assert host.reachable, host.error
    assert failing(host) == NONCOMPLIANT_FAILS
    source = host.results[0].evidence[0].probe
    assert source.startswith(f"{COMMANDS[platform].running} on auditor@127.0.0.1:")


def test_a_device_that_stops_answering_is_reported_and_the_others_go_on(
    audited: dict[str, HostResult],
) -> None:
    host = audited["ios-hangs"]
    assert not host.reachable
    assert host.error is not None
    assert host.error.endswith("`show running-config`: no complete answer in 3 s")
    assert {r.status for r in host.results} == {Status.ERROR}
    assert all(audited[n].reachable for n in audited if n not in {"ios-hangs", "asa-nopass"})


def test_a_device_asking_for_a_password_it_was_not_given_fails_cleanly(
    audited: dict[str, HostResult],
) -> None:
    host = audited["asa-nopass"]
    assert not host.reachable
    assert host.error is not None
    assert "login refused: the device asks for a password and the inventory gives none" in (
        host.error
    )
    assert {r.status for r in host.results} == {Status.ERROR}


def test_an_unknown_host_key_is_refused_unless_accepted(lab: Lab, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    spec = lab.specs["asa-ok"]
    with pytest.raises(DeviceError) as refused:
        collect.collect(replace(spec, known_hosts=empty), timeout=5, command_timeout=3)
    assert str(refused.value) == (
        f"unknown host key: [127.0.0.1]:{spec.port} is not in {empty} "
        "(--accept-new-host-keys adds it)"
    )
    started = time.monotonic()
    seen = collect.collect(
        replace(spec, known_hosts=empty), timeout=5, command_timeout=3, accept_new=True
    )
    assert seen.cisco is not None and seen.host_key is not None
    assert "[127.0.0.1]" in empty.read_text()
    assert time.monotonic() - started < 15


def test_a_changed_host_key_is_refused_even_when_new_keys_are_accepted(
    lab: Lab, tmp_path: Path
) -> None:
    spec = lab.specs["fortios-ok"]
    other = paramiko.RSAKey.generate(2048)
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{spec.port} ssh-rsa {other.get_base64()}\n")
    with pytest.raises(DeviceError, match=r"^host key changed \(refused\)"):
        collect.collect(
            replace(spec, known_hosts=known), timeout=5, command_timeout=3, accept_new=True
        )


def test_an_answer_longer_than_the_cap_is_refused(lab: Lab) -> None:
    with pytest.raises(DeviceError, match=r"`show running-config`: answer longer than 4096"):
        collect.collect(lab.specs["ios-ok"], timeout=5, command_timeout=3, max_output=4096)
