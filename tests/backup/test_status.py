"""``toolkit backup status`` (A9): a host's status.json judged against each source's RPO,
and every malformed or hostile file refused with the host, the file and the field."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.backup.samples import NOW, drill, iso, raw, status
from toolkit.adapters.ssh import Endpoint
from toolkit.backup.remote import Target, UnreachableError
from toolkit.backup.status import MAX_BYTES, judge, parse_status
from toolkit.backup.survey import judge_host, survey
from toolkit.errors import InvalidInputError

TARGET = Target("directory", frozenset({"servers", "directory_servers"}), Endpoint("x"), {})


def problems_of(data: bytes, host: str = "directory") -> list[str]:
    with pytest.raises(InvalidInputError) as caught:
        parse_status(data, host)
    return [str(p) for p in caught.value.problems]


def test_a_backup_younger_than_its_rpo_is_ok_for_every_source() -> None:
    rows = judge(parse_status(raw(status(hours_ago=2)), "directory"), "directory", NOW)
    assert [(r.source, r.state, r.age_hours) for r in rows] == [
        ("directory", "ok", 2.0),
        ("system", "ok", 2.0),
    ]


def test_a_source_whose_last_success_is_older_than_its_rpo_is_late_the_other_not() -> None:
    data = status(
        hours_ago=30,
        sources=[{"name": "directory", "rpo_hours": 24}, {"name": "mail", "rpo_hours": 48}],
    )
    rows = judge(parse_status(raw(data), "directory"), "directory", NOW)
    assert [(r.source, r.state) for r in rows] == [("directory", "late"), ("mail", "ok")]
    assert rows[0].note == "last success 30.0 h ago, RPO 24 h"


def test_a_failed_last_run_is_failed_even_within_the_rpo_and_says_why() -> None:
    data = status(hours_ago=1, result="failed", error="Connection closed by remote host")
    data["last_attempt"] = iso(NOW)
    rows = judge(parse_status(raw(data), "directory"), "directory", NOW)
    assert {r.state for r in rows} == {"failed"}
    assert rows[0].note == "last attempt failed: Connection closed by remote host"


def test_a_host_that_never_succeeded_and_one_without_the_file_are_never_backed_up() -> None:
    data = status(result="failed", last_success=None)
    rows = judge(parse_status(raw(data), "directory"), "directory", NOW)
    assert {r.state for r in rows} == {"never"}
    missing = judge(None, "mail", NOW)
    assert [(r.host, r.state, r.note) for r in missing] == [
        ("mail", "never", "never backed up (no status file)")
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xfe{", "directory:/var/lib/telework-backup/status.json:1: -: not UTF-8 (byte 0)"),
        (
            b'{"host": ',
            "directory:/var/lib/telework-backup/status.json:1: -: not JSON: Expecting value",
        ),
        (
            b"[" * 50_000,
            "directory:/var/lib/telework-backup/status.json:1: -: not JSON: nested too deep",
        ),
        (b"[]", "directory:/var/lib/telework-backup/status.json:1: -: not a JSON object"),
        (
            b" " * (MAX_BYTES + 1),
            "directory:/var/lib/telework-backup/status.json:1: -: larger than 65536 bytes",
        ),
    ],
    ids=["not-utf8", "cut", "deep", "list", "too-large"],
)
def test_a_file_that_is_not_a_small_json_object_is_one_clear_error(
    data: bytes, expected: str
) -> None:
    assert problems_of(data) == [expected]


def test_a_wrong_field_is_named_with_the_host_and_the_file() -> None:
    found = problems_of(raw(status(result="maybe")))
    assert found == [
        "directory:/var/lib/telework-backup/status.json:1: result: Input should be 'ok' or 'failed'"
    ]
    found = problems_of(raw(status(sources=[{"name": "x", "rpo_hours": -1}])))
    assert found == [
        "directory:/var/lib/telework-backup/status.json:1: sources.0.rpo_hours: "
        "Input should be greater than 0"
    ]


def test_a_time_without_its_zone_and_a_status_of_another_host_are_refused() -> None:
    found = problems_of(raw(status(last_success="2026-11-25T10:00:00")))
    assert found[0].endswith("last_success: Value error, a time must say its zone (UTC: ...Z)")
    assert problems_of(raw(status(host="mail"))) == [
        "directory:/var/lib/telework-backup/status.json:1: host: says 'mail', not 'directory'"
    ]


def test_hostile_strings_reach_no_terminal_raw() -> None:
    data = status(
        archive="a\x1b[2J\u202egnp.exe",
        error="line\nforged: ok",
        result="failed",
        sources=[{"name": "dir\x07ectory", "rpo_hours": 24}],
    )
    parsed = parse_status(raw(data), "directory")
    assert parsed.archive == "a\\x1b[2J\\u202egnp.exe"
    assert parsed.error == "line\\x0aforged: ok"
    assert parsed.sources[0].name == "dir\\x07ectory"
    found = problems_of(raw(status(host="\x1b]0;owned\x07")))
    assert "\x1b" not in found[0] and "\\x1b]0;owned\\x07" in found[0]


def test_a_malformed_file_is_the_hosts_problem_and_gives_no_row() -> None:
    found = judge_host(TARGET, raw(status(result="maybe")), None, NOW)
    assert found.rows == [] and len(found.problems) == 1
    assert found.problems[0].startswith("directory:/var/lib/telework-backup/status.json:1: result:")


def test_a_hosts_drill_copy_is_read_beside_its_status() -> None:
    found = judge_host(TARGET, raw(status()), raw(drill(rto_seconds=12.5)), NOW)
    assert found.problems == [] and found.drill is not None
    assert found.drill.rto_seconds == 12.5 and found.drill.result == "passed"
    broken = judge_host(TARGET, raw(status()), raw(drill(result="meh")), NOW)
    assert broken.problems == [
        "directory:/var/lib/telework-backup/last-drill.json:1: result: "
        "Input should be 'passed' or 'failed'"
    ]
    assert [r.state for r in broken.rows] == ["ok", "ok"]  # the status itself stays judged


def test_an_unreachable_host_is_its_own_row_and_the_others_are_read() -> None:
    other = Target("mail", frozenset({"servers"}), Endpoint("y"), {})

    def reader(target: Target) -> tuple[bytes | None, bytes | None]:
        if target.name == "mail":
            raise UnreachableError("mail (admin@127.0.0.1:2203): cannot connect")
        return raw(status(hours_ago=50)), None

    found = survey([TARGET, other], NOW, reader)
    assert [h.host for h in found] == ["directory", "mail"]
    assert {r.state for r in found[0].rows} == {"late"}
    assert found[1].unreachable == "mail (admin@127.0.0.1:2203): cannot connect"
    assert NOW - timedelta(hours=50) == found[0].rows[0].last_success
