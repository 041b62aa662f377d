"""One backup run: dumps, manifest, borgmatic (create, prune, checks when due), status.json.

status.json is written after every run, success or failure, and holds no secret."""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telework_backup.dumps import (
    build_manifest,
    one_line,
    write_dumps,
    write_json,
    write_patterns,
)
from telework_backup.sources import SourceError, load_sources

log = logging.getLogger(__name__)

Runner = Callable[..., "subprocess.CompletedProcess[str]"]

#: Lines of borgmatic's output that say nothing about the cause of a failure.
_GENERIC = ("summary:", "an error occurred", "need some help", "error running configuration")


@dataclass(frozen=True)
class Settings:
    """/etc/telework/backup.json, written by the role."""

    host: str
    repository: str
    backup_server: str
    encryption: str
    append_only: bool
    rpo_hours: float
    sources_dir: Path
    dumps_dir: Path
    patterns_file: Path
    status_file: Path
    borgmatic: tuple[str, ...]
    excludes: tuple[str, ...]
    check_days: float
    dump_timeout: float
    borg_timeout: float

    @classmethod
    def load(cls, path: Path) -> Settings:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            host=str(raw["host"]),
            repository=str(raw["repository"]),
            backup_server=str(raw["backup_server"]),
            encryption=str(raw["encryption"]),
            append_only=bool(raw["append_only"]),
            rpo_hours=float(raw["rpo_hours"]),
            sources_dir=Path(raw["sources_dir"]),
            dumps_dir=Path(raw["dumps_dir"]),
            patterns_file=Path(raw["patterns_file"]),
            status_file=Path(raw["status_file"]),
            borgmatic=tuple(str(arg) for arg in raw["borgmatic"]),
            excludes=tuple(str(item) for item in raw.get("excludes", [])),
            check_days=float(raw["check_days"]),
            dump_timeout=float(raw["dump_timeout"]),
            borg_timeout=float(raw["borg_timeout"]),
        )


class BorgmaticError(RuntimeError):
    pass


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def failure_line(output: str) -> str:
    """The line of borgmatic's output that names the cause (borg's own error when it gave one)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    useful = [line for line in lines if not line.lower().startswith(_GENERIC)]
    useful = [line for line in useful if not any(word in line.lower() for word in _GENERIC)]
    for line in useful:
        lower = line.lower()
        if "incorrect" in lower or "error" in lower or "denied" in lower or "refused" in lower:
            return one_line(line)
    return one_line("\n".join(useful or lines)) or "borgmatic failed without saying why"


def borgmatic(settings: Settings, action: list[str], runner: Runner) -> str:
    argv = [*settings.borgmatic, *action]
    log.info("running %s", " ".join(argv))
    try:
        proc = runner(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=settings.borg_timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BorgmaticError(f"borgmatic {action[0]}: {one_line(str(exc))}") from None
    if proc.stderr:
        log.info("%s", proc.stderr.rstrip())
    if proc.returncode != 0:
        why = failure_line(proc.stderr + "\n" + proc.stdout)
        raise BorgmaticError(f"borgmatic {action[0]} exited {proc.returncode}: {why}")
    return str(proc.stdout)


def archive_name(create_json: str) -> str:
    """The archive borgmatic create --json made (a list of one result per repository)."""
    try:
        data: Any = json.loads(create_json)
    except json.JSONDecodeError:
        return ""
    if isinstance(data, list):
        data = data[0] if data else {}
    archive = data.get("archive", {}) if isinstance(data, dict) else {}
    return str(archive.get("name", "")) if isinstance(archive, dict) else ""


def read_status(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def run_backup(
    settings: Settings,
    runner: Runner = subprocess.run,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    """Run once; write and return the status. Never raises for a failed backup."""
    started, clock = now(), time.monotonic()
    previous = read_status(settings.status_file)
    status: dict[str, Any] = {
        "host": settings.host,
        "repository": settings.repository,
        "backup_server": settings.backup_server,
        "last_attempt": iso(started),
        "last_success": previous.get("last_success"),
        "result": "failed",
        "archive": "",
        "duration_seconds": 0.0,
        "error": "",
        "sources": [],
        "append_only": settings.append_only,
        "encryption": settings.encryption,
        "check_last": previous.get("check_last"),
    }
    errors: list[str] = []
    try:
        sources = load_sources(settings.sources_dir, settings.rpo_hours)
        status["sources"] = [{"name": s.name, "rpo_hours": s.rpo_hours} for s in sources]
        if not sources:
            raise SourceError(f"{settings.sources_dir}: no backup source is declared")
        errors += write_dumps(sources, settings.dumps_dir, settings.dump_timeout)
        excludes = list(settings.excludes)
        manifest = build_manifest(
            settings.host, iso(started), sources, settings.dumps_dir, excludes
        )
        write_json(settings.dumps_dir / "MANIFEST.json", manifest, 0o600)
        roots = [path for source in sources for path in source.paths]
        present = [root for root in roots if Path(root).exists()]
        for root in sorted(set(roots) - set(present)):
            log.warning("declared path %s does not exist: nothing to back up there", root)
        write_patterns(settings.patterns_file, present, excludes)
        status["archive"] = archive_name(borgmatic(settings, ["create", "--json"], runner))
        borgmatic(settings, ["prune"], runner)
        last_check = parse_iso(status["check_last"])
        if last_check is None or started - last_check >= timedelta(days=settings.check_days):
            borgmatic(settings, ["check"], runner)
            status["check_last"] = iso(now())
    except (SourceError, BorgmaticError, OSError) as exc:
        log.error("%s", exc)
        errors.append(one_line(str(exc)))
    status["duration_seconds"] = round(time.monotonic() - clock, 1)
    if errors:
        status["error"] = "; ".join(errors)[:600]
    else:
        status["result"] = "ok"
        status["last_success"] = iso(started)
    write_json(settings.status_file, status, 0o644)
    return status
