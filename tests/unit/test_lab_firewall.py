"""The lab's own nftables table drops what would cross between its bridges
(toolkit.lab.firewall): netavark's shared isolation jump can vanish under it."""

from __future__ import annotations

import pytest

from toolkit.errors import ToolkitError
from toolkit.lab import firewall


def test_the_table_of_a_lab_is_named_in_nft_letters_and_keeps_two_labs_apart() -> None:
    first, second = firewall.table_name("ttk-lab"), firewall.table_name("ttk_lab")
    assert first.startswith("toolkit_lab_ttk_lab_")
    assert first != second
    assert all(c.isalnum() or c == "_" for c in first)


def test_the_ruleset_replaces_the_table_whole_and_drops_both_ways_between_two_bridges() -> None:
    script = firewall.ruleset("ttk-lab", ["podman1", "podman2"])
    table = firewall.table_name("ttk-lab")
    assert script.splitlines()[:3] == [
        f"table inet {table}",
        f"delete table inet {table}",
        f"table inet {table} {{",
    ]
    assert "type filter hook forward priority filter - 10; policy accept;" in script
    assert 'iifname "podman1" oifname "podman2" counter drop' in script
    assert 'iifname "podman2" oifname "podman1" counter drop' in script
    assert 'iifname "podman1" oifname "podman1"' not in script


def test_three_bridges_give_a_drop_for_each_ordered_pair() -> None:
    script = firewall.ruleset("lab", ["a0", "b0", "c0"])
    assert script.count(" drop ") == 6


def test_a_bridge_name_that_is_no_interface_name_is_refused_before_nft_sees_it() -> None:
    with pytest.raises(ToolkitError, match="not a network interface name"):
        firewall.ruleset("lab", ["podman1", 'x" accept; #'])
