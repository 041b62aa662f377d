"""bench/netdev.py's helpers on the fixtures: it finds each platform's configurations and
judges them as the audit does (no finding on a compliant one)."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from tests.conftest import REPO
from toolkit.netdev.platforms import Platform


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_netdev", REPO / "bench" / "netdev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bench_judges_each_fixture_as_the_audit_does() -> None:
    netdev = bench()
    found = netdev.configurations(netdev.FIXTURES)
    assert sorted({platform for _, platform, _, _ in found}) == sorted(Platform)
    params = netdev.defaults()
    for name, platform, running, version in found:
        failures = netdev.judge_all(platform, running, version, params)
        assert (failures == 0) == ("-compliant" in name), name
    assert netdev.rate(lambda: None, 0.01, rounds=2) > 0
