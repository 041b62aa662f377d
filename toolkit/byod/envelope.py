"""A collector's report as it arrives: size-capped, strict JSON, sealed with HMAC-SHA256.

The file is one JSON object ``{"format", "token_id", "body", "hmac_sha256"}``. ``body``
is the facts as JSON text (a string, so every collector, Python or PowerShell, seals the
exact bytes it wrote); the seal is HMAC-SHA256 over ``format``, ``token_id`` and those
bytes, keyed with the SHA-256 of the enrolment token (:func:`seal_key`): the digest the
inventory keeps, never the token. Checks come in this order, the first failing one
refusing the whole report: size, strict JSON of the envelope, the seal (by
:mod:`toolkit.byod.review`, with the token's record), then strict JSON and the model of
the facts. Every error names the field."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toolkit.byod.facts import Facts
from toolkit.errors import InvalidInputError, Problem

REPORT_FORMAT = "telework-byod-report/1"
#: A report bigger than this is refused unread.
MAX_REPORT_BYTES = 1 << 20
#: Nesting deeper than this is refused (Python's json recursion is not a bound).
MAX_DEPTH = 12
TOKEN_ID = re.compile(r"^[0-9a-f]{16}$")
_HEX_MAC = re.compile(r"^[0-9a-f]{64}$")
_ENVELOPE_KEYS = {"format", "token_id", "body", "hmac_sha256"}


@dataclass(frozen=True)
class Envelope:
    path: Path
    token_id: str
    body: str
    mac: str
    #: SHA-256 of the whole file as read: the report's digest in the approval.
    digest: str


def seal_key(token: str) -> bytes:
    """The HMAC key of a token: its SHA-256 (what the inventory keeps)."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def seal(key: bytes, token_id: str, body: str) -> str:
    """HMAC-SHA256 (hex) over the format, the token ID and the body's UTF-8 bytes."""
    message = f"{REPORT_FORMAT}\n{token_id}\n".encode() + body.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _refuse(path: Path, field: str, message: str) -> InvalidInputError:
    return InvalidInputError([Problem(str(path), 1, field, message)])


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"key {key!r} given twice")
        seen[key] = value
    return seen


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(text: str) -> int:
    """The deepest nesting of brackets outside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def strict_json(text: str, path: Path, field: str) -> Any:
    """JSON without duplicate keys, NaN or Infinity, nesting at most MAX_DEPTH."""
    if _depth(text) > MAX_DEPTH:
        raise _refuse(path, field, f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise _refuse(path, field, f"not JSON: {exc.msg} at line {exc.lineno}") from exc
    except ValueError as exc:
        raise _refuse(path, field, f"not strict JSON: {exc}") from exc


def read_envelope(path: Path) -> Envelope:
    """The report file's envelope, its seal not yet checked."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_REPORT_BYTES + 1)
    except OSError as exc:
        raise _refuse(path, "-", f"cannot read: {exc.strerror}") from exc
    if len(raw) > MAX_REPORT_BYTES:
        raise _refuse(path, "-", f"larger than {MAX_REPORT_BYTES} bytes: refused unread")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse(path, "-", "not UTF-8 text") from exc
    data = strict_json(text, path, "-")
    if not isinstance(data, dict):
        raise _refuse(path, "-", "a JSON object is needed")
    problems = [
        Problem(str(path), 1, k, "unknown field") for k in sorted(set(data) - _ENVELOPE_KEYS)
    ]
    problems += [Problem(str(path), 1, k, "missing") for k in sorted(_ENVELOPE_KEYS - set(data))]
    if problems:
        raise InvalidInputError(problems)
    checks = (
        ("format", data["format"] == REPORT_FORMAT, f"must be {REPORT_FORMAT}"),
        (
            "token_id",
            isinstance(data["token_id"], str) and TOKEN_ID.match(data["token_id"]),
            "not a token ID (16 hexadecimal digits)",
        ),
        ("body", isinstance(data["body"], str), "must be a string (the facts as JSON text)"),
        (
            "hmac_sha256",
            isinstance(data["hmac_sha256"], str) and _HEX_MAC.match(data["hmac_sha256"]),
            "not an HMAC-SHA256 (64 hexadecimal digits)",
        ),
    )
    problems = [Problem(str(path), 1, name, why) for name, ok, why in checks if not ok]
    if problems:
        raise InvalidInputError(problems)
    return Envelope(
        path, data["token_id"], data["body"], data["hmac_sha256"], hashlib.sha256(raw).hexdigest()
    )


def verify(envelope: Envelope, key: bytes) -> None:
    """The seal matches (constant-time comparison); else the report was altered or sealed
    with another token."""
    try:
        expected = seal(key, envelope.token_id, envelope.body)
    except UnicodeEncodeError as exc:  # a lone surrogate in the body
        raise _refuse(envelope.path, "body", "not encodable as UTF-8") from exc
    if not hmac.compare_digest(expected, envelope.mac):
        raise _refuse(
            envelope.path,
            "hmac_sha256",
            "the seal does not match: the report was altered or sealed with another token",
        )


def parse_facts(envelope: Envelope) -> Facts:
    """The facts of a sealed body: strict JSON, then the model (every error naming its
    field as ``body.<path>``)."""
    strict_json(envelope.body, envelope.path, "body")
    try:
        return Facts.model_validate_json(envelope.body, strict=True)
    except ValidationError as exc:
        problems = [
            Problem(
                str(envelope.path),
                1,
                ".".join(["body", *(str(p) for p in err["loc"])]),
                err["msg"].removeprefix("Value error, "),
            )
            for err in exc.errors()
        ]
        raise InvalidInputError(problems) from exc
