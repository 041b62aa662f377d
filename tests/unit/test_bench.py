"""Every benchmark script still imports and its pure helpers still work on tiny inputs, so a
renamed task or module breaks a test instead of the next person who runs the bench."""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO
from tests.loading import load_module
from toolkit.roster import load_reference, load_roster

BENCH = REPO / "bench"
SCRIPTS = sorted(BENCH.glob("*.py"))


def load(path: Path) -> ModuleType:
    return load_module(path, f"bench_{path.stem}")


def test_there_are_bench_scripts() -> None:
    assert {p.stem for p in SCRIPTS} >= {"audit", "directory", "roster", "vpn"}


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_each_bench_script_imports_without_running_and_has_a_guarded_main(path: Path) -> None:
    module = load(path)
    assert callable(module.main)
    guards = [
        node
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)
    ]
    assert len(guards) == 1, f"{path.name}: main() must run only under __name__ == '__main__'"


def test_the_directory_bench_times_the_sync_task_the_role_really_has() -> None:
    bench = load(BENCH / "directory.py")
    name = bench.sync_task_name()
    assert name.startswith("Apply the roster")
    events = [
        {"event": "task", "name": f"directory : {name}", "time": 10.0},
        {"event": "result", "task": f"directory : {name}", "time": 12.5},
    ]
    assert bench.task_window(events, name) == (10.0, 12.5)
    with pytest.raises(SystemExit, match="no task named"):
        bench.task_window(events, "Apply something renamed")


def test_the_roster_bench_generates_a_roster_the_validator_accepts(tmp_path: Path) -> None:
    bench = load(BENCH / "roster.py")
    reference_file, roster_file = bench.generate(tmp_path, 20)
    roster = load_roster(roster_file, load_reference(reference_file))
    assert len(roster.teleworkers) == 20


def test_the_vpn_bench_gives_the_role_eligible_rows() -> None:
    bench = load(BENCH / "vpn.py")
    row = bench._worker("bench1", "dev00001")
    assert row["eligible"] is True
    assert row["equipment"] == [{"kind": "laptop", "name": "dev00001"}]


def test_the_audit_bench_writes_an_inventory_of_spread_hosts(tmp_path: Path) -> None:
    bench = load(BENCH / "audit.py")
    folder = bench.make_lab(tmp_path, 2)
    assert (folder / "hosts.yml").is_file()
    assert "lab_name: ttk-bench" in (folder / "group_vars" / "all" / "vars.yml").read_text()


def test_the_backup_bench_generates_its_data_set_and_a_nights_changes(tmp_path: Path) -> None:
    bench = load(BENCH / "backup.py")
    files, size = bench.generate(tmp_path, 60 * 1024 * 1024)
    assert size == 60 * 1024 * 1024 and files > 100
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    changed = bench.change_some(tmp_path, 0.05)
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert set(after) == set(before)
    differ = [p for p in after if after[p] != before[p]]
    assert len(differ) <= changed and len(differ) >= changed - 2
    grown = tmp_path / "large" / "dump-01.bin"
    assert len(after[grown]) == len(before[grown]) + 1024 * 1024


def test_the_room_capacity_bench_reads_the_roles_publishers_limit_and_prints_its_rows(
    tmp_path: Path,
) -> None:
    bench = load(BENCH / "visio_room.py")
    assert bench.room_publishers(tmp_path, REPO / "roles" / "videoconference") == 12
    assert bench.busy_percent((100, 1000), (150, 1100)) == 50.0
    row = bench.Row(3, fps=[20.0, 9.0], sent=[19.5], dropped=4, lost=2, freezes=1, cpu=97.0)
    assert row.line().startswith("|  3 |   6 |   14.5 |    9.0 |  19.5 |      4 |     2 |")
    assert row.line().count("|") == bench.HEADER.splitlines()[0].count("|")


def test_the_hardening_bench_reads_lynis_index_suggestions_and_warnings_and_nothing_else() -> None:
    bench = load(BENCH / "hardening.py")
    report = (
        "# Lynis Report\n"
        "report_version_major=1\n"
        "hardening_index=87\n"
        "suggestion[]=SSH-7408|Consider hardening SSH configuration|MaxSessions (10 --> 2)|-|\n"
        "warning[]=PKGS-7392|Found one or more vulnerable packages.|-|-|\n"
        "suggestion[]=\x1b[2JTERM-1|text with \x1b]0;title\x07 escapes|-|-|\n"
        "broken line without an equals sign\n"
        "hardening_index=not-a-number\n"
    )
    found = bench.parse_report(report)
    assert found.index == 87
    assert found.warnings == [("PKGS-7392", "Found one or more vulnerable packages.")]
    assert found.suggestions[0] == ("SSH-7408", "Consider hardening SSH configuration")
    # what a host wrote reaches the terminal without its control characters
    assert all("\x1b" not in test + text for test, text in found.suggestions)
    assert bench.parse_report("").index is None


def test_the_portal_bench_gives_the_gate_its_peers_and_the_roles_table_its_gated_group(
    tmp_path: Path,
) -> None:
    bench = load(BENCH / "portal.py")
    config = bench.GateConfig.from_dict(bench.gate_config(tmp_path, 3, ["nft"]))
    assert [p.address_v4 for p in config.peers] == ["10.77.0.2", "10.77.0.3", "10.77.0.4"]
    assert config.gated_groups == {"finance"} and config.workdays == set(range(7))
    text = bench.render_table(tmp_path, "g0", ["10.77.0.2", "10.77.0.3"]).read_text()
    assert 'iifname "g0" jump from_tunnel' in text
    assert "ip saddr @peers_finance_v4 ip saddr @open_finance_v4 ip daddr { 192.0.2.10 }" in text
    sets = (tmp_path / "peer-sets.nft").read_text()
    assert "add element inet telework_vpn peers_finance_v4 { 10.77.0.2, 10.77.0.3 }" in sets
