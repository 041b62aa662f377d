"""The ceilings ``toolkit load groupware`` and ``toolkit load meeting`` save feed ``capacity
plan``: the groupware's is checked against the peak of teleworkers on the `web` platform,
the meeting service's against the participants in meetings at once on the `video` one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from tests.capacity.test_plan import WEEK
from toolkit.capacity.inputs import save_ceiling
from toolkit.cli.main import cli
from toolkit.load.config import Slo
from toolkit.load.results import LoadResult, RequestStats, StepResult

WHEN = datetime(2026, 11, 25, tzinfo=UTC)


def result(platform: str, users: int) -> LoadResult:
    step = StepResult(
        users=users, seconds=10,
        requests=[RequestStats(name="web login", count=10, failures=0, p95_ms=50, rps=1.0)],
    )  # fmt: skip
    return LoadResult(
        platform=platform, profile="teleworker", target="127.0.0.1", token="0" * 16,
        workers=0, slo=Slo(), started_at=WHEN, steps=[step],
    )  # fmt: skip


def plan(inventory: Path, tmp_path: Path) -> dict[str, object]:
    outcome = CliRunner().invoke(
        cli,
        ["capacity", "plan", "-i", str(inventory), "--week-of", WEEK, "-o", str(tmp_path / "o")],
    )
    assert outcome.exit_code in (0, 3), outcome.output
    data: dict[str, object] = json.loads((tmp_path / "o" / "capacity.json").read_text("utf-8"))
    return data


def measured(data: dict[str, object], platform: str) -> dict[str, object]:
    checks = data["checks"]
    assert isinstance(checks, list)
    return next(
        c for c in checks if c["platform"] == platform and c["basis"].startswith("measured")
    )


def test_groupware_and_meeting_ceilings_are_saved_under_web_and_video(
    inventory: Path, tmp_path: Path
) -> None:
    for platform, users in (("groupware", 400), ("meeting", 1)):
        ceiling = result(platform, users).ceiling()
        assert ceiling is not None
        save_ceiling(inventory, ceiling)
    data = plan(inventory, tmp_path)
    web, video = measured(data, "web"), measured(data, "video")
    assert web["resource"] == "teleworkers carried" and web["capacity"] == 400
    assert web["ok"] is True  # the lab's handful of teleworkers, far below 400
    assert video["resource"] == "participants carried" and video["capacity"] == 1
    participants = next(
        d
        for d in data["demands"]  # type: ignore[attr-defined]
        if d["platform"] == "video" and d["metric"] == "participants"
    )
    assert video["demand"] == participants["value"]  # not the teleworkers' peak
    assert video["ok"] is (participants["value"] <= 1)
