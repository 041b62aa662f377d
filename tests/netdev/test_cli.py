"""``toolkit audit --config-dir``: the example inventory of network devices audited
offline end to end, reports written, the gate's exit code from the failures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import REPO
from tests.netdev.conftest import NONCOMPLIANT_FAILS, config
from toolkit.cli.main import cli
from toolkit.netdev.platforms import Platform

INVENTORY = REPO / "docs" / "examples" / "network-devices"
HOSTS = {
    "rtr-rabat-edge1": Platform.IOS,
    "fw-rabat-vpn1": Platform.ASA,
    "fgt-rabat-vpn2": Platform.FORTIOS,
}


def saved(folder: Path, kind: str) -> Path:
    folder.mkdir()
    for name, platform in HOSTS.items():
        source = config(platform, kind)
        shutil.copy(source, folder / f"{name}.cfg")
        if source.with_suffix(".version").is_file():
            shutil.copy(source.with_suffix(".version"), folder / f"{name}.version")
    return folder


def audit(tmp_path: Path, kind: str) -> tuple[int, dict[str, set[str]]]:
    configs = saved(tmp_path / kind, kind)
    out = tmp_path / f"report-{kind}"
    args = ["audit", "-i", str(INVENTORY), "--config-dir", str(configs), "--no-progress"]
    result = CliRunner().invoke(cli, [*args, "-o", str(out)])
    report = json.loads((out / "report.json").read_text())
    failing = {
        h["host"]: {r["control"] for r in h["results"] if r["status"] == "fail"}
        for h in report["hosts"]
    }
    return result.exit_code, failing


def test_saved_configurations_of_compliant_devices_pass_the_gate(tmp_path: Path) -> None:
    code, failing = audit(tmp_path, "compliant")
    assert failing == {name: set() for name in HOSTS}
    assert code == 0


def test_saved_non_compliant_configurations_fail_the_gate(tmp_path: Path) -> None:
    code, failing = audit(tmp_path, "noncompliant")
    assert failing == dict.fromkeys(HOSTS, NONCOMPLIANT_FAILS)
    assert code == 3
