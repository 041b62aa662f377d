"""Backup-source declarations (/etc/telework/backup-sources.d/<role>.yml), checked before
anything runs: a bad file is one clear error naming the file and the field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$")


class SourceError(ValueError):
    """A declaration that cannot be used (the message names the file and the field)."""


@dataclass(frozen=True)
class Dump:
    file: str
    command: tuple[str, ...]


@dataclass(frozen=True)
class Source:
    name: str
    rpo_hours: float
    dumps: tuple[Dump, ...]
    paths: tuple[str, ...]
    declared_in: str

    def summary(self) -> dict[str, Any]:
        """The source as MANIFEST.json lists it."""
        return {
            "name": self.name,
            "rpo_hours": self.rpo_hours,
            "dumps": [dump.file for dump in self.dumps],
            "paths": list(self.paths),
        }


def _fail(origin: Path, field: str, why: str) -> SourceError:
    return SourceError(f"{origin}: {field}: {why}")


def _dump(origin: Path, index: int, raw: object) -> Dump:
    field = f"dumps[{index}]"
    if not isinstance(raw, dict) or set(raw) - {"file", "command"}:
        raise _fail(origin, field, "must be a mapping with only 'file' and 'command'")
    file, command = raw.get("file"), raw.get("command")
    if not isinstance(file, str) or not _FILE.match(file):
        raise _fail(origin, f"{field}.file", "must be a plain file name (letters, digits, _.+-)")
    if (
        not isinstance(command, list)
        or not command
        or not all(isinstance(arg, (str, int)) and str(arg) for arg in command)
    ):
        raise _fail(origin, f"{field}.command", "must be a non-empty list of arguments (argv)")
    return Dump(file=file, command=tuple(str(arg) for arg in command))


def _path(origin: Path, index: int, raw: object) -> str:
    if not isinstance(raw, str) or not raw.startswith("/") or "\n" in raw:
        raise _fail(origin, f"paths[{index}]", "must be an absolute path")
    path = PurePosixPath(raw)
    if ".." in path.parts or str(path) == "/":
        raise _fail(origin, f"paths[{index}]", "must not be / or contain '..'")
    return str(path)


def parse_source(origin: Path, text: str, default_rpo_hours: float) -> Source:
    """One declaration from its text; `origin` names it in errors."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _fail(origin, "file", f"not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise _fail(origin, "file", "must be a mapping (name, rpo_hours, dumps, paths)")
    unknown = set(raw) - {"name", "rpo_hours", "dumps", "paths"}
    if unknown:
        raise _fail(origin, ", ".join(sorted(map(str, unknown))), "unknown field")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail(origin, "name", "must be a lower-case name (letters, digits, _.-)")
    rpo = raw.get("rpo_hours", default_rpo_hours)
    if isinstance(rpo, bool) or not isinstance(rpo, (int, float)) or not 0 < rpo <= 8760:
        raise _fail(origin, "rpo_hours", "must be a number of hours between 0 and 8760")
    dumps_raw = raw.get("dumps") or []
    paths_raw = raw.get("paths") or []
    if not isinstance(dumps_raw, list):
        raise _fail(origin, "dumps", "must be a list")
    if not isinstance(paths_raw, list):
        raise _fail(origin, "paths", "must be a list")
    dumps = tuple(_dump(origin, index, item) for index, item in enumerate(dumps_raw))
    files = [dump.file for dump in dumps]
    if len(set(files)) != len(files):
        raise _fail(origin, "dumps", "two dumps write the same file")
    if not dumps and not paths_raw:
        raise _fail(origin, "file", "declares neither dumps nor paths")
    paths = tuple(_path(origin, index, item) for index, item in enumerate(paths_raw))
    return Source(name, float(rpo), dumps, paths, str(origin))


def load_sources(folder: Path, default_rpo_hours: float) -> list[Source]:
    """Every *.yml of the folder, sorted by file name; two files with one name are refused."""
    sources: list[Source] = []
    seen: dict[str, str] = {}
    for origin in sorted(folder.glob("*.yml")) if folder.is_dir() else []:
        source = parse_source(origin, origin.read_text(encoding="utf-8"), default_rpo_hours)
        if source.name in seen:
            raise _fail(
                origin, "name", f"'{source.name}' is already declared in {seen[source.name]}"
            )
        seen[source.name] = str(origin)
        sources.append(source)
    return sources
