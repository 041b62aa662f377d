"""A17, E23, C2, A3: the attendance report on a generated roster and a recorded week of
VPN samples and portal sessions finds exactly the planted deviations, and its default
output keeps personal data to the minimum."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.report.lab_data import PLANTED, TODAY, WEEK, write_inventory
from toolkit.cli.main import cli
from toolkit.errors import InvalidInputError
from toolkit.report import attendance as att
from toolkit.report import attendance_files
from toolkit.report.activity import parse_samples, parse_sessions, prune, samples_from_dump
from toolkit.roster import load_environment_roster
from toolkit.vpn.layout import keys_dir

IPV4 = re.compile(r"\b\d{1,3}(\.\d{1,3}){3}\b")
IPV6 = re.compile(r"\b[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}\b", re.I)
TIME_OF_DAY = re.compile(r"\b\d{2}:\d{2}\b")


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    return write_inventory(tmp_path / "inv")


def _report(inventory: Path, **kwargs: object) -> att.Attendance:
    roster = load_environment_roster(inventory, today=TODAY)
    evidence = att.load_evidence(inventory / ".telework-data", WEEK[0], WEEK[-1], att.Options())
    return att.check(
        roster,
        att.device_keys(keys_dir(inventory)),
        evidence,
        WEEK[0],
        WEEK[-1],
        today=TODAY,
        **kwargs,  # type: ignore[arg-type]
    )


def test_the_report_finds_exactly_the_planted_deviations(inventory: Path) -> None:
    report = _report(inventory)
    found = {(r.ident, r.day, r.deviations) for r in report.rows}
    assert found == PLANTED
    unverifiable = [r for r in report.rows if r.status == "unverifiable"]
    assert [(r.ident, r.day) for r in unverifiable] == [("fin03", date(2026, 11, 16))]


def test_a_portal_user_is_judged_on_confirmed_sessions_not_on_vpn_traffic(
    inventory: Path,
) -> None:
    report = _report(inventory, detail=True)
    dsi04 = [r for r in report.rows if r.ident == "dsi04"]
    assert {r.source for r in dsi04} == {"portal"}
    assert [r.status for r in dsi04] == ["ok", "deviation"]
    assert dsi04[1].last == "11:00"


def test_the_sampler_being_down_is_nobodys_deviation(inventory: Path) -> None:
    friday = [r for r in _report(inventory, detail=True).rows if r.day == WEEK[-1]]
    assert {r.ident for r in friday} == {"dsi02", "dsi04", "fin02", "rh01"}
    assert {r.ident for r in friday if r.status == "ok"} == {"dsi02", "fin02", "rh01"}
    karim = next(r for r in friday if r.ident == "dsi02")
    assert karim.covered_pct < 100  # the 90 minutes the sampler missed are not counted worked


def test_unit_totals_add_up_and_a_revoked_teleworker_is_left_out(inventory: Path) -> None:
    report = _report(inventory)
    totals = {u.unit: u for u in report.units}
    assert [totals[u].teleworkers for u in ("dsi", "finance", "rh")] == [4, 3, 2]
    dsi = totals["dsi"]
    # dsi01 mon,thu (2) + dsi02 full (5) + dsi03 mon-wed (3) + dsi04 tue,fri (2)
    assert dsi.scheduled_days == 12
    assert (dsi.ok, dsi.deviations, dsi.no_data) == (9, 3, 0)
    assert dsi.by_kind == {"gap": 1, "absent": 1, "early_end": 1}
    assert totals["finance"].unverifiable == 1
    assert "rh03" not in {r.ident for r in _report(inventory, detail=True).rows}


def _cli(inventory: Path, out: Path, *args: str) -> str:
    result = CliRunner().invoke(
        cli,
        [
            *("report", "attendance", "-i", str(inventory), "--period", "2026-W47"),
            *("-o", str(out), "--retention-days", "3650", *args),
        ],
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_a3_the_default_output_holds_no_address_no_time_outside_deviations_and_no_other_unit(
    inventory: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    terminal = _cli(inventory, out, "--unit", "dsi")
    page = (out / "attendance.html").read_text()
    rows = list(csv.DictReader(io.StringIO((out / "attendance.csv").read_text())))
    units = (out / "attendance-units.csv").read_text()
    everything = terminal + page + units + (out / "attendance.csv").read_text()
    assert not IPV4.search(everything) and not IPV6.search(everything)
    for worker in ("fin01", "fin02", "fin03", "rh01", "rh02", "Benali", "finance", "rh,"):
        assert worker not in everything
    assert [(r["id"], r["status"]) for r in rows] == [
        ("dsi02", "deviation"),
        ("dsi03", "deviation"),
        ("dsi04", "deviation"),
    ]
    outside_rows = re.sub(r'<table id="rows">.*?</table>', "", page, flags=re.S)
    assert not TIME_OF_DAY.search(outside_rows)
    assert not TIME_OF_DAY.search(units)
    assert "Minimised view (A3)" in page and "DETAIL VIEW" not in page
    for key in (inventory / ".vpn" / "keys").glob("*.pub"):
        assert key.read_text().strip() not in everything
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in out.iterdir())


def test_the_detail_view_needs_its_flag_and_says_so(inventory: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    terminal = _cli(inventory, out, "--detail")
    assert "DETAIL VIEW" in terminal
    page = (out / "attendance.html").read_text()
    assert '<div id="detail-warning"' in page
    rows = list(csv.DictReader(io.StringIO((out / "attendance.csv").read_text())))
    assert len(rows) == sum(u.scheduled_days for u in _report(inventory).units)


def test_every_report_names_its_clauses(inventory: Path) -> None:
    page = attendance_files.html(_report(inventory))
    for clause in ("A17", "E23", "C2", "A3"):
        assert f'<td class="clause">{clause}</td>' in page
    assert "Electronically check that teleworkers keep their hours" in page


def test_the_retention_limit_deletes_old_evidence_days(inventory: Path) -> None:
    data = inventory / ".telework-data"
    removed = prune(data, 7, date(2026, 11, 25))
    assert sorted(p.name for p in removed) == [
        "2026-11-16.csv",
        "2026-11-16.tsv",
        "2026-11-17.csv",
        "2026-11-17.tsv",
    ]
    assert sorted(p.name for p in (data / "vpn").iterdir()) == [
        "2026-11-18.tsv",
        "2026-11-19.tsv",
        "2026-11-20.tsv",
    ]


def test_record_vpn_keeps_counters_and_drops_keys_and_addresses(tmp_path: Path) -> None:
    peer = "hIz4Sc4cAmd7Qc3pQFmzgbXAw9b1kYnJTaaJ4sCM2jA="
    dump = (
        "wg0\tcHJpdmF0ZWtleXByaXZhdGVrZXlwcml2YXRla2V5MTI=\tcHVi\t51820\toff\n"
        f"wg0\t{peer}\tcHNrcHNrcHNrcHNrcHNrcHNrcHNrcHNrcHNrcHNrMTI=\t203.0.113.7:40112\t"
        "10.8.0.2/32,fd00::2/128\t1763886600\t123456\t654321\t25\n"
    )
    lines = samples_from_dump(dump, datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    assert lines == [f"2026-11-23T08:00:00Z\t{peer}\t1763886600\t123456\t654321"]
    inv = tmp_path / "inv"
    inv.mkdir()
    result = CliRunner().invoke(cli, ["report", "record-vpn", "-i", str(inv)], input=dump)
    assert result.exit_code == 0, result.output
    (stored,) = (inv / ".telework-data" / "vpn").iterdir()
    text = stored.read_text()
    assert peer in text and "203.0.113.7" not in text and "10.8.0.2" not in text
    assert "cHNr" not in text and "cHJpdmF0" not in text
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    again = CliRunner().invoke(cli, ["report", "record-vpn", "-i", str(inv)], input=dump)
    assert again.exit_code == 0, again.output
    assert len(parse_samples(stored.read_text(), str(stored))) == 2  # appended, one header


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not a samples file\n", ":1: -: not a VPN samples file"),
        ("# telework-vpn-samples 1\n2026-11-23T08:00:00Z\tkey\t0\t1\t2\n", ":2: public_key:"),
        (
            "# telework-vpn-samples 1\n2026-11-23T08:00:00\t"
            "hIz4Sc4cAmd7Qc3pQFmzgbXAw9b1kYnJTaaJ4sCM2jA=\t0\t1\t2\n",
            ":2: taken_at: '2026-11-23T08:00:00' has no UTC offset",
        ),
        (
            "# telework-vpn-samples 1\n2026-11-23T08:00:00Z\t"
            "hIz4Sc4cAmd7Qc3pQFmzgbXAw9b1kYnJTaaJ4sCM2jA=\t0\t-1\t2\n",
            ":2: rx_bytes: '-1' is not a counter",
        ),
        ("# telework-vpn-samples 1\n\x1b[2J\tx\n", ":2: -: contains U+001B"),
        (
            "# telework-vpn-samples 1\n2026-11-23T08:00:00Z\t"
            "hIz4Sc4cAmd7Qc3pQFmzgbXAw9b1kYnJTaaJ4sCM2jA=\t0\t\u0661\u0662\t2\n",
            ":2: rx_bytes: '\u0661\u0662' is not a counter",
        ),
        ("# telework-vpn-samples 1\n1\r2\n", ":2: -: contains U+000D"),
        ("# telework-vpn-samples 1\n" + "a" * 600 + "\n", ":2: -: line of 600 characters"),
        ("# telework-vpn-samples 1\n1\t2\t3\n", ":2: -: 3 fields, expected 5"),
    ],
)
def test_a_hostile_samples_file_is_refused_naming_line_and_field(text: str, problem: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_samples(text, "s.tsv")
    assert problem in str(caught.value)


def test_a_hostile_sessions_file_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"s.csv:2: ended: ends before it starts"):
        parse_sessions(
            "id;started;ended\nx1;2026-11-23T10:00:00+01:00;2026-11-23T09:00:00+01:00\n", "s.csv"
        )
    with pytest.raises(InvalidInputError, match=r"s.csv:2: id:"):
        parse_sessions("id;started;ended\n../x;2026-11-23T10:00:00Z;\n", "s.csv")


def test_a_fifo_in_the_evidence_folder_is_refused_without_waiting(inventory: Path) -> None:
    import os

    fifo = inventory / ".telework-data" / "vpn" / "2026-11-18.tsv"
    fifo.unlink()
    os.mkfifo(fifo)
    with pytest.raises(InvalidInputError, match="not a regular file"):
        _report(inventory)


def test_missing_portal_sessions_are_said_not_guessed(inventory: Path) -> None:
    for f in (inventory / ".telework-data" / "portal").iterdir():
        f.unlink()
    report = _report(inventory)
    portal = next(s for s in report.sources if s.name == "portal")
    assert not portal.available and "does not record them yet" in portal.note
