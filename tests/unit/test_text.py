"""The one rule for text from outside: which characters a field refuses, how any string
is shown safely, and how a value is written on one config line."""

from __future__ import annotations

import pytest

from toolkit.text import one_line, printable, unsafe_characters


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        ("Ali\n[Interface]", ["U+000A"]),
        ("a\rb", ["U+000D"]),
        ("a\tb", ["U+0009"]),
        ("a\x85b", ["U+0085"]),
        ("a\u2028b\u2029", ["U+2028", "U+2029"]),
        ("admin\u202egnp.exe", ["U+202E"]),
        ("x\u2066y\u2069", ["U+2066", "U+2069"]),
        ("\x1b[2J", ["U+001B"]),
        ("a\x7f", ["U+007F"]),
    ],
)
def test_a_field_with_a_control_separator_or_bidi_override_is_unsafe(
    value: str, codes: list[str]
) -> None:
    assert unsafe_characters(value) == codes


@pytest.mark.parametrize(
    "value",
    [
        "Amina Benali",
        "أمينة بنعلي",
        "Secrétaire général",
        "O'Brien-Smith",
        "ب\u200fج",
        "ZW\u200cNJ",
    ],
)
def test_ordinary_names_in_latin_or_arabic_script_are_safe(value: str) -> None:
    assert unsafe_characters(value) == []


def test_printable_turns_every_control_into_a_visible_escape() -> None:
    shown = printable("sshd\x1b]0;pwned\x07\u202e\r")
    assert shown == "sshd\\x1b]0;pwned\\x07\\u202e\\x0d"
    assert shown.isprintable()


def test_printable_keeps_newlines_and_tabs_of_multiline_evidence_only_when_asked() -> None:
    assert printable("a\n\tb") == "a\\x0a\\x09b"
    assert printable("a\n\tb\r", multiline=True) == "a\n\tb\\x0d"


def test_printable_escapes_what_xml_cannot_carry() -> None:
    assert printable("a\ufffeb\uffff\ud800") == "a\\ufffeb\\uffff\\ud800"


def test_printable_leaves_arabic_and_accents_as_they_are() -> None:
    assert printable("خديجة — é") == "خديجة — é"


def test_one_line_collapses_separators_and_white_space_into_single_spaces() -> None:
    assert one_line("Ali\n[Interface]\nPostUp = touch /tmp/x #") == (
        "Ali [Interface] PostUp = touch /tmp/x #"
    )
    assert one_line(" a\u2028\u2029b\x85c\u202e ") == "a b c"
    assert "\n" not in one_line("x\r\ny")
