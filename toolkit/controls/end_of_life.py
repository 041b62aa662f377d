"""The end-of-life table (audits/end_of_life.yml): when each OS release stops getting
security updates. LNX-02 and VPN-01 both judge a host's release against it, through
:func:`support_end`; the file states its sources and the date it was checked."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from toolkit.audit.model import ControlError
from toolkit.errors import InvalidInputError
from toolkit.paths import project_root
from toolkit.yamlfile import load_model

__all__ = ["EndOfLife", "load", "support_end", "table_path"]


class EndOfLife(BaseModel):
    """audits/end_of_life.yml: ``releases`` maps an os-release ID, then VERSION_ID, to
    the last day of security support."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=3)
    checked: date
    releases: dict[str, dict[str, date]] = Field(min_length=1)


def table_path() -> Path:
    """The checkout's table (beside the control catalogue)."""
    return project_root() / "audits" / "end_of_life.yml"


@lru_cache(maxsize=4)
def load(path: Path) -> EndOfLife:
    """The table of ``path``, read once a process; InvalidInputError (FILE:LINE: field)
    when it is malformed."""
    return load_model(path, EndOfLife)


def support_end(distro: str, version: str, path: Path | None = None) -> date | None:
    """The last day of security support of ``distro`` ``version`` (os-release ID and
    VERSION_ID), or None when the table does not list it. A malformed table is the
    asking control's error."""
    try:
        table = load(path or table_path())
    except InvalidInputError as exc:
        raise ControlError(f"end-of-life table: {exc}") from exc
    return table.releases.get(distro, {}).get(version)
