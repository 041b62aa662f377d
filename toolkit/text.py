"""The one place that decides which characters from outside are safe, and where.

Every string that comes from outside (a roster cell, a host's answer, a server's banner, a
flag) passes through one of these before it reaches a config file, a terminal, HTML, JSON
or XML:

- :func:`unsafe_characters` says whether an input field holds characters no field may
  hold (controls, line and paragraph separators, bidi overrides and isolates); the roster
  validator refuses such a value with ``FILE:LINE: field:``.
- :func:`printable` shows any string safely in a terminal, a report or a log: every
  control, separator, bidi control, lone surrogate and non-character becomes a visible
  escape (``\\x1b``, ``\\u202e``); newlines and tabs stay when the text is multi-line
  evidence and ``multiline=True``.
- :func:`one_line` is for a value written into one line of a config file (a comment, a
  ``key = value``): every unsafe character and every run of white space becomes one space,
  so no parser can read two lines or a hidden instruction in it.
"""

from __future__ import annotations

import re
import unicodedata

#: Bidi embeddings, overrides and isolates (Trojan Source, CVE-2021-42574): they reorder
#: what a person reads. The marks LRM, RLM and ALM only affect neutral characters and are
#: part of ordinary Arabic typing, so they stay.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

#: Unicode categories that never belong in a field: controls (C0, DEL, C1 with NEL),
#: line and paragraph separators, surrogates, unassigned code points.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs", "Cn"})

# Fast path: plain printable ASCII and most letters need no per-character look-up.
_PLAIN = re.compile(r"[\x20-\x7e]*")


def is_unsafe_char(ch: str) -> bool:
    """True for a character no text from outside may carry into a field or a line."""
    return ch in BIDI_CONTROLS or unicodedata.category(ch) in _UNSAFE_CATEGORIES


def unsafe_characters(value: str) -> list[str]:
    """The unsafe characters of ``value`` as code points (``U+000A``), in order, unique."""
    if _PLAIN.fullmatch(value):
        return []
    found: dict[str, None] = {}
    for ch in value:
        if is_unsafe_char(ch):
            found.setdefault(f"U+{ord(ch):04X}", None)
    return list(found)


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(value: object, *, multiline: bool = False) -> str:
    """``value`` as text that shows safely on a terminal, in HTML, JSON and XML.

    Unsafe characters (and U+FFFE/U+FFFF, which XML refuses) become visible escapes; with
    ``multiline`` newlines and tabs are kept (CR is escaped: it rewrites a terminal line).
    A backslash is left as it is: the escapes are for a person to read, not to decode.
    """
    text = value if isinstance(value, str) else str(value)
    if _PLAIN.fullmatch(text):
        return text
    keep = "\n\t" if multiline else ""
    out = []
    for ch in text:
        if ch in keep:
            out.append(ch)
        elif is_unsafe_char(ch) or ch in "\ufffe\uffff":
            out.append(_escape(ch))
        else:
            out.append(ch)
    return "".join(out)


_WHITE_RUN = re.compile(r"\s+")


def one_line(value: str) -> str:
    """``value`` as one line for a config file: unsafe characters and runs of white space
    (Unicode's, so NEL, U+2028 and friends too) become one space; ends trimmed."""
    cleaned = "".join(" " if is_unsafe_char(ch) else ch for ch in value)
    return _WHITE_RUN.sub(" ", cleaned).strip()
