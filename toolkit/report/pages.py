"""What the steering reports (attendance, indicators) share: the period they cover, the
clause texts they cite, the Jinja environment of the audit report's templates (same look,
same English/French/Arabic headings) and writing a file atomically."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from toolkit.audit.catalogue import RequirementsFile
from toolkit.paths import find_project_root
from toolkit.yamlfile import load_model

ENV = Environment(
    loader=PackageLoader("toolkit.report", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
#: Longest period one report covers.
MAX_PERIOD_DAYS = 366


class PeriodError(ValueError):
    """The period text is not one of the documented forms."""


def parse_period(text: str) -> tuple[date, date]:
    """``YYYY-MM-DD``, ``YYYY-MM-DD..YYYY-MM-DD``, ``YYYY-Www`` (ISO week) or ``YYYY-MM``;
    first and last day, inclusive."""
    value = text.strip()
    try:
        if match := _RANGE.match(value):
            first, last = date.fromisoformat(match[1]), date.fromisoformat(match[2])
        elif match := _WEEK.match(value):
            first = date.fromisocalendar(int(match[1]), int(match[2]), 1)
            last = first + timedelta(days=6)
        elif match := _MONTH.match(value):
            first = date(int(match[1]), int(match[2]), 1)
            last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        else:
            first = last = date.fromisoformat(value)
    except ValueError:
        raise PeriodError(
            f"{value[:40]!r} is not a period: YYYY-MM-DD, YYYY-MM-DD..YYYY-MM-DD, YYYY-Www "
            "or YYYY-MM"
        ) from None
    if last < first:
        raise PeriodError(f"{value} runs backwards")
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise PeriodError(f"{value} is longer than {MAX_PERIOD_DAYS} days")
    return first, last


def clause_texts(ids: tuple[str, ...], audits: Path | None = None) -> dict[str, str]:
    """Each clause ID with its text from ``audits/requirements.yml`` (the ID alone when the
    catalogue cannot be found, outside a checkout)."""
    root = audits or ((find_project_root() or Path.cwd()) / "audits")
    path = root / "requirements.yml"
    known = load_model(path, RequirementsFile).requirements if path.is_file() else {}
    return {i: known.get(i, "") for i in ids}


def render(template: str, **context: Any) -> str:
    return ENV.get_template(template).render(**context)


def write_atomically(path: Path, text: str, mode: int = 0o600) -> Path:
    """Write ``text`` to ``path`` through a temporary file (mode 0600 by default: reports
    hold personal data, A3)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_bytes_private(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` (mode 0600) through a temporary file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
