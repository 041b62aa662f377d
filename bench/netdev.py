"""Network-device configurations parsed and judged per second, offline (NET-01..10).

    .venv/bin/python bench/netdev.py [--seconds S] [--folder DIR]

For each platform's configurations (default: the realistic fixtures of tests/netdev/configs,
300 to 600 lines each), times for about S seconds each: the project's parse alone
(ciscoconfparse2 through toolkit.netdev.ios, or the FortiOS parser), and parse plus the ten
NET judges. The anchor, measured in the same run, is ciscoconfparse2's raw parse of the
IOS configuration (CiscoConfParse alone, nothing of the project): every figure is also
given as a ratio to it, so runs on machines of different speed compare.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from ciscoconfparse2 import CiscoConfParse

from toolkit.controls.network import JUDGES
from toolkit.netdev.collect import parsed
from toolkit.netdev.fortios import parse as parse_fortios
from toolkit.netdev.ios import CiscoConfig
from toolkit.netdev.model import DeviceSpec
from toolkit.netdev.platforms import Platform

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "netdev" / "configs"
PREFIX = {"ios": Platform.IOS, "asa": Platform.ASA, "fortios": Platform.FORTIOS}


def defaults() -> dict[str, dict[str, Any]]:
    """Each NET control's default parameters, from audits/controls/network.yml."""
    data = yaml.safe_load((ROOT / "audits" / "controls" / "network.yml").read_text())
    return {cid: spec.get("params", {}) for cid, spec in data["controls"].items()}


def configurations(folder: Path) -> list[tuple[str, Platform, str, str]]:
    """(file name, platform, running configuration, version output) of ``folder``'s
    NAME.cfg files, the platform from the name's prefix (ios-, asa-, fortios-)."""
    found = []
    for path in sorted(folder.glob("*.cfg")):
        platform = PREFIX.get(path.name.split("-")[0])
        if platform is None:
            continue
        version = path.with_suffix(".version")
        text = version.read_text() if version.is_file() else ""
        found.append((path.name, platform, path.read_text(), text))
    return found


def judge_all(platform: Platform, running: str, version: str, params: dict[str, Any]) -> int:
    """Parse one configuration and run the ten judges on it; the number of failures."""
    device = parsed(DeviceSpec("bench", platform, "bench"), running, version, "bench", None)
    return sum(
        len(judge(device, params.get(cid, {})).problems) for cid, judge in JUDGES[platform].items()
    )


def parse_only(platform: Platform, running: str) -> object:
    if platform is Platform.FORTIOS:
        return parse_fortios(running)
    return CiscoConfig(running, platform)


def rate(work: Callable[[], object], seconds: float, rounds: int = 5) -> float:
    """Calls of ``work`` per second: the best of ``rounds`` rounds of about
    ``seconds / rounds`` each (the best round is the one the least disturbed by other load
    on a shared machine)."""
    work()  # warm-up: imports, regex caches
    best = 0.0
    for _ in range(rounds):
        calls, started = 0, time.perf_counter()
        while calls < 2 or time.perf_counter() - started < seconds / rounds:
            work()
            calls += 1
        best = max(best, calls / (time.perf_counter() - started))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measure")
    parser.add_argument("--folder", type=Path, default=FIXTURES)
    args = parser.parse_args()
    params = defaults()
    found = configurations(args.folder)
    ios = [running for _, platform, running, _ in found if platform is Platform.IOS]
    if not ios:
        raise SystemExit(f"no ios-*.cfg in {args.folder}: the anchor needs one")
    anchor_text = ios[0].splitlines()
    anchor = rate(partial(CiscoConfParse, anchor_text, syntax="ios", loguru=False), args.seconds)
    print(f"anchor: raw ciscoconfparse2 parse of {len(anchor_text)} IOS lines: {anchor:.1f}/s")
    print(f"{'configuration':28} {'lines':>5} {'parsed/s':>9} {'ratio':>6} {'judged/s':>9} ratio")
    total_lines, total_time = 0, 0.0
    for name, platform, running, version in found:
        lines = len(running.splitlines())
        parse_rate = rate(partial(parse_only, platform, running), args.seconds)
        judge_rate = rate(partial(judge_all, platform, running, version, params), args.seconds)
        total_lines, total_time = total_lines + lines, total_time + 1 / judge_rate
        print(
            f"{name:28} {lines:5d} {parse_rate:9.1f} {parse_rate / anchor:6.2f} "
            f"{judge_rate:9.1f} {judge_rate / anchor:5.2f}"
        )
    print(
        f"all {len(found)} configurations parsed and judged (ten controls each): "
        f"{len(found) / total_time:.1f} configurations/s, {total_lines / total_time:.0f} lines/s"
    )


if __name__ == "__main__":
    main()
