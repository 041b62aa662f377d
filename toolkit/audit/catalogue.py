"""The audit's data: controls, profiles and the requirement clauses they cite (``audits/``).

``audits/requirements.yml``  clause ID -> text (the project's requirements catalogue);
``audits/controls/*.yml``    one entry per control ID of the control catalogue;
``audits/profiles/*.yml``    per inventory group: which controls, parameter overrides,
                             the TLS and HTTP ports to probe.

Every file is validated with FILE:LINE: field messages; a control citing an unknown
clause, a profile naming an unknown control or parameter, or a control without an
implementation is refused before anything is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from toolkit.errors import InvalidInputError, Problem
from toolkit.yamlfile import _line_of, load_model

CONTROL_ID = re.compile(r"^[A-Z]{2,5}-\d{2}$")
CLAUSE_ID = re.compile(r"^[CAEM]\d{1,2}$")
ParamValue = bool | int | float | str | list[Any] | dict[str, Any]


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)

    def at_least(self, other: Severity) -> bool:
        """True when this severity is ``other`` or more severe."""
        return self.rank <= other.rank


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ControlSpec(_Strict):
    title: str = Field(min_length=3)
    rationale: str = Field(min_length=3)
    severity: Severity
    guide: list[str] = Field(min_length=1)
    refs: list[str] = Field(default_factory=list)
    groups: list[str] = Field(min_length=1)
    params: dict[str, ParamValue] = Field(default_factory=dict)

    @field_validator("guide")
    @classmethod
    def _clause_ids(cls, value: list[str]) -> list[str]:
        bad = [c for c in value if not CLAUSE_ID.match(c)]
        if bad:
            raise ValueError(f"not clause IDs like C3 or M7: {', '.join(bad)}")
        return value


class ControlsFile(_Strict):
    controls: dict[str, ControlSpec]

    @field_validator("controls")
    @classmethod
    def _ids(cls, value: dict[str, ControlSpec]) -> dict[str, ControlSpec]:
        bad = [c for c in value if not CONTROL_ID.match(c)]
        if bad:
            raise ValueError(f"control IDs look like LNX-03: {', '.join(bad)}")
        return value


class ProfileFile(_Strict):
    description: str
    groups: list[str] = Field(min_length=1)
    controls: list[str] = Field(default_factory=list)
    params: dict[str, dict[str, ParamValue]] = Field(default_factory=dict)
    tls_ports: list[int] = Field(default_factory=list)
    http_ports: list[int] = Field(default_factory=list)


class RequirementsFile(_Strict):
    requirements: dict[str, str]


@dataclass(frozen=True)
class Control:
    id: str
    spec: ControlSpec
    source: str

    @property
    def severity(self) -> Severity:
        return self.spec.severity


@dataclass(frozen=True)
class Profile:
    name: str
    spec: ProfileFile
    source: str


@dataclass(frozen=True)
class Catalogue:
    root: Path
    requirements: dict[str, str]
    controls: dict[str, Control]
    profiles: tuple[Profile, ...]  # in file-name order: a later one overrides parameters


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.yml") if p.is_file())


def yaml_line(path: Path, loc: tuple[int | str, ...]) -> int:
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return 1
    return _line_of(node, loc)


def check_param(name: str, value: Any, default: Any) -> str | None:
    """Why an override of parameter ``name`` is refused (None when it is fine): it must
    have the type of the parameter's default."""
    kinds: tuple[type, ...] = (int, float) if isinstance(default, float) else (type(default),)
    if isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, kinds):
        return f"{name} must be a {type(default).__name__} like its default {default!r}"
    return None


def _problem(path: Path, loc: tuple[int | str, ...], message: str) -> Problem:
    return Problem(str(path), yaml_line(path, loc), ".".join(map(str, loc)), message)


def _load_controls(
    root: Path, requirements: dict[str, str], implemented: frozenset[str] | None
) -> tuple[dict[str, Control], list[Problem]]:
    controls: dict[str, Control] = {}
    problems: list[Problem] = []
    for path in _yaml_files(root / "controls"):
        try:
            data = load_model(path, ControlsFile)
        except InvalidInputError as exc:
            problems += exc.problems
            continue
        for cid, spec in data.controls.items():
            if cid in controls:
                problems.append(
                    _problem(path, ("controls", cid), f"already in {controls[cid].source}")
                )
            problems += [
                _problem(path, ("controls", cid, "guide"), f"{c} is not in requirements.yml")
                for c in spec.guide
                if c not in requirements
            ]
            if implemented is not None and cid not in implemented:
                problems.append(
                    _problem(
                        path,
                        ("controls", cid),
                        "no implementation in toolkit/controls/ (@control decorator)",
                    )
                )
            controls[cid] = Control(cid, spec, str(path))
    if implemented is not None:
        problems += [
            Problem(str(root / "controls"), 1, cid, "implemented but defined in no file")
            for cid in sorted(implemented - set(controls))
        ]
    return controls, problems


def _profile_problems(path: Path, prof: ProfileFile, controls: dict[str, Control]) -> list[Problem]:
    problems = [
        _problem(path, ("controls", i), f"unknown control {cid}")
        for i, cid in enumerate(prof.controls)
        if cid not in controls
    ]
    for cid, params in prof.params.items():
        if cid not in prof.controls or cid not in controls:
            problems.append(
                _problem(path, ("params", cid), "parameters for a control the profile lacks")
            )
            continue
        defaults = controls[cid].spec.params
        for name, value in params.items():
            loc: tuple[int | str, ...] = ("params", cid, name)
            if name not in defaults:
                known = ", ".join(sorted(defaults)) or "none"
                problems.append(_problem(path, loc, f"{cid} has no parameter {name} ({known})"))
            elif why := check_param(name, value, defaults[name]):
                problems.append(_problem(path, loc, why))
    return problems


def load_catalogue(root: Path, implemented: frozenset[str] | None = None) -> Catalogue:
    """Read and cross-check ``root`` (the audits/ folder). ``implemented`` is the set of
    control IDs that have code; every control must have one, and only those."""
    requirements = load_model(root / "requirements.yml", RequirementsFile).requirements
    controls, problems = _load_controls(root, requirements, implemented)
    profiles: list[Profile] = []
    for path in _yaml_files(root / "profiles"):
        try:
            prof = load_model(path, ProfileFile)
        except InvalidInputError as exc:
            problems += exc.problems
            continue
        problems += _profile_problems(path, prof, controls)
        profiles.append(Profile(path.stem, prof, str(path)))
    if problems:
        raise InvalidInputError(problems)
    return Catalogue(root, requirements, controls, tuple(profiles))
