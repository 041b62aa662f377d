"""Helpers for the network-device tests: the fixture configurations, device plans, the
exact set of failing controls of an audited device."""

from __future__ import annotations

from pathlib import Path

from tests.audit.conftest import AUDITS
from toolkit.adapters.ssh import Endpoint
from toolkit.audit.catalogue import Catalogue, load_catalogue
from toolkit.audit.model import Status
from toolkit.audit.registry import implementations
from toolkit.audit.results import HostResult
from toolkit.audit.targets import HostPlan, PlannedControl
from toolkit.netdev.model import DeviceSpec
from toolkit.netdev.platforms import Platform

CONFIGS = Path(__file__).parent / "configs"
NET = [f"NET-{i:02d}" for i in range(1, 11)]
#: Fixture file prefix of each platform.
PREFIX = {Platform.IOS: "ios", Platform.ASA: "asa", Platform.FORTIOS: "fortios"}
#: What each non-compliant fixture breaks: every control but NET-05 and NET-08.
NONCOMPLIANT_FAILS = set(NET) - {"NET-05", "NET-08"}


def net_catalogue() -> Catalogue:
    return load_catalogue(AUDITS, frozenset(implementations()))


def config(platform: Platform, kind: str) -> Path:
    return CONFIGS / f"{PREFIX[platform]}-{kind}.cfg"


def device_plan(catalogue: Catalogue, spec: DeviceSpec) -> HostPlan:
    return HostPlan(
        name=spec.name,
        groups=frozenset({"network_devices"}),
        endpoint=Endpoint(spec.host, spec.port, spec.user),
        address=spec.host,
        server_name=spec.name,
        ca_file="",
        controls=tuple(
            PlannedControl(catalogue.controls[c], catalogue.controls[c].spec.params, ("test",))
            for c in NET
        ),
        tls_ports=(),
        http_ports=(),
        device=spec,
    )


def failing(host: HostResult) -> set[str]:
    return {r.control for r in host.results if r.status is Status.FAIL}


def statuses(host: HostResult) -> set[Status]:
    return {r.status for r in host.results}
