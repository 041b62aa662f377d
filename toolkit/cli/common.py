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
from toolkit.secrets import VAULT_PASSWORD_ENV, use_vault_password_file

F = TypeVar("F", bound=Callable[..., Any])

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def inventory_flags(func: F) -> F:
    """``--env NAME`` and ``-i/--inventory DIR`` as they are given (``env``,
    ``inventory_path``); :func:`resolve_inventory` turns them into a folder when needed.
    ``--vault-password-file FILE`` is passed to every Ansible command of the run."""
    func = click.option(
        "--vault-password-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        envvar=VAULT_PASSWORD_ENV,
        expose_value=False,
        callback=lambda _ctx, _param, value: use_vault_password_file(value),
        help="File holding the Ansible Vault password of the environment's vaulted "
        "secrets (group_vars/all/vault.yml); never kept in the repository.",
    )(func)
    func = click.option(
        "-i",
        "--inventory",
        "inventory_path",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Inventory folder to use instead of inventories/ENV.",
    )(func)
    return click.option(
        "--env",
        "env",
        default="lab",
        show_default=True,
        envvar="TOOLKIT_ENV",
        help="Environment: a folder of inventories/.",
    )(func)


def resolve_inventory(env: str, inventory_path: Path | None) -> Path:
    """The inventory folder: ``-i DIR``, else inventories/ENV."""
    return inventory_path.resolve() if inventory_path else inventory_dir(env)


def inventory_options(func: F) -> F:
    """``--env NAME`` (inventories/NAME) or ``-i/--inventory DIR``; passes ``inventory``."""

    @inventory_flags
    @functools.wraps(func)
    def wrapper(*args: Any, env: str, inventory_path: Path | None, **kwargs: Any) -> Any:
        return func(*args, inventory=resolve_inventory(env, inventory_path), **kwargs)

    return wrapper  # type: ignore[return-value]


def print_problems(problems: list[Problem], console: Console = out) -> None:
    """One line a problem, ``FILE:LINE: field: message``; errors red, warnings yellow."""
    for p in sorted(problems):
        style = "yellow" if p.severity is Severity.WARNING else "red"
        console.print(str(p), style=style, markup=False)
