"""Canned status.json and drill evidence files as the backup role and the drill write them
(docs/backup.md, contracts 3 and 4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def status(host: str = "directory", *, hours_ago: float = 2, **over: Any) -> dict[str, Any]:
    """A client's status.json after a successful run ``hours_ago`` hours before NOW."""
    when = NOW - timedelta(hours=hours_ago)
    data: dict[str, Any] = {
        "host": host,
        "repository": f"ssh://borg@backup/srv/backup/{host}",
        "backup_server": "backup",
        "last_attempt": iso(when),
        "last_success": iso(when),
        "result": "ok",
        "archive": f"{host}-{when:%Y-%m-%dT%H:%M:%S}",
        "duration_seconds": 12.3,
        "error": "",
        "sources": [{"name": "directory", "rpo_hours": 24}, {"name": "system", "rpo_hours": 24}],
        "append_only": True,
        "encryption": "repokey-blake2",
        "check_last": None,
    }
    data.update(over)
    return data


def drill(host: str = "directory", *, days_ago: float = 3, **over: Any) -> dict[str, Any]:
    """The evidence of a passed drill ``days_ago`` days before NOW."""
    started = NOW - timedelta(days=days_ago)
    data: dict[str, Any] = {
        "host": host,
        "archive": f"{host}-2026-11-20T02:00:00",
        "started": iso(started),
        "finished": iso(started + timedelta(seconds=95)),
        "rto_seconds": 42.5,
        "result": "passed",
        "checks": [{"name": "ldap entries", "passed": True, "detail": "12 of 12"}],
        "files_verified": 57,
        "mismatches": [],
    }
    data.update(over)
    return data


def raw(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()
