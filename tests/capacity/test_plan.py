"""``toolkit capacity plan``: peak concurrency from the roster, demand from the profile,
against declared capacity and measured ceilings; the bottleneck named (A20, M3)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from toolkit.capacity.concurrency import week_concurrency
from toolkit.capacity.inputs import Ceiling, load_ceilings, load_profile, save_ceiling
from toolkit.capacity.plan import demands
from toolkit.cli.main import cli
from toolkit.exitcodes import ExitCode
from toolkit.roster import load_environment_roster, load_reference, load_roster

WEEK = "2026-11-23"  # a Monday


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_the_lab_roster_peaks_at_its_eligible_teleworkers_on_the_days_they_are_away(
    inventory: Path,
) -> None:
    roster = load_environment_roster(inventory, today=date(2026, 11, 23))
    conc = week_concurrency(roster, date.fromisoformat(WEEK))
    by_day = {d.strftime("%a").lower(): row for d, row in zip(conc.days, conc.counts, strict=True)}
    hours = list(conc.hours)
    # ag0002 teleworks tue 08:30-12:30 only: away at 09h on Tuesday, back by 13h.
    tuesday_away = dict(zip(hours, by_day["tue"], strict=True))
    assert tuesday_away[9] > tuesday_away[13]
    # ag0004 is revoked (C5): never counted.
    assert conc.eligible == sum(1 for t in roster.teleworkers if t.eligible)
    assert conc.peak[0] <= conc.eligible
    assert hours[0] == 8 and hours[-1] == 16  # office hours 08:30-16:30


def test_demand_grows_with_the_number_of_teleworkers_and_follows_overrides() -> None:
    figures = load_profile({}, {})
    small = {(d.platform, d.metric): d.value for d in demands(100, figures, 8)}
    large = {(d.platform, d.metric): d.value for d in demands(1000, figures, 8)}
    assert large[("mail", "smtp_submissions_per_s")] == pytest.approx(
        10 * small[("mail", "smtp_submissions_per_s")]
    )
    assert small[("vpn", "handshakes_per_s")] == pytest.approx(100 / 120)
    more_video = load_profile({}, {"video_hours_per_day": 4})
    assert more_video["video_hours_per_day"].origin == "command line"
    video = {(d.platform, d.metric): d.value for d in demands(100, more_video, 8)}
    assert video[("video", "participants")] == pytest.approx(2 * small[("video", "participants")])


def test_a_small_declared_uplink_is_named_the_bottleneck_and_fails_the_plan(
    inventory: Path, big_roster: tuple[Path, Path], tmp_path: Path
) -> None:
    reference, roster = big_roster
    declared = inventory / "group_vars" / "all" / "capacity.yml"
    declared.write_text(
        declared.read_text(encoding="utf-8").replace("up_mbps: 100", "up_mbps: 5"),
        encoding="utf-8",
    )
    code, output = run(
        "capacity", "plan", "-i", str(inventory), "--roster", str(roster),
        "--reference", str(reference), "--week-of", WEEK, "-o", str(tmp_path / "out"), "--json",
    )  # fmt: skip
    assert code == ExitCode.CHECK_FAILED, output
    plan = json.loads((tmp_path / "out" / "capacity.json").read_text(encoding="utf-8"))
    assert plan["verdict"] == "over capacity"
    assert plan["bottleneck"]["platform"] == "internet"
    assert plan["bottleneck"]["resource"].startswith("uplink")
    assert plan["bottleneck"]["capacity"] == 5
    assert plan["concurrency"]["peak"]["teleworkers"] > 1000


def test_the_lab_plan_carries_its_teleworkers_and_writes_html_and_json(
    inventory: Path, tmp_path: Path
) -> None:
    code, output = run(
        "capacity", "plan", "-i", str(inventory), "--week-of", WEEK, "-o", str(tmp_path / "o")
    )
    assert code == ExitCode.OK, output
    assert "verdict: carries; bottleneck" in output
    html = (tmp_path / "o" / "capacity.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 2
    assert "Plan de capacité" in html and "خطة القدرة الاستيعابية" in html


def test_an_unknown_profile_figure_is_refused_as_invalid_input(inventory: Path) -> None:
    code, output = run("capacity", "plan", "-i", str(inventory), "--set", "coffee_breaks=3")
    assert code == ExitCode.INVALID_INPUT
    assert "coffee_breaks" in output


def test_saved_ceilings_are_read_back_and_checked_against_the_peak(
    inventory: Path, tmp_path: Path
) -> None:
    ceiling = Ceiling(
        platform="mail", teleworkers=1, rates={"smtp submit": 0.0001}, p95_ms=12.0,
        error_rate=0.0, target="127.0.0.1", measured_at=datetime(2026, 11, 25, tzinfo=UTC),
    )  # fmt: skip
    path = save_ceiling(inventory, ceiling)
    assert path == inventory / "capacity" / "ceilings.json"
    assert load_ceilings(inventory).ceilings["mail"].teleworkers == 1
    code, _ = run(
        "capacity", "plan", "-i", str(inventory), "--week-of", WEEK, "-o", str(tmp_path / "o")
    )
    plan = json.loads((tmp_path / "o" / "capacity.json").read_text(encoding="utf-8"))
    measured = [c for c in plan["checks"] if c["basis"].startswith("measured")]
    assert {c["resource"] for c in measured} == {"teleworkers carried", "smtp submit"}
    assert code == ExitCode.CHECK_FAILED  # the lab's peak is more than one teleworker
    assert plan["bottleneck"]["basis"].startswith("measured")


def test_the_5000_row_roster_is_planned_from_every_row(big_roster: tuple[Path, Path]) -> None:
    reference, roster_file = big_roster
    roster = load_roster(roster_file, load_reference(reference), today=date(2026, 11, 23))
    conc = week_concurrency(roster, date.fromisoformat(WEEK))
    eligible = sum(1 for t in roster.teleworkers if t.eligible)
    assert conc.eligible == eligible
    # Away on Wednesday at 14h: the "wed", "mon-wed 14:00-16:30" and "" (full) schedules.
    wednesday = {"wed", "mon-wed 14:00-16:30", ""}
    expected = sum(1 for t in roster.teleworkers if t.eligible and t.schedule.text in wednesday)
    assert conc.counts[2][conc.hours.index(14)] == expected
    assert conc.peak[0] >= expected > 1000


def test_a_wrong_declared_capacity_is_refused_naming_the_file_line_and_field(
    inventory: Path,
) -> None:
    declared = inventory / "group_vars" / "all" / "capacity.yml"
    declared.write_text("capacity_internet:\n  down_mbps: 100\n  up_mbps: -5\n", encoding="utf-8")
    code, output = run("capacity", "plan", "-i", str(inventory), "--week-of", WEEK)
    assert code == ExitCode.INVALID_INPUT
    assert f"{declared}:3: capacity_internet.up_mbps:" in output


def _plan_with_flood_ceiling(
    inventory: Path, out: Path, platform: str, rates: dict[str, float]
) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    """`capacity plan` after a flood run of ``platform`` saved ``rates``: its exit code,
    the plan and its measured checks."""
    ceiling = Ceiling(
        platform=platform, teleworkers=0, rates=rates, p95_ms=40.0, error_rate=0.0,
        target="127.0.0.1", measured_at=datetime(2026, 11, 25, tzinfo=UTC),
    )  # fmt: skip
    save_ceiling(inventory, ceiling)
    code, _ = run("capacity", "plan", "-i", str(inventory), "--week-of", WEEK, "-o", str(out))
    plan = json.loads((out / "capacity.json").read_text(encoding="utf-8"))
    return code, plan, [c for c in plan["checks"] if c["basis"].startswith("measured")]


def test_a_flood_ceiling_weighs_rates_only(inventory: Path, tmp_path: Path) -> None:
    code, _, measured = _plan_with_flood_ceiling(
        inventory, tmp_path, "mail", {"smtp submit": 500.0}
    )
    assert [c["resource"] for c in measured] == ["smtp submit"]
    assert measured[0]["ok"] is True
    assert code == ExitCode.OK


def test_a_vpn_handshake_ceiling_below_the_peak_s_rekeys_is_the_bottleneck(
    inventory: Path, tmp_path: Path
) -> None:
    """`toolkit load vpn`'s flood ceiling (handshakes a second) against the peak's demand
    (every active device renews its session each rekey time)."""
    code, plan, measured = _plan_with_flood_ceiling(
        inventory, tmp_path, "vpn", {"handshake": 0.001}
    )
    assert [(c["platform"], c["resource"], c["ok"]) for c in measured] == [
        ("vpn", "handshake", False)
    ]
    assert measured[0]["demand"] > 0.001
    assert plan["bottleneck"]["platform"] == "vpn"
    assert code == ExitCode.CHECK_FAILED


def test_a_tunnel_s_measured_throughput_meets_the_vpn_s_traffic_each_way(
    inventory: Path, tmp_path: Path
) -> None:
    """`toolkit load tunnel`'s iperf3 figures (Mbit/s through one tunnel) against the
    peak's VPN traffic into and out of the site."""
    code, _, measured = _plan_with_flood_ceiling(
        inventory, tmp_path, "vpn_tunnel", {"into site Mbit/s": 300.0, "out of site Mbit/s": 280.0}
    )
    assert [(c["platform"], c["resource"], c["unit"], c["ok"]) for c in measured] == [
        ("vpn", "one tunnel, into site (iperf3)", "Mbit/s", True),
        ("vpn", "one tunnel, out of site (iperf3)", "Mbit/s", True),
    ]
    assert [c["capacity"] for c in measured] == [300.0, 280.0]
    assert code == ExitCode.OK


def test_a_tunnel_too_thin_for_the_peak_s_traffic_is_the_bottleneck(
    inventory: Path, tmp_path: Path
) -> None:
    code, plan, measured = _plan_with_flood_ceiling(
        inventory, tmp_path, "vpn_tunnel", {"into site Mbit/s": 0.001, "out of site Mbit/s": 500.0}
    )
    assert [c["ok"] for c in measured] == [False, True]
    assert plan["bottleneck"]["resource"] == "one tunnel, into site (iperf3)"
    assert code == ExitCode.CHECK_FAILED
