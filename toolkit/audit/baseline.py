"""``--baseline PREVIOUS.json``: what got better or worse since a previous run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from toolkit.audit.model import Status
from toolkit.audit.results import AuditReport, Baseline, Change
from toolkit.errors import InvalidInputError, Problem

_RANK = {Status.PASS: 0, Status.SKIPPED: 0, Status.WARN: 1, Status.ERROR: 2, Status.FAIL: 2}


def load_report(path: Path) -> AuditReport:
    """A JSON report of an earlier run (errors name the file and the field)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError([Problem(str(path), 1, "-", f"cannot read: {exc}")]) from exc
    except json.JSONDecodeError as exc:
        raise InvalidInputError([Problem(str(path), exc.lineno, "-", f"JSON: {exc.msg}")]) from exc
    try:
        return AuditReport.model_validate(data)
    except ValidationError as exc:
        raise InvalidInputError(
            [
                Problem(str(path), 1, ".".join(map(str, e["loc"])) or "-", e["msg"])
                for e in exc.errors()[:10]
            ]
        ) from exc


def compare(previous: AuditReport, current: AuditReport, file: str) -> Baseline:
    """Every (host, control) whose status or blocking changed, appeared or disappeared."""
    before = {(h.host, r.control): r for h in previous.hosts for r in h.results}
    after = {(h.host, r.control): r for h in current.hosts for r in h.results}
    changes = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old and new and (old.status, old.blocking) == (new.status, new.blocking):
            continue
        direction: Literal["better", "worse", "changed", "new", "gone"]
        if old is None:
            direction = "new"
        elif new is None:
            direction = "gone"
        else:
            delta = (_RANK[new.status], new.blocking) > (_RANK[old.status], old.blocking)
            better = (_RANK[new.status], new.blocking) < (_RANK[old.status], old.blocking)
            direction = "worse" if delta else "better" if better else "changed"
        changes.append(
            Change(
                host=key[0],
                control=key[1],
                before=old.status if old else None,
                after=new.status if new else None,
                was_blocking=bool(old and old.blocking),
                is_blocking=bool(new and new.blocking),
                direction=direction,
            )
        )
    return Baseline(file=file, started_at=previous.started_at, changes=changes)
