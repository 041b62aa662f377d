"""Fuzzing the report reader: whatever a file holds, reading and checking it ends in the
report's facts or in InvalidInputError naming a field, never in another exception (a
crash would be a way around the refusal)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import FUZZ
from toolkit.byod import windows
from toolkit.byod.envelope import REPORT_FORMAT, parse_facts, read_envelope, seal, seal_key, verify
from toolkit.errors import InvalidInputError

KEY = seal_key("0123456789abcdef.secret")
TOKEN_ID = "0123456789abcdef"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
#: Bodies near the real shape: the fields of the facts, with values of any JSON type.
facts_like: st.SearchStrategy[dict[str, object]] = st.fixed_dictionaries(
    {
        "format": st.just("telework-byod-facts/1"),
        "teleworker": st.just("a3"),
        "device": st.just("pc-3"),
        "token_id": st.just(TOKEN_ID),
        "collected_at": st.just("2026-11-25T09:00:00Z"),
        "collector": st.just("x"),
    },
    optional=dict.fromkeys(
        (
            "os",
            "last_update",
            "antivirus",
            "browsers",
            "tools",
            "work_data",
            "wifi",
            "session",
            "problems",
            "windows",
        ),
        json_values,
    ),
)


def check(path: Path) -> list[str]:
    """[] when the report is read, else its problems as text (any other exception fails
    the test)."""
    try:
        envelope = read_envelope(path)
        verify(envelope, KEY)
        windows.complete(parse_facts(envelope))
    except InvalidInputError as exc:
        return [str(p) for p in exc.problems] or ["(no problem given)"]
    return []


@FUZZ
@given(raw=st.binary(max_size=300))
def test_any_bytes_are_read_or_refused(tmp_path_factory: Any, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "r.json"
    path.write_bytes(raw)
    assert "(no problem given)" not in check(path)


@FUZZ
@given(body=st.one_of(facts_like, json_values))
def test_any_sealed_body_is_read_or_refused_with_its_field(
    tmp_path_factory: Any, body: Any
) -> None:
    text = json.dumps(body)
    path = tmp_path_factory.mktemp("fuzz") / "r.json"
    path.write_text(
        json.dumps(
            {
                "format": REPORT_FORMAT,
                "token_id": TOKEN_ID,
                "body": text,
                "hmac_sha256": seal(KEY, TOKEN_ID, text),
            }
        )
    )
    problems = check(path)
    assert "(no problem given)" not in problems
    fields = [p.split(": ")[1] for p in problems]  # FILE:LINE: field: message
    assert all(f == "body" or f.startswith("body.") for f in fields), problems
