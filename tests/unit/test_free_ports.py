"""Ports for a test lab: free, distinct, and never one a Molecule scenario publishes."""

from __future__ import annotations

import re

from tests.conftest import REPO
from toolkit.lab.lab import SCENARIO_PORTS, free_local_ports


def test_free_ports_are_distinct_and_outside_the_scenarios_ports() -> None:
    ports = free_local_ports(50)
    assert len(set(ports)) == 50
    assert not set(ports) & set(SCENARIO_PORTS)


def test_every_port_a_molecule_scenario_publishes_is_in_the_range_labs_avoid() -> None:
    published = {
        int(port)
        for scenario in REPO.glob("roles/*/molecule/*/molecule.yml")
        for port in re.findall(r"127\.0\.0\.1:(\d+):", scenario.read_text())
    }
    assert published, "no scenario publishes a port: the pattern above is out of date"
    assert published <= set(SCENARIO_PORTS)
