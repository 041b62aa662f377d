"""``toolkit byod review`` and the VPN gate (M9, M10): only a sealed report of an issued,
unused, unexpired token whose checks all pass approves a personal computer, and only a
current approval unlocks its VPN bundle. An unapproved computer, an expired token, a
replayed report and a tampered one are each refused."""

from __future__ import annotations

import json
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.byod.conftest import enrolment_of, write_report
from tests.unit.test_vpn_bundle import GATEWAY
from toolkit.audit import engine
from toolkit.audit.registry import implementations
from toolkit.audit.results import Verdict
from toolkit.byod.enrol import Enrolment, enrol
from toolkit.byod.review import Review, review
from toolkit.byod.store import APPROVALS_DIR, TOKENS_DIR, TokenState, current_approval, load_token
from toolkit.cli.main import cli
from toolkit.errors import InvalidInputError, ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.roster import load_environment_roster


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def clean_facts(made: Enrolment, today: date) -> dict[str, Any]:
    """Facts of a computer that passes every BYOD control on ``today``."""
    search = enrolment_of(made)["search"]
    return {
        "os": {
            "family": "linux",
            "id": "debian",
            "name": "Debian GNU/Linux",
            "version": "13",
            "build": "",
            "genuine": None,
        },
        "last_update": (today - timedelta(days=3)).isoformat(),
        "antivirus": [
            {
                "name": "ClamAV 1.4.3",
                "running": True,
                "signatures": (today - timedelta(days=1)).isoformat(),
            }
        ],
        "browsers": [{"name": "firefox", "version": "999.0"}],
        "tools": {"searched": search["tools"], "found": []},
        "work_data": {
            "markers": search["markers"],
            "places": search["places"],
            "scanned": 12,
            "complete": True,
            "found": [],
        },
        "wifi": {"connected": False, "security": "", "cipher": ""},
        "session": {"user": "khadija", "admin": False, "lock_enabled": True, "lock_after_s": 300},
        "problems": [],
    }


def enrol_now(inventory: Path, at: datetime | None = None, days: int = 7) -> Enrolment:
    roster = load_environment_roster(inventory)
    return enrol(
        inventory, roster, engine.load(), "a3", "pc-3", by="unit", now=at or now(), days=days
    )


def review_now(inventory: Path, report: Path, at: datetime | None = None) -> Review:
    roster = load_environment_roster(inventory)
    return review(
        inventory,
        report,
        roster,
        engine.load(),
        implementations(),
        by="auditor",
        now=at or now(),
        days=90,
    )


@pytest.fixture
def inventory(env_dir: Path) -> Path:
    folder = env_dir / ".vpn" / "gateways"
    folder.mkdir(parents=True)
    (folder / "gateway.json").write_text(json.dumps(GATEWAY))
    return env_dir


def bundle(inventory: Path):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["vpn", "bundle", "-i", str(inventory), "a3", "pc-3"])


def assert_no_bundle(inventory: Path) -> None:
    refused = bundle(inventory)
    assert refused.exit_code == ExitCode.INVALID_INPUT, refused.output
    assert "personal computer pc-3 has no current approval" in refused.stderr
    assert "(M9, M10)" in refused.stderr
    assert not (inventory / ".vpn" / "keys" / "pc-3.pub").exists()


def test_an_approved_computer_unlocks_its_bundle_with_the_review_on_record(
    inventory: Path, tmp_path: Path
) -> None:
    made = enrol_now(inventory)
    report = write_report(tmp_path / "r.json", made, clean_facts(made, now().date()), at=now())
    done = review_now(inventory, report)
    assert done.report.verdict is Verdict.GO, done.report.hosts[0].results
    approval = done.approval
    assert approval is not None
    assert (approval.teleworker, approval.device, approval.approved_by) == ("a3", "pc-3", "auditor")
    assert approval.expires_at - approval.approved_at == timedelta(days=90)
    assert len(approval.report_sha256) == 64
    path = inventory / APPROVALS_DIR / "a3-pc-3.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    token = load_token(inventory, made.record.token_id)
    assert (token.state, token.report_sha256, token.verdict) == (
        TokenState.USED,
        approval.report_sha256,
        "go",
    )
    made_bundle = bundle(inventory)
    assert made_bundle.exit_code == 0, made_bundle.output


def test_an_unapproved_computer_gets_no_bundle(inventory: Path) -> None:
    enrol_now(inventory)  # enrolled, never reviewed
    assert_no_bundle(inventory)


def test_a_report_of_an_expired_token_is_refused_and_unlocks_nothing(
    inventory: Path, tmp_path: Path
) -> None:
    issued = now() - timedelta(days=8)
    made = enrol_now(inventory, at=issued, days=7)
    facts = clean_facts(made, now().date())
    report = write_report(tmp_path / "r.json", made, facts, at=issued + timedelta(hours=1))
    with pytest.raises(ToolkitError, match=r"expired on .* \(toolkit byod enrol a3 pc-3") as exc:
        review_now(inventory, report)
    assert exc.value.exit_code == ExitCode.CHECK_FAILED
    assert not (inventory / TOKENS_DIR / f"{made.record.token_id}.used").exists()
    assert_no_bundle(inventory)


def test_a_replayed_report_is_refused_and_does_not_bring_back_a_withdrawn_approval(
    inventory: Path, tmp_path: Path
) -> None:
    first = enrol_now(inventory)
    good = write_report(tmp_path / "good.json", first, clean_facts(first, now().date()), at=now())
    assert review_now(inventory, good).approval is not None
    # A later check of the same computer finds hacking tools: the approval is withdrawn.
    second = enrol_now(inventory)
    facts = clean_facts(second, now().date())
    facts["tools"]["found"] = [{"name": "hydra", "path": "/usr/bin/hydra"}]
    bad = write_report(tmp_path / "bad.json", second, facts, at=now())
    refused = review_now(inventory, bad)
    assert refused.report.verdict is Verdict.NO_GO
    assert (refused.approval, refused.withdrawn) == (None, True)
    assert_no_bundle(inventory)
    with pytest.raises(ToolkitError, match="was already used") as exc:
        review_now(inventory, good)
    assert exc.value.exit_code == ExitCode.CHECK_FAILED
    assert current_approval(inventory, "a3", "pc-3", now()) is None
    assert_no_bundle(inventory)


def test_a_token_is_taken_once_even_by_two_reviews_at_the_same_time(
    inventory: Path, tmp_path: Path
) -> None:
    made = enrol_now(inventory)
    report = write_report(tmp_path / "r.json", made, clean_facts(made, now().date()), at=now())
    (inventory / TOKENS_DIR / f"{made.record.token_id}.used").write_text("taken by the other\n")
    with pytest.raises(ToolkitError, match="was already used"):
        review_now(inventory, report)
    assert_no_bundle(inventory)


def test_a_tampered_report_is_refused_by_its_seal_and_leaves_the_token_unused(
    inventory: Path, tmp_path: Path
) -> None:
    made = enrol_now(inventory)
    facts = clean_facts(made, now().date())
    facts["tools"]["found"] = [{"name": "nmap", "path": "/usr/bin/nmap"}]
    report = write_report(tmp_path / "r.json", made, facts, at=now())
    data = json.loads(report.read_text())
    data["body"] = data["body"].replace(
        '"found": [{"name": "nmap", "path": "/usr/bin/nmap"}]', '"found": []'
    )
    assert "/usr/bin/nmap" not in data["body"]
    report.write_text(json.dumps(data))
    with pytest.raises(InvalidInputError) as exc:
        review_now(inventory, report)
    assert [p.field for p in exc.value.problems] == ["hmac_sha256"]
    assert "altered or sealed with another token" in str(exc.value)
    assert load_token(inventory, made.record.token_id).state is TokenState.ISSUED
    assert_no_bundle(inventory)


def test_a_report_sealed_with_another_token_is_refused(inventory: Path, tmp_path: Path) -> None:
    mine, other = enrol_now(inventory), enrol_now(inventory)
    forged = Enrolment(other.token, mine.record, mine.handout)  # mine's ID, other's key
    report = write_report(tmp_path / "r.json", forged, clean_facts(mine, now().date()), at=now())
    with pytest.raises(InvalidInputError, match="seal does not match"):
        review_now(inventory, report)


def test_an_approval_past_its_expiry_unlocks_nothing(inventory: Path, tmp_path: Path) -> None:
    made = enrol_now(inventory, at=now() - timedelta(days=100), days=7)
    at = now() - timedelta(days=99)
    report = write_report(tmp_path / "r.json", made, clean_facts(made, at.date()), at=at)
    assert review_now(inventory, report, at=at).approval is not None  # 90 days, now gone
    assert current_approval(inventory, "a3", "pc-3", now()) is None
    assert_no_bundle(inventory)


def test_the_review_command_exits_0_approved_3_refused_4_tampered(
    inventory: Path, tmp_path: Path
) -> None:
    def run(path: Path):  # type: ignore[no-untyped-def]
        args = ["byod", "review", "-i", str(inventory), str(path), "--by", "SSI"]
        return CliRunner().invoke(cli, args)

    good_enrolment = enrol_now(inventory)
    facts = clean_facts(good_enrolment, now().date())
    good = write_report(tmp_path / "good.json", good_enrolment, facts, at=now())
    approved = run(good)
    assert approved.exit_code == ExitCode.OK, approved.output
    assert "BYOD-05 [high] pass" in approved.stdout
    assert "a3 pc-3: approved by SSI until" in approved.stdout
    assert "verdict: GO" in approved.stdout
    replayed = run(good)
    assert replayed.exit_code == ExitCode.CHECK_FAILED
    assert "was already used" in replayed.stderr

    bad_enrolment = enrol_now(inventory)
    facts = clean_facts(bad_enrolment, now().date())
    facts["work_data"]["found"] = [{"path": "Documents/note.odt", "marker": "@example.gov.ma"}]
    bad = write_report(tmp_path / "bad.json", bad_enrolment, facts, at=now())
    tampered = tmp_path / "tampered.json"
    data = json.loads(bad.read_text())
    data["body"] = data["body"].replace('"Documents/note.odt"', '"Documents/recipe.odt"')
    tampered.write_text(json.dumps(data))
    assert run(tampered).exit_code == ExitCode.INVALID_INPUT
    refused = run(bad)
    assert refused.exit_code == ExitCode.CHECK_FAILED
    assert "BYOD-06 [high] fail (blocks): No work data stored on the computer" in refused.stdout
    assert "    Documents/note.odt (@example.gov.ma)" in refused.stdout
    assert "a3 pc-3: not approved; its earlier approval is withdrawn" in refused.stdout
    assert_no_bundle(inventory)
