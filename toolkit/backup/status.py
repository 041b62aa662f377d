"""The status of a host's last backup run (A9) and the evidence of its last restore drill
(A5), as the backup role writes them on the host (docs/backup.md):

- ``/var/lib/telework-backup/status.json``, written by the client's wrapper after every run:
  host, repository, backup server, last attempt and last success (UTC ISO 8601), result,
  archive, the backup sources with their RPO, append-only, encryption;
- ``/var/lib/telework-backup/last-drill.json``, the copy ``toolkit backup drill`` leaves
  on the drilled host (toolkit.backup.evidence).

Both come from a host, so they are read capped (:data:`MAX_BYTES`) and judged strictly: a
file that is not what the contract says is one :class:`~toolkit.errors.Problem` naming the
host, the file and the field; every string kept is passed through
:func:`toolkit.text.printable` before it reaches a terminal, JSON or HTML.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from toolkit.errors import InvalidInputError, Problem
from toolkit.text import printable

STATUS_FILE = "/var/lib/telework-backup/status.json"
DRILL_FILE = "/var/lib/telework-backup/last-drill.json"
#: Longest status or drill file read from a host (the contract's files are a few KiB).
MAX_BYTES = 64 * 1024
#: Longest string kept from a host's file; the rest is cut (and said).
MAX_TEXT = 300
#: Sources of one host, at most.
MAX_SOURCES = 64

M = TypeVar("M", bound=BaseModel)


def safe(value: str) -> str:
    """A host's string as it may be shown: escaped (toolkit.text.printable) and cut."""
    shown = printable(value)
    return shown if len(shown) <= MAX_TEXT else shown[:MAX_TEXT] + "...(cut)"


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("a time must say its zone (UTC: ...Z)")
    return value.astimezone(UTC) if value is not None else None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=False, frozen=True)


class Source(_Strict):
    name: str = Field(min_length=1, max_length=MAX_TEXT)
    rpo_hours: float = Field(gt=0, le=24 * 366)

    @field_validator("name")
    @classmethod
    def _safe(cls, value: str) -> str:
        return safe(value)


class BackupStatus(_Strict):
    """status.json (contract 3 of docs/backup.md); unknown keys are ignored."""

    host: str = Field(min_length=1, max_length=MAX_TEXT)
    repository: str = Field(max_length=MAX_TEXT * 2)
    backup_server: str = Field(max_length=MAX_TEXT)
    last_attempt: datetime
    last_success: datetime | None = None
    result: Literal["ok", "failed"]
    archive: str = Field(default="", max_length=MAX_TEXT * 2)
    duration_seconds: float | None = Field(default=None, ge=0)
    error: str = Field(default="", max_length=4096)
    sources: list[Source] = Field(max_length=MAX_SOURCES)
    append_only: bool
    encryption: str = Field(max_length=64)
    check_last: datetime | None = None

    @field_validator("host", "repository", "backup_server", "archive", "error", "encryption")
    @classmethod
    def _safe(cls, value: str) -> str:
        return safe(value)

    @field_validator("last_attempt", "last_success", "check_last")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class DrillCheck(_Strict):
    name: str = Field(max_length=MAX_TEXT)
    passed: bool
    detail: str = Field(default="", max_length=4096)

    @field_validator("name", "detail")
    @classmethod
    def _safe(cls, value: str) -> str:
        return safe(value)


class DrillEvidence(_Strict):
    """A restore drill's evidence (contract 4): what ``toolkit backup drill`` writes on the
    control node and copies to the drilled host."""

    host: str = Field(min_length=1, max_length=MAX_TEXT)
    archive: str = Field(max_length=MAX_TEXT * 2)
    started: datetime
    finished: datetime
    rto_seconds: float | None = Field(default=None, ge=0)
    result: Literal["passed", "failed"]
    checks: list[DrillCheck] = Field(default_factory=list, max_length=256)
    files_verified: int = Field(default=0, ge=0)
    mismatches: list[str] = Field(default_factory=list, max_length=10_000)

    @field_validator("host", "archive")
    @classmethod
    def _safe(cls, value: str) -> str:
        return safe(value)

    @field_validator("mismatches")
    @classmethod
    def _safe_list(cls, value: list[str]) -> list[str]:
        return [safe(v) for v in value]

    @field_validator("started", "finished")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _aware(value) or value


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "-"


def _load_json(raw: bytes, where: str) -> Any:
    if len(raw) > MAX_BYTES:
        raise InvalidInputError([Problem(where, 1, "-", f"larger than {MAX_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError([Problem(where, 1, "-", f"not UTF-8 (byte {exc.start})")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError([Problem(where, exc.lineno, "-", f"not JSON: {exc.msg}")]) from None
    except RecursionError:
        raise InvalidInputError([Problem(where, 1, "-", "not JSON: nested too deep")]) from None


def _validate(model: type[M], raw: bytes, where: str) -> M:
    data = _load_json(raw, where)
    if not isinstance(data, dict):
        raise InvalidInputError([Problem(where, 1, "-", "not a JSON object")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInputError(
            [Problem(where, 1, _field(e["loc"]), e["msg"]) for e in exc.errors()[:20]]
        ) from None


def parse_status(raw: bytes, host: str, path: str = STATUS_FILE) -> BackupStatus:
    """status.json read from ``host``; InvalidInputError naming ``host:path`` and the field.
    A status written for another host (a cloned machine, a copied file) is refused too."""
    where = f"{host}:{path}"
    status = _validate(BackupStatus, raw, where)
    if status.host != host:
        raise InvalidInputError([Problem(where, 1, "host", f"says '{status.host}', not '{host}'")])
    return status


def parse_drill(raw: bytes, where: str) -> DrillEvidence:
    """A drill evidence file (local or the host's copy); InvalidInputError naming it."""
    return _validate(DrillEvidence, raw, where)


SourceState = Literal["ok", "late", "never", "failed"]


class SourceRow(BaseModel):
    """One backup source of one host against its RPO, as ``toolkit backup status`` shows."""

    host: str
    source: str
    rpo_hours: float | None
    last_success: datetime | None
    last_attempt: datetime | None
    age_hours: float | None
    archive: str
    state: SourceState
    note: str = ""


def judge(status: BackupStatus | None, host: str, now: datetime) -> list[SourceRow]:
    """Rows of ``host``: one per source; one ``never`` row without a status file. A source
    is ``late`` when its last success is older than its RPO, ``never`` without one,
    ``failed`` when the last attempt failed (even within the RPO: the next one may not come),
    ``ok`` otherwise."""
    if status is None:
        return [
            SourceRow(
                host=host,
                source="-",
                rpo_hours=None,
                last_success=None,
                last_attempt=None,
                age_hours=None,
                archive="",
                state="never",
                note="never backed up (no status file)",
            )
        ]
    rows = []
    age = (now - status.last_success).total_seconds() / 3600 if status.last_success else None
    for source in status.sources or [Source(name="-", rpo_hours=24)]:
        state: SourceState
        note = ""
        if age is None:
            state, note = "never", "no successful backup yet"
        elif age > source.rpo_hours:
            state, note = "late", f"last success {age:.1f} h ago, RPO {source.rpo_hours:g} h"
        elif status.result == "failed":
            state, note = "failed", "last attempt failed"
        else:
            state = "ok"
        if status.result == "failed" and status.error:
            note = f"{note}: {status.error}" if note else status.error
        if not status.sources:
            note = f"{note}; the status lists no source" if note else "the status lists no source"
        rows.append(
            SourceRow(
                host=host,
                source=source.name,
                rpo_hours=source.rpo_hours if status.sources else None,
                last_success=status.last_success,
                last_attempt=status.last_attempt,
                age_hours=round(age, 2) if age is not None else None,
                archive=status.archive,
                state=state,
                note=note,
            )
        )
    return rows
