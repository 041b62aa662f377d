"""A18, A22, C6: the steering indicators on the generated roster, the recorded week of VPN
samples and the audit tests' golden report: figures, sources said missing instead of
guessed, the trend against a previous report, a golden JSON file, and the HTML report with
its charts in headless Chromium.

After a deliberate change of the output regenerate the golden file with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/report/test_indicators.py

and review the diff. INDICATORS_SCREENSHOT=FILE keeps the browser's screenshot."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import REPO
from tests.report.lab_data import TODAY, WEEK, write_inventory
from toolkit.cli.main import cli
from toolkit.errors import InvalidInputError
from toolkit.report import attendance as att
from toolkit.report import indicators, indicators_files
from toolkit.roster import load_environment_roster
from toolkit.vpn.layout import keys_dir

AUDIT_REPORT = REPO / "tests" / "audit" / "golden" / "report.json"
GOLDEN = Path(__file__).parent / "golden" / "indicators.json"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_inventory(tmp_path_factory.mktemp("indicators") / "inv")


def _build(inventory: Path, audit: Path | None = AUDIT_REPORT) -> indicators.Indicators:
    roster = load_environment_roster(inventory, today=TODAY)
    options = att.Options()
    evidence = att.load_evidence(inventory / ".telework-data", WEEK[0], WEEK[-1], options)
    days = indicators.period_days(WEEK[0], WEEK[-1], roster.reference.workday_indexes)
    keys = att.device_keys(keys_dir(inventory))
    return indicators.build(
        roster,
        inventory="inv",
        first=WEEK[0],
        last=WEEK[-1],
        vpn=indicators.vpn_figures(roster, keys, evidence, days, options.timezone),
        audit=indicators.audit_figures(audit, TODAY),
        today=TODAY,
    )


def test_the_figures_count_teleworkers_units_vpn_use_and_the_audit(inventory: Path) -> None:
    ind = _build(inventory)
    assert (ind.active, ind.revoked, ind.charters_signed) == (9, 1, 0)
    units = {u.unit: u for u in ind.units}
    assert (units["dsi"].partial, units["dsi"].full) == (3, 1)
    assert (units["rh"].partial, units["rh"].full) == (1, 1)
    # C3: dsi has 20 agents, at most 3 away on Monday (dsi01, dsi02, dsi03)
    assert units["dsi"].onsite_lowest == 17 and units["dsi"].short_days == []
    # dsi04 works through the portal and fin03's device has no key: 7 seen on the VPN
    assert ind.vpn.distinct_teleworkers == 7
    by_day = {d.day: d.active_teleworkers for d in ind.vpn.days}
    # Tuesday: dsi03, fin01 and rh01; dsi02 was absent, dsi04 is on the portal
    assert by_day[date(2026, 11, 17)] == 3
    assert ind.audit.verdict == "no-go"
    assert sum(ind.audit.open_findings.values()) > 0
    assert [(w.control, w.expires, w.days_left) for w in ind.audit.waivers_soon] == [
        ("LNX-06", date(2026, 11, 1), -22)
    ]
    assert "not built" in ind.backups.note and not ind.backups.available


def test_missing_sources_are_said_not_guessed(inventory: Path, tmp_path: Path) -> None:
    bare = write_inventory(tmp_path / "bare")
    shutil.rmtree(bare / ".telework-data")
    ind = _build(bare, audit=None)
    assert not ind.vpn.available and "no VPN samples" in ind.vpn.note
    assert not ind.audit.available and "toolkit audit" in ind.audit.note
    page = indicators_files.html(ind)
    assert page.count("not available") == 4  # VPN, audit, backups, trend
    assert 'id="chart-vpn"' not in page and 'id="chart-teleworkers"' in page


def test_the_trend_says_what_got_better_or_worse(inventory: Path) -> None:
    now = _build(inventory)
    before = now.model_copy(
        update={"generated_on": date(2026, 11, 16), "charters_signed": 2, "active": 8}
    )
    before.audit = before.audit.model_copy(update={"blocking": now.audit.blocking + 3})
    trend = {t.indicator: t.direction for t in indicators.trend(now, before, "prev.json").items}
    assert trend["charters signed"] == "worse"
    assert trend["blocking audit findings"] == "better"
    assert trend["active teleworkers"] == "changed"
    assert trend["teleworkers using the VPN"] == "same"


def test_the_json_report_matches_the_golden_file(inventory: Path) -> None:
    text = indicators_files.json_text(_build(inventory))
    data = json.loads(text)
    data["audit"]["file"] = "tests/audit/golden/report.json"
    normalised = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(normalised, encoding="utf-8")
    assert normalised == GOLDEN.read_text(encoding="utf-8")


def test_a_file_that_is_not_an_audit_report_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "report.json"
    bad.write_text('{"hosts": "\\u001b[2J"}')
    with pytest.raises(InvalidInputError, match=r"report\.json:1: -: not an audit JSON report"):
        indicators.audit_figures(bad, TODAY)


def test_the_cli_writes_html_and_json_and_compares_with_the_previous_one(
    inventory: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    older = _build(inventory).model_copy(update={"generated_on": date(2020, 1, 6)})
    (out / "indicators-2020-01-06.json").write_text(indicators_files.json_text(older))
    result = CliRunner().invoke(
        cli,
        [
            *("report", "indicators", "-i", str(inventory), "--period", "2026-W47"),
            *("--audit-report", str(AUDIT_REPORT), "-o", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    (page,) = out.glob(f"indicators-{date.today()}.html")
    data = json.loads(page.with_suffix(".json").read_text())
    assert data["trend"]["previous_generated_on"] == "2020-01-06"
    assert data["clauses"] == ["A18", "A22", "C6", "C3", "M8", "M17", "A9", "A3"]
    text = page.read_text()
    assert '<td class="clause">A18</td>' in text and "Telework steering team" in text
    for name in ("Amina", "dsi01", "أمينة"):  # aggregates only (A3)
        assert name not in text


def test_the_html_report_opens_in_headless_chromium_with_its_charts(
    inventory: Path, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.fail("chromium is not installed: ./run setup installs it")
    page_file = tmp_path / "indicators.html"
    page_file.write_text(indicators_files.html(_build(inventory)), encoding="utf-8")
    shot = Path(os.environ.get("INDICATORS_SCREENSHOT", tmp_path / "indicators.png"))
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "request",
                lambda r: (
                    errors.append(f"request {r.url}") if not r.url.startswith("file:") else None
                ),
            )
            page.goto(page_file.as_uri(), timeout=30_000)
            page.screenshot(path=str(shot), full_page=True)
            boxes = {
                chart: page.locator(f"#{chart} svg").bounding_box()
                for chart in ("chart-teleworkers", "chart-onsite", "chart-vpn", "chart-findings")
            }
            title = page.title()
            arabic = page.locator("h1 .ar").inner_text()
        finally:
            browser.close()
    assert errors == []
    assert title.startswith("Telework indicators: 9 active teleworkers (inv, 2026-11-16")
    assert arabic == "مؤشرات العمل عن بعد"
    for chart, box in boxes.items():
        assert box is not None, chart
        assert box["width"] > 300 and box["height"] > 150, (chart, box)
    assert shot.stat().st_size > 30_000
