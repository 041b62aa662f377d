"""``toolkit byod enrol``: a one-time token and a collector to hand to a teleworker for
one personal computer (M9, M10).

The token is shown once and kept only as its SHA-256 (toolkit.byod.store). The handout
is a zip archive of the collectors (Python for Linux and macOS, PowerShell for Windows)
and ``enrolment.json``: who and which device, the token's ID and expiry, and what to look
for (BYOD-05's deny-list, BYOD-06's markers and places), taken from the audit's controls
and profiles. It holds no secret: the token is given apart and typed in when the
collector asks for it."""

from __future__ import annotations

import json
import logging
import zipfile
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from io import BytesIO
from pathlib import Path

from toolkit.audit.catalogue import Catalogue
from toolkit.byod.device import device_plan, personal_device, search_spec
from toolkit.byod.store import HANDOUTS_DIR, TokenRecord, new_token, save_token
from toolkit.roster.model import Roster
from toolkit.secrets import write_secret

log = logging.getLogger(__name__)

ENROLMENT_FORMAT = "telework-byod-enrolment/1"
#: The collectors, package data of toolkit.byod.
COLLECTORS = ("byod_collect.py", "byod_collect.ps1")


def collector_text(name: str) -> bytes:
    """A collector's file as shipped with the toolkit."""
    return files("toolkit.byod").joinpath("collectors", name).read_bytes()


@dataclass(frozen=True)
class Enrolment:
    token: str
    record: TokenRecord
    handout: Path


def enrolment_document(record: TokenRecord, search: dict[str, object]) -> dict[str, object]:
    return {
        "format": ENROLMENT_FORMAT,
        "teleworker": record.teleworker,
        "device": record.device,
        "token_id": record.token_id,
        "expires_at": record.expires_at.isoformat(),
        "search": search,
    }


def enrol(
    inventory: Path,
    roster: Roster,
    catalogue: Catalogue,
    teleworker_id: str,
    device: str,
    *,
    by: str,
    now: datetime,
    days: int,
) -> Enrolment:
    """Issue a token for ``device`` of ``teleworker_id`` (an eligible teleworker's
    personal computer of the roster) and write the handout (0600)."""
    worker = personal_device(roster, teleworker_id, device)
    domains = roster.reference.mail_domains
    search = search_spec(device_plan(catalogue, inventory, device, domains))
    token, record = new_token(worker.id, device, by=by, now=now, days=days)
    archive = BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in COLLECTORS:
            zf.writestr(name, collector_text(name))
        zf.writestr("enrolment.json", json.dumps(enrolment_document(record, search), indent=2))
    handout = inventory / HANDOUTS_DIR / f"{worker.id}-{device}-{record.token_id}.zip"
    write_secret(handout, archive.getvalue())
    save_token(inventory, record)  # last: a failed handout leaves no token behind
    log.info("token %s issued for %s %s, handout %s", record.token_id, worker.id, device, handout)
    return Enrolment(token, record, handout)
