"""The security unit's BYOD records in the inventory (M9, M10): enrolment tokens and
approvals, as JSON files of mode 0600 under ``<inventory>/.vpn/byod/`` (folders 0700),
which git and the collection build leave out with the rest of ``.vpn/``.

``tokens/<token_id>.json``     who and which device a token is for, the SHA-256 of the
                               token (the seal's key; the token itself is never kept),
                               its state (issued, used) and expiry;
``tokens/<token_id>.used``     made with O_EXCL when a review takes the token: of two
                               reviews of one token, one only gets it (no replay);
``approvals/<id>-<device>.json``  the current approval of a personal computer: who, when,
                               until when, the digest of the report it rests on;
``handouts/``, ``reviews/``    what enrol hands out, what each review reported.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from toolkit.byod.envelope import seal_key
from toolkit.errors import InvalidInputError, Problem, ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.secrets import read_secret
from toolkit.secrets import write_secret as write_private

#: Inside the inventory's VPN folder (toolkit.vpn.layout.VPN_DIR; not imported from
#: there: toolkit.vpn imports this package for its gate, tests check they agree).
STATE_DIR = Path(".vpn") / "byod"
TOKENS_DIR = STATE_DIR / "tokens"
APPROVALS_DIR = STATE_DIR / "approvals"
HANDOUTS_DIR = STATE_DIR / "handouts"
REVIEWS_DIR = STATE_DIR / "reviews"

Hex = str


class TokenState(StrEnum):
    ISSUED = "issued"
    USED = "used"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenRecord(_Record):
    token_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    teleworker: str
    device: str
    key_sha256: Hex = Field(pattern=r"^[0-9a-f]{64}$")
    issued_by: str
    issued_at: datetime
    expires_at: datetime
    state: TokenState = TokenState.ISSUED
    used_at: datetime | None = None
    report_sha256: Hex | None = None
    verdict: str | None = None

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


class Approval(_Record):
    teleworker: str
    device: str
    approved_by: str
    approved_at: datetime
    expires_at: datetime
    report_sha256: Hex
    token_id: str
    review: str = Field(description="folder of the review's HTML, JSON and JUnit reports")

    def current(self, now: datetime) -> bool:
        return self.approved_at <= now < self.expires_at


R = TypeVar("R", bound=_Record)


def _save(path: Path, record: _Record) -> None:
    write_private(path, (record.model_dump_json(indent=2) + "\n").encode())


def _load(path: Path, model: type[R]) -> R:
    try:
        return model.model_validate_json(read_secret(path))  # vault-encrypted or not
    except (OSError, ToolkitError) as exc:
        raise InvalidInputError([Problem(str(path), 1, "-", f"cannot read: {exc}")]) from exc
    except ValueError as exc:
        raise InvalidInputError([Problem(str(path), 1, "-", f"not a valid record: {exc}")]) from exc


def new_token(
    teleworker: str, device: str, *, by: str, now: datetime, days: int
) -> tuple[str, TokenRecord]:
    """A new one-time token for ``device`` of ``teleworker``: the token (shown once) and
    its record, which keeps the token's SHA-256 only (:func:`save_token` writes it)."""
    token_id = secrets.token_hex(8)
    token = f"{token_id}.{secrets.token_urlsafe(32)}"
    record = TokenRecord(
        token_id=token_id,
        teleworker=teleworker,
        device=device,
        key_sha256=seal_key(token).hex(),
        issued_by=by,
        issued_at=now,
        expires_at=now + timedelta(days=days),
    )
    return token, record


def save_token(inventory: Path, record: TokenRecord) -> None:
    _save(inventory / TOKENS_DIR / f"{record.token_id}.json", record)


def load_token(inventory: Path, token_id: str) -> TokenRecord:
    path = inventory / TOKENS_DIR / f"{token_id}.json"
    if not path.is_file():
        raise ToolkitError(
            f"token {token_id} was not issued for this inventory ({inventory})",
            exit_code=ExitCode.CHECK_FAILED,
        )
    return _load(path, TokenRecord)


def take_token(
    inventory: Path, record: TokenRecord, *, now: datetime, digest: str, verdict: str
) -> TokenRecord:
    """Mark the token used by the report of ``digest``: at most once, whoever asks (the
    ``.used`` file is made with O_EXCL); a ToolkitError when it already was."""
    marker = inventory / TOKENS_DIR / f"{record.token_id}.used"
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ToolkitError(
            f"token {record.token_id} was already used: a report is reviewed once "
            f"(toolkit byod enrol {record.teleworker} {record.device} for a new check)",
            exit_code=ExitCode.CHECK_FAILED,
        ) from exc
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"{now.isoformat()} {digest}\n")
    used = record.model_copy(
        update={
            "state": TokenState.USED,
            "used_at": now,
            "report_sha256": digest,
            "verdict": verdict,
        }
    )
    _save(inventory / TOKENS_DIR / f"{record.token_id}.json", used)
    return used


def _approval_path(inventory: Path, teleworker: str, device: str) -> Path:
    return inventory / APPROVALS_DIR / f"{teleworker}-{device}.json"


def save_approval(inventory: Path, approval: Approval) -> Path:
    path = _approval_path(inventory, approval.teleworker, approval.device)
    _save(path, approval)
    return path


def withdraw_approval(inventory: Path, teleworker: str, device: str) -> bool:
    """Remove the device's approval (a newer check failed); True when there was one."""
    path = _approval_path(inventory, teleworker, device)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def current_approval(
    inventory: Path, teleworker: str, device: str, now: datetime
) -> Approval | None:
    """The device's approval if it is current at ``now`` (None when none or expired)."""
    path = _approval_path(inventory, teleworker, device)
    if not path.is_file():
        return None
    approval = _load(path, Approval)
    if (approval.teleworker, approval.device) != (teleworker, device):
        raise InvalidInputError([Problem(str(path), 1, "device", "record of another device")])
    return approval if approval.current(now) else None
