"""Where the project's files are: the repository (inventories, playbooks) and caches."""

from __future__ import annotations

import os
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode

_MARKERS = ("ansible.cfg", "playbooks", "inventories")


def project_root() -> Path:
    """The checkout the toolkit works in: ``$TOOLKIT_PROJECT_DIR``, else the nearest parent
    of the working directory, else of this package, that holds ansible.cfg, playbooks/ and
    inventories/."""
    env = os.environ.get("TOOLKIT_PROJECT_DIR")
    if env:
        return Path(env).resolve()
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for candidate in (start, *start.parents):
            if all((candidate / m).exists() for m in _MARKERS):
                return candidate
    raise ToolkitError(
        "cannot find the telework-toolkit checkout (a folder with ansible.cfg, playbooks/ "
        "and inventories/); run from inside it or set TOOLKIT_PROJECT_DIR"
    )


def inventory_dir(env: str) -> Path:
    """``inventories/<env>/`` of the checkout; an error naming the known environments."""
    base = project_root() / "inventories"
    path = base / env
    if not path.is_dir():
        known = sorted(p.name for p in base.iterdir() if p.is_dir())
        raise ToolkitError(
            f"--env {env}: no such environment {path} (known: {', '.join(known)})",
            exit_code=ExitCode.USAGE,
        )
    return path


def cache_dir() -> Path:
    """Machine-wide cache shared by every checkout, lab and test container (apt downloads,
    debootstrap packages): ``$TOOLKIT_CACHE_DIR`` or ``$XDG_CACHE_HOME/telework-toolkit``."""
    env = os.environ.get("TOOLKIT_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "telework-toolkit"
