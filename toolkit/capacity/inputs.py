"""What a capacity plan reads: the activity profile (``data/profile.yml`` and its overrides),
the capacity the inventory declares (``group_vars/all/capacity.yml``) and the ceilings
``toolkit load`` measured (``<inventory>/capacity/ceilings.json``)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.errors import InvalidInputError, Problem
from toolkit.text import one_line, printable
from toolkit.yamlfile import load_model

DECLARED_FILE = Path("group_vars") / "all" / "capacity.yml"
CEILINGS_FILE = Path("capacity") / "ceilings.json"
PLATFORMS = ("vpn", "mail", "web", "video", "turn")
#: Largest ceilings file read back (a few platforms' figures, far below this).
MAX_CEILINGS_BYTES = 1_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _FigureData(_Strict):
    value: float = Field(ge=0)
    unit: str
    kind: Literal["published", "assumption"]
    source: str


class _ProfileData(_Strict):
    figures: dict[str, _FigureData]


@dataclass(frozen=True)
class Figure:
    """One figure of the activity profile, where its value comes from (``origin``: the
    project's data file, the inventory or the command line) and its published source."""

    name: str
    value: float
    unit: str
    kind: str
    source: str
    origin: str = "default"


class Internet(_Strict):
    """The administration's Internet connection (M3), as seen from the site."""

    down_mbps: float = Field(gt=0, description="Traffic from teleworkers into the site.")
    up_mbps: float = Field(gt=0, description="Traffic from the site out to teleworkers.")


class PlatformCapacity(_Strict):
    hosts: tuple[str, ...] = ()
    cores: int = Field(gt=0)
    memory_mb: int = Field(gt=0)


class Declared(_Strict):
    """``group_vars/all/capacity.yml``: the capacity the administration declares."""

    capacity_internet: Internet | None = None
    capacity_platforms: dict[Literal["vpn", "mail", "web", "video", "turn"], PlatformCapacity] = (
        Field(default_factory=dict)
    )
    capacity_profile: dict[str, float] = Field(default_factory=dict)


class Ceiling(_Strict):
    """The highest step of a ``toolkit load`` run that met its SLOs on one platform."""

    platform: str
    teleworkers: int = Field(ge=0, description="Simulated teleworkers of that step.")
    rates: dict[str, float] = Field(
        default_factory=dict, description="Operations per second at that step, by request."
    )
    p95_ms: float = Field(ge=0)
    error_rate: float = Field(ge=0, le=1)
    target: str
    measured_at: datetime


class Ceilings(_Strict):
    ceilings: dict[str, Ceiling] = Field(default_factory=dict)


def _figures_data() -> _ProfileData:
    text = resources.files("toolkit.capacity").joinpath("data/profile.yml").read_text("utf-8")
    return _ProfileData.model_validate(yaml.safe_load(text))


def load_profile(
    from_inventory: dict[str, float], from_cli: dict[str, float], inventory_file: str = ""
) -> dict[str, Figure]:
    """The profile's figures with the inventory's overrides, then the command line's."""
    figures = {
        name: Figure(name, f.value, f.unit, f.kind, one_line(f.source))
        for name, f in _figures_data().figures.items()
    }
    problems = []
    for origin, overrides in (("inventory", from_inventory), ("command line", from_cli)):
        for name, value in overrides.items():
            if name not in figures:
                where = inventory_file if origin == "inventory" else "--set"
                problems.append(
                    Problem(where, 0, name, f"unknown figure (known: {', '.join(sorted(figures))})")
                )
            elif not math.isfinite(value) or value < 0:
                problems.append(Problem(origin, 0, name, f"{value} is not a figure >= 0"))
            else:
                f = figures[name]
                figures[name] = Figure(name, value, f.unit, "override", f.source, origin)
    if problems:
        raise InvalidInputError(problems)
    return figures


def parse_overrides(items: tuple[str, ...]) -> dict[str, float]:
    """``NAME=VALUE`` pairs of ``--set``."""
    values: dict[str, float] = {}
    problems = []
    for item in items:
        name, sep, raw = item.partition("=")
        try:
            if not sep:
                raise ValueError
            values[name.strip()] = float(raw)
        except ValueError:
            problems.append(Problem("--set", 0, printable(item), "expected NAME=NUMBER"))
    if problems:
        raise InvalidInputError(problems)
    return values


def load_declared(inventory: Path) -> Declared:
    """The inventory's declared capacity; an inventory without the file declares nothing."""
    path = inventory / DECLARED_FILE
    return load_model(path, Declared) if path.is_file() else Declared()


def ceilings_path(inventory: Path) -> Path:
    return inventory / CEILINGS_FILE


def load_ceilings(inventory: Path) -> Ceilings:
    """Ceilings measured earlier; none when ``toolkit load`` never saved any."""
    path = ceilings_path(inventory)
    if not path.is_file():
        return Ceilings()
    if path.stat().st_size > MAX_CEILINGS_BYTES:
        raise InvalidInputError([Problem(str(path), 1, "-", "file too large for ceilings")])
    try:
        return Ceilings.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise InvalidInputError(
            [
                Problem(str(path), 1, ".".join(str(p) for p in e["loc"]) or "-", e["msg"])
                for e in exc.errors()
            ]
        ) from exc


def save_ceiling(inventory: Path, ceiling: Ceiling) -> Path:
    """Record ``ceiling`` for its platform (the others are kept) and return the file."""
    current = load_ceilings(inventory)
    merged = Ceilings(ceilings={**current.ceilings, ceiling.platform: ceiling})
    path = ceilings_path(inventory)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps(merged.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    tmp.replace(path)
    return path
