"""Options and rendering shared by the commands."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from toolkit.errors import Problem, Severity
from toolkit.paths import inventory_dir

F = TypeVar("F", bound=Callable[..., Any])

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def inventory_options(func: F) -> F:
    """``--env NAME`` (inventories/NAME) or ``-i/--inventory DIR``; passes ``inventory``."""

    @click.option(
        "--env",
        "env",
        default="lab",
        show_default=True,
        envvar="TOOLKIT_ENV",
        help="Environment: a folder of inventories/.",
    )
    @click.option(
        "-i",
        "--inventory",
        "inventory_path",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Inventory folder to use instead of inventories/ENV.",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, env: str, inventory_path: Path | None, **kwargs: Any) -> Any:
        inventory = inventory_path.resolve() if inventory_path else inventory_dir(env)
        return func(*args, inventory=inventory, **kwargs)

    return wrapper  # type: ignore[return-value]


def print_problems(problems: list[Problem], console: Console = out) -> None:
    """One line a problem, ``FILE:LINE: field: message``; errors red, warnings yellow."""
    for p in sorted(problems):
        style = "yellow" if p.severity is Severity.WARNING else "red"
        console.print(str(p), style=style, markup=False)
