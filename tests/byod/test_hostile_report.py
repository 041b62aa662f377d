"""A report is hostile input: too big, not strict JSON, nested without end, of the wrong
types, or carrying terminal escapes; each is refused with the field named (exit 4,
nothing recorded) or shown escaped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.byod.conftest import write_report
from tests.byod.test_review import clean_facts, enrol_now, now, review_now
from toolkit.byod.envelope import MAX_REPORT_BYTES, REPORT_FORMAT, seal, seal_key
from toolkit.byod.store import TokenState, load_token
from toolkit.cli.main import cli
from toolkit.errors import InvalidInputError
from toolkit.exitcodes import ExitCode


def sealed(token: str, token_id: str, body: str) -> dict[str, Any]:
    return {
        "format": REPORT_FORMAT,
        "token_id": token_id,
        "body": body,
        "hmac_sha256": seal(seal_key(token), token_id, body),
    }


def refused(env_dir: Path, path: Path) -> list[str]:
    with pytest.raises(InvalidInputError) as exc:
        review_now(env_dir, path)
    return [f"{p.field}: {p.message}" for p in exc.value.problems]


def test_a_report_over_the_size_cap_is_refused_unread(env_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b" " * (MAX_REPORT_BYTES + 1))
    assert refused(env_dir, path) == [f"-: larger than {MAX_REPORT_BYTES} bytes: refused unread"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"format": 1, "format": 2}', "not strict JSON: key 'format' given twice"),
        ('{"a": NaN}', "not strict JSON: NaN is not JSON"),
        ("[" * 50 + "]" * 50, "JSON nested deeper than 12 levels"),
        ("{", "not JSON: Expecting property name enclosed in double quotes at line 1"),
        ("[]", "a JSON object is needed"),
    ],
)
def test_an_envelope_that_is_not_strict_json_is_refused(
    env_dir: Path, tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "r.json"
    path.write_text(text)
    assert refused(env_dir, path) == [f"-: {problem}"]


def test_unknown_missing_and_malformed_envelope_fields_are_each_named(
    env_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "r.json"
    path.write_text(
        json.dumps(
            {"format": REPORT_FORMAT, "token_id": "x", "body": 1, "hmac_sha256": "00", "extra": 1}
        )
    )
    assert refused(env_dir, path) == ["extra: unknown field"]
    path.write_text(
        json.dumps({"format": REPORT_FORMAT, "token_id": "x", "body": 1, "hmac_sha256": "00"})
    )
    assert [p.split(":")[0] for p in refused(env_dir, path)] == ["body", "hmac_sha256", "token_id"]


def test_a_sealed_body_of_the_wrong_types_names_each_field(env_dir: Path, tmp_path: Path) -> None:
    made = enrol_now(env_dir)
    facts = clean_facts(made, now().date())
    facts["session"]["lock_after_s"] = "300"
    facts["browsers"][0]["name"] = "fire fox"
    facts["surprise"] = True
    path = write_report(tmp_path / "r.json", made, facts, at=now())
    problems = refused(env_dir, path)
    assert [p.split(":")[0] for p in problems] == [
        "body.browsers.0.name",
        "body.session.lock_after_s",
        "body.surprise",
    ]
    assert load_token(env_dir, made.record.token_id).state is TokenState.ISSUED


def test_a_sealed_body_with_duplicate_keys_or_deep_nesting_is_refused(
    env_dir: Path, tmp_path: Path
) -> None:
    made = enrol_now(env_dir)
    path = tmp_path / "r.json"
    for body, problem in (
        ('{"format": "a", "format": "b"}', "body: not strict JSON: key 'format' given twice"),
        ("[" * 40 + "]" * 40, "body: JSON nested deeper than 12 levels"),
    ):
        path.write_text(json.dumps(sealed(made.token, made.record.token_id, body)))
        assert refused(env_dir, path) == [problem]


def test_a_report_for_another_device_than_its_token_is_refused(
    env_dir: Path, tmp_path: Path
) -> None:
    made = enrol_now(env_dir)
    facts = clean_facts(made, now().date())
    path = write_report(tmp_path / "r.json", made, facts, at=now())
    data = json.loads(path.read_text())
    body = json.loads(data["body"])
    body["device"] = "pc-9"
    path.write_text(json.dumps(sealed(made.token, made.record.token_id, json.dumps(body))))
    assert refused(env_dir, path) == ["body.device: is not the token's (pc-3)"]


def test_escapes_in_a_report_reach_the_terminal_and_the_reports_as_visible_text(
    env_dir: Path, tmp_path: Path
) -> None:
    made = enrol_now(env_dir)
    facts = clean_facts(made, now().date())
    facts["os"]["name"] = "Debian\x1b[2J\u202e"
    facts["antivirus"][0]["name"] = "Clam\x1b]8;;http://x\x07AV"
    path = write_report(tmp_path / "r.json", made, facts, at=now())
    result = CliRunner().invoke(cli, ["byod", "review", "-i", str(env_dir), str(path)])
    assert result.exit_code == ExitCode.OK, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "Debian\\x1b[2J\\u202e" in result.output
    report = next((env_dir / ".vpn" / "byod" / "reviews").rglob("report.json")).read_text()
    assert "\x1b" not in json.loads(report)["hosts"][0]["results"][0]["summary"]
