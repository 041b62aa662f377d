"""Fuzzing the roster and what is made from it (profile tests.fuzz.FUZZ: bounded and
reproducible): random cells with controls, line and paragraph separators, bidi overrides,
quotes and separators, random schedules and random names in bundles. Nothing raises but the
project's own errors, nothing unsafe survives validation, and no value written into a
WireGuard configuration can become a second line, a section or a PostUp."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tests import wireguard
from tests.conftest import FIXTURES, TODAY
from tests.fuzz import FUZZ
from toolkit.errors import InvalidInputError, Problem
from toolkit.roster import load_reference
from toolkit.roster.model import Device, DeviceKind, Mode, Status, Teleworker
from toolkit.roster.parse import parse_roster
from toolkit.roster.schedule import DAYS, ScheduleError, parse_schedule
from toolkit.roster.source import MAX_FIELD_CHARS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS, decode_text
from toolkit.text import unsafe_characters
from toolkit.vpn.bundle import render_config
from toolkit.vpn.keys import KeyPair

REFERENCE = load_reference(FIXTURES / "telework.yml")
COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
HOSTILE = ",;\t\"' \r\n\x00\x0b\x0c\x1b\x1c\x7f\x85\u2028\u2029\u202e\u2066\u200f\ufeff[]=#:|-."
GOOD = {
    "id": ["a1", "Z9", "ag.0001"],
    "name_latin": ["Amina Benali", "Ali"],
    "name_arabic": ["أمينة بنعلي", "\u200fعلي"],
    "email": ["amina@example.gov.ma", "x@gmail.com"],
    "unit": ["dsi", "finance"],
    "mode": ["partial", "full", "FULL"],
    "schedule": ["mon,thu", "tue 08:30-12:30|fri", "", "wed|2026-12-21..2027-01-08: mon-fri"],
    "approved_on": ["2026-09-01", "01/09/2026", ""],
    "approved_by": ["DSI", ""],
    "equipment": ["laptop:lt-1", "phone:ph-2 personal:pc-3", ""],
    "vpn_groups": ["staff", "staff finance", ""],
    "status": ["active", "revoked"],
    "eligible_tasks": ["Saisie", ""],
    "charter_signed_on": ["2026-10-01", "01/10/2026", ""],
}

hostile_text = st.text(
    alphabet=st.one_of(st.sampled_from(HOSTILE), st.characters(codec="utf-8")), max_size=24
)


@st.composite
def roster_text(draw: st.DrawFn) -> str:
    """A roster as an export or an attacker could write it: good and hostile cells, any
    separator, well-formed CSV or cells joined raw (unbalanced quotes included)."""
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    header = list(COLUMNS)
    if draw(st.booleans()):
        header[draw(st.integers(0, len(header) - 1))] = draw(hostile_text)
    rows = [header]
    for _ in range(draw(st.integers(0, 4))):
        hostile = draw(st.sets(st.sampled_from(COLUMNS), max_size=3))
        rows.append(
            [draw(hostile_text if c in hostile else st.sampled_from(GOOD[c])) for c in COLUMNS]
            + draw(st.lists(hostile_text, max_size=1))
        )
    if draw(st.booleans()):
        out = io.StringIO()
        line_end = draw(st.sampled_from(["\n", "\r\n"]))
        csv.writer(out, delimiter=delimiter, lineterminator=line_end).writerows(rows)
        return out.getvalue()
    return "\n".join(delimiter.join(row) for row in rows)


def _shown_safely(problem: Problem) -> bool:
    return not unsafe_characters(str(problem))


@FUZZ
@given(roster_text())
def test_any_roster_text_gives_problems_or_teleworkers_never_an_exception(text: str) -> None:
    rows, problems = parse_roster(text, "roster.csv", REFERENCE, today=TODAY)
    assert all(_shown_safely(p) for p in problems)
    for worker in rows:
        for value in (worker.id, worker.name_latin, worker.name_arabic, worker.email):
            assert not unsafe_characters(value) and len(value) <= MAX_FIELD_CHARS
        for value in (worker.unit, worker.approved_by, worker.eligible_tasks, worker.schedule.text):
            assert not unsafe_characters(value) and len(value) <= MAX_FIELD_CHARS
        assert not any(unsafe_characters(g) for g in worker.vpn_groups)


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_are_decoded_or_refused_as_invalid_input(raw: bytes) -> None:
    try:
        text = decode_text(Path("roster.csv"), raw)
    except InvalidInputError as exc:
        problems = exc.problems
    else:
        _, problems = parse_roster(text, "roster.csv", REFERENCE, today=TODAY)
    assert all(_shown_safely(p) for p in problems)


schedule_text = st.lists(
    st.one_of(
        st.sampled_from([*DAYS, "MON", "..", "|", ",", "-", ":", " ", "08:30", "24:00"]),
        st.sampled_from(["2026-12-21", "2027-02-30", "0123456789", "\u0661\u0662", "\uff11"]),
        st.sampled_from(["\t", "\n", "\x85", "\u2028", "\u202e"]),
        st.characters(codec="utf-8"),
    ),
    max_size=16,
).map("".join)


@FUZZ
@given(schedule_text)
def test_any_schedule_text_parses_or_is_a_schedule_error(text: str) -> None:
    try:
        schedule = parse_schedule(text)
    except ScheduleError:
        return  # the documented refusal; anything else fails the test
    for period in schedule.regular + schedule.overrides:
        assert period.days <= set(range(7)) and period.days
        assert all(0 <= s.start < s.end <= 24 * 60 for s in period.spans)
        if period.start is not None:
            assert period.end is not None and period.start <= period.end
    assert schedule.spans_on(date(2026, 12, 22), frozenset(range(5))) is not None


any_text = st.text(alphabet=st.one_of(st.sampled_from(HOSTILE), st.characters()), max_size=40)
WG_KEYS = {
    "privatekey", "address", "dns", "mtu",
    "publickey", "presharedkey", "endpoint", "allowedips", "persistentkeepalive",
}  # fmt: skip


@FUZZ
@given(
    name=any_text, ident=any_text, kind=any_text, device=any_text, support=any_text, dns=any_text
)
def test_no_value_written_into_a_bundle_becomes_a_second_line_a_section_or_a_key(
    name: str, ident: str, kind: str, device: str, support: str, dns: str
) -> None:
    worker = Teleworker(
        id=ident,
        name_latin=name,
        name_arabic=name,
        email="a@example.gov.ma",
        unit="dsi",
        mode=Mode.FULL,
        schedule=parse_schedule(""),
        approved_on=date(2026, 9, 1),
        approved_by=name,
        equipment=(Device(DeviceKind.PHONE, "ph-2"),),
        vpn_groups=(),
        status=Status.ACTIVE,
    )
    gateway = {
        "endpoint": "vpn.example.gov.ma",
        "port": 51820,
        "public_key": "G" * 42 + "A=",
        "mtu": 1420,
        "keepalive": 25,
        "dns": [dns],
        "allowed_ips": ["10.77.0.0/20"],
        "support_contact": support,
    }
    entry = {"kind": kind, "address_v4": "10.77.0.5", "address_v6": ""}
    keys = KeyPair(private="P" * 42 + "A=", public="Q" * 42 + "A=")
    text = render_config(worker, device, entry, gateway, keys=keys, psk="S" * 42 + "A=")
    assert not wireguard.read_as_more_lines_elsewhere(text)
    assert unsafe_characters(text.replace("\n", "")) == []
    assert wireguard.sections(text) == ["[Interface]", "[Peer]"]
    seen = wireguard.keys(text)
    assert set(seen) <= WG_KEYS and len(seen) == len(set(seen))
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert len(comments) == 1 + bool(support)  # the title, and the support contact if any
