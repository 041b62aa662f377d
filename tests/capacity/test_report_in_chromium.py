"""The capacity report as a person sees it: headless Chromium (Playwright) draws both charts
of the plan of a generated 5,000-row roster and of the lab roster."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit.cli.main import cli

CHROMIUM = "/usr/bin/chromium"


def screenshot(html: Path, png: Path) -> list[dict[str, float]]:
    """Open ``html``, save a full-page screenshot, return each chart's drawn box."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.fail("chromium is not installed: ./run setup installs it")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(html.as_uri(), timeout=30_000)
            page.screenshot(path=str(png), full_page=True)
            boxes = [
                page.locator(f"#{chart} svg").bounding_box()
                for chart in ("chart-concurrency", "chart-utilisation")
            ]
            title = page.title()
        finally:
            browser.close()
    assert title.startswith("Capacity plan:")
    return [b for b in boxes if b is not None]


@pytest.mark.parametrize("which", ["lab", "5000 rows"])
def test_both_charts_are_drawn_in_headless_chromium(
    which: str, inventory: Path, big_roster: tuple[Path, Path], tmp_path: Path
) -> None:
    args = ["capacity", "plan", "-i", str(inventory), "--week-of", "2026-11-23"]
    if which != "lab":
        reference, roster = big_roster
        args += ["--roster", str(roster), "--reference", str(reference)]
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, [*args, "-o", str(out)])
    assert result.exit_code in (0, 3), result.output
    png = Path(os.environ.get("CAPACITY_SCREENSHOT_DIR", tmp_path)) / f"capacity-{which[:3]}.png"
    boxes = screenshot(out / "capacity.html", png)
    assert len(boxes) == 2
    for box in boxes:
        assert box["width"] > 300 and box["height"] > 100
    assert png.stat().st_size > 20_000
