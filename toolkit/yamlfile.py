"""YAML files validated with pydantic, with errors that name the file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from toolkit.errors import InvalidInputError, Problem

M = TypeVar("M", bound=BaseModel)


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int:
    """1-based line of the deepest node that ``loc`` reaches in a composed YAML tree."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == str(part):
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def load_model(path: Path, model: type[M]) -> M:
    """Read ``path`` as YAML and validate it into ``model``; every problem is reported as
    ``FILE:LINE: field: message`` in one InvalidInputError."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInputError(
            [Problem(str(path), 1, "-", f"cannot read: {exc.strerror}")]
        ) from exc
    except UnicodeDecodeError as exc:
        raise InvalidInputError([Problem(str(path), 1, "-", "not UTF-8 text")]) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise InvalidInputError([Problem(str(path), line, "-", f"YAML: {exc.problem}")]) from exc
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            name = ".".join(str(p) for p in loc) or "-"
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(Problem(str(path), _line_of(node, loc), name, msg))
        raise InvalidInputError(problems) from exc
