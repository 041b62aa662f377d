"""Offline audits (``--config-dir``): each platform's compliant configuration passes every
NET control, its non-compliant one fails exactly the controls it breaks, and every finding
quotes the configuration lines with their numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.netdev.conftest import (
    NET,
    NONCOMPLIANT_FAILS,
    config,
    device_plan,
    failing,
    net_catalogue,
)
from toolkit.audit.catalogue import Severity
from toolkit.audit.model import Status
from toolkit.audit.registry import implementations
from toolkit.audit.results import HostResult
from toolkit.audit.runner import Limits, run_audit
from toolkit.netdev.model import DeviceSpec
from toolkit.netdev.platforms import Platform

CATALOGUE = net_catalogue()
IMPLS = implementations()


def offline(name: str, platform: Platform, saved: Path) -> DeviceSpec:
    return DeviceSpec(name=name, platform=platform, host="192.0.2.1", saved=saved)


def audit(*specs: DeviceSpec) -> dict[str, HostResult]:
    plans = [device_plan(CATALOGUE, s) for s in specs]
    hosts = run_audit(plans, IMPLS, [], limits=Limits(), fail_on=Severity.HIGH)
    return {h.host: h for h in hosts}


@pytest.mark.parametrize("platform", list(Platform))
def test_a_compliant_configuration_fails_no_control(platform: Platform) -> None:
    host = audit(offline("ok", platform, config(platform, "compliant")))["ok"]
    assert host.reachable, host.error
    assert failing(host) == set()
    assert [r.control for r in host.results] == NET
    assert all(r.status in {Status.PASS, Status.WARN} for r in host.results)


@pytest.mark.parametrize("platform", list(Platform))
def test_a_non_compliant_configuration_fails_exactly_the_controls_it_breaks(
    platform: Platform,
) -> None:
    host = audit(offline("bad", platform, config(platform, "noncompliant")))["bad"]
    assert failing(host) == NONCOMPLIANT_FAILS
    for result in host.results:
        if result.status is Status.FAIL:
            assert "line " in result.summary, (result.control, result.summary)
            assert result.evidence and result.evidence[0].probe.endswith(f"[{platform.value}]")


def test_findings_quote_the_line_and_its_number_with_secrets_masked() -> None:
    saved = config(Platform.IOS, "noncompliant")
    host = audit(offline("bad", Platform.IOS, saved))["bad"]
    by_id = {r.control: r for r in host.results}
    lines = saved.read_text().splitlines()
    number = lines.index("username breakglass privilege 15 password 7 0822455D0A16") + 1
    assert by_id["NET-04"].summary == (
        "password of type 7 is reversible (type 7) or clear "
        f"(line {number}: `username breakglass privilege 15 password 7 *****`)"
    )
    assert "0822455D0A16" not in str(by_id["NET-04"].evidence)
    community = lines.index("snmp-server community public RO") + 1
    assert f"line {community}: `snmp-server community ***** RO`" in by_id["NET-07"].summary
    assert f"{community}: snmp-server community ***** RO" in by_id["NET-07"].evidence[0].excerpt


def test_a_missing_saved_configuration_is_that_device_s_error_only(tmp_path: Path) -> None:
    hosts = audit(
        offline("gone", Platform.ASA, tmp_path / "gone.cfg"),
        offline("ok", Platform.ASA, config(Platform.ASA, "compliant")),
    )
    assert not hosts["gone"].reachable
    assert hosts["gone"].error is not None and "no saved configuration" in hosts["gone"].error
    assert {r.status for r in hosts["gone"].results} == {Status.ERROR}
    assert hosts["ok"].reachable and failing(hosts["ok"]) == set()


def test_a_configuration_that_does_not_parse_names_its_line(tmp_path: Path) -> None:
    broken = tmp_path / "fgt.cfg"
    broken.write_text("config system global\n    set hostname fgt\nnext\n")
    host = audit(offline("fgt", Platform.FORTIOS, broken))["fgt"]
    assert host.error is not None and host.error.endswith(
        f"{broken}: line 3: `next` without an open `edit`"
    )
