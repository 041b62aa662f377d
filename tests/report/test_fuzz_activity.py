"""The evidence parsers read what a gateway or a collector wrote: any text gives samples or
sessions, or one InvalidInputError naming the file and line, never another exception."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.errors import InvalidInputError
from toolkit.report.activity import (
    SAMPLES_MAGIC,
    parse_samples,
    parse_sessions,
    samples_from_dump,
)

KEY = "hIz4Sc4cAmd7Qc3pQFmzgbXAw9b1kYnJTaaJ4sCM2jA="
GOOD_CELLS = ["2026-11-23T08:00:00Z", KEY, "1763886600", "123", "0", "", "x1", "\t", ";"]
HOSTILE = ["\x1b[2J", "\u202e", "\r", "\n", "\x00", "9" * 30, "-1", "2026-13-45T99:99:99"]
cell = st.one_of(st.sampled_from(GOOD_CELLS + HOSTILE), st.text(max_size=12))


@st.composite
def lines(draw: st.DrawFn, separator: str) -> str:
    rows = draw(st.lists(st.lists(cell, min_size=1, max_size=9), max_size=6))
    return "\n".join(separator.join(r) for r in rows)


@settings(max_examples=300, deadline=None)
@given(body=lines("\t"), magic=st.booleans())
def test_any_samples_text_gives_samples_or_one_problem(body: str, magic: bool) -> None:
    text = f"{SAMPLES_MAGIC}\n{body}" if magic else body
    problems, samples = [], []
    try:
        samples = parse_samples(text, "s.tsv")
    except InvalidInputError as exc:
        problems = exc.problems
    assert (len(problems) == 1 and problems[0].file == "s.tsv") or not problems
    assert all(s.public_key == KEY for s in samples)


@settings(max_examples=300, deadline=None)
@given(body=lines(";"))
def test_any_sessions_text_gives_sessions_or_one_problem(body: str) -> None:
    problems, sessions = [], []
    try:
        sessions = parse_sessions(f"id;started;ended\n{body}", "p.csv")
    except InvalidInputError as exc:
        problems = exc.problems
    assert len(problems) <= 1 and all(p.line >= 1 for p in problems)
    assert all(s.ended is None or s.ended >= s.started for s in sessions)


@settings(max_examples=200, deadline=None)
@given(body=lines("\t"))
def test_any_dump_gives_sample_lines_or_one_problem(body: str) -> None:
    problems, found = [], []
    try:
        found = samples_from_dump(body, datetime(2026, 11, 23, tzinfo=UTC))
    except InvalidInputError as exc:
        problems = exc.problems
    assert len(problems) <= 1
    for line in found:  # what is kept is a valid sample, with no address in it
        assert len(parse_samples(f"{SAMPLES_MAGIC}\n{line}\n", "x")) == 1
