"""The declared dumps, written as root-only files, and MANIFEST.json: the sha256 and size of
every file the archive must hold, which a restore drill checks the restored files against."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from telework_backup.sources import Source

log = logging.getLogger(__name__)

#: Most characters of a failed command's error output kept in status.json.
ERROR_CHARS = 300


class DumpError(RuntimeError):
    """A dump command failed (or timed out); its file is removed, never left half written."""


def one_line(text: str, limit: int = ERROR_CHARS) -> str:
    """The last non-empty line of a program's output, printable and bounded."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    clean = "".join(ch if ch.isprintable() else "?" for ch in last)
    return clean[:limit]


def run_dump(
    source: Source, file: str, command: tuple[str, ...], folder: Path, timeout: float
) -> Path:
    """Run one dump command as the wrapper's user (root), its output to folder/file (0600)."""
    target = folder / file
    partial = folder / f".{file}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            proc = subprocess.run(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.PIPE,
                timeout=timeout,
                check=False,
            )
    except (OSError, subprocess.TimeoutExpired) as exc:
        partial.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        raise DumpError(f"dump {source.name}/{file}: {one_line(str(exc))}") from None
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        why = one_line(proc.stderr.decode("utf-8", "replace")) or "no error output"
        raise DumpError(f"dump {source.name}/{file}: {command[0]} exited {proc.returncode}: {why}")
    partial.replace(target)
    return target


def write_dumps(sources: Iterable[Source], dumps_dir: Path, timeout: float) -> list[str]:
    """Every declared dump under dumps_dir/<name>/<file>; the folders of sources no longer
    declared go. Returns the errors (the other dumps and the paths are still backed up)."""
    sources = list(sources)
    dumps_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(dumps_dir, 0o700)
    names = {source.name for source in sources}
    for entry in dumps_dir.iterdir():
        if entry.is_dir() and not entry.is_symlink() and entry.name not in names:
            shutil.rmtree(entry)
    errors: list[str] = []
    for source in sources:
        folder = dumps_dir / source.name
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
        wanted = {dump.file for dump in source.dumps}
        for entry in folder.iterdir():
            if entry.name not in wanted:
                entry.unlink() if not entry.is_dir() or entry.is_symlink() else shutil.rmtree(entry)
        for dump in source.dumps:
            try:
                run_dump(source, dump.file, dump.command, folder, timeout)
            except DumpError as exc:
                log.error("%s", exc)
                errors.append(str(exc))
    return errors


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def excluded(path: str, excludes: Iterable[str]) -> bool:
    return any(path == item or path.startswith(item.rstrip("/") + "/") for item in excludes)


def regular_files(roots: Iterable[str], excludes: Iterable[str]) -> list[Path]:
    """Every regular file (not a link) under the roots, in path order, without the excluded."""
    excludes = list(excludes)
    found: set[Path] = set()
    for root in roots:
        top = Path(root)
        if top.is_file() and not top.is_symlink():
            if not excluded(str(top), excludes):
                found.add(top)
            continue
        for folder, subdirs, files in os.walk(top):
            subdirs[:] = [d for d in subdirs if not excluded(os.path.join(folder, d), excludes)]
            for name in files:
                path = Path(folder, name)
                if not path.is_symlink() and path.is_file() and not excluded(str(path), excludes):
                    found.add(path)
    return sorted(found)


def build_manifest(
    host: str, created: str, sources: list[Source], dumps_dir: Path, excludes: list[str]
) -> dict[str, Any]:
    dump_files = [
        dumps_dir / source.name / dump.file
        for source in sources
        for dump in source.dumps
        if (dumps_dir / source.name / dump.file).is_file()
    ]
    paths = [path for source in sources for path in source.paths]
    files = sorted(set(dump_files) | set(regular_files(paths, excludes)))
    entries = []
    for path in files:
        try:
            entries.append(
                {"path": str(path), "sha256": sha256_of(path), "size": path.stat().st_size}
            )
        except OSError as exc:  # gone between the walk and the read
            log.warning("not in the manifest: %s (%s)", path, exc.strerror)
    return {
        "host": host,
        "created": created,
        "sources": [source.summary() for source in sources],
        "files": entries,
    }


def write_json(path: Path, data: dict[str, Any], mode: int) -> None:
    """Atomically: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1, sort_keys=True)
        out.write("\n")
    os.chmod(partial, mode)
    partial.replace(path)


def write_patterns(path: Path, roots: Iterable[str], excludes: Iterable[str]) -> None:
    """Borg's patterns file: one root (R) per declared path, then the excluded paths (-)."""
    lines = [f"R {root}" for root in sorted(set(roots))]
    lines += [f"- {item}" for item in excludes]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
