"""Where the project's files are: the checkout (inventories, playbooks, ansible.cfg) when
there is one, else the working directory and the installed collection; and caches.

In a checkout (``$TOOLKIT_PROJECT_DIR``, or found above the working directory) everything
is as it always was. Outside one (the wheel installed elsewhere):

- ``--env NAME`` is ``./inventories/NAME`` of the working directory; ``-i DIR`` works anywhere;
- playbooks come from the installed collection: ``playbooks/site.yml`` is run as
  ``telework.toolkit.site`` (a path to an existing playbook file is run as it is);
- Ansible's settings: ``$ANSIBLE_CONFIG``, else ``./ansible.cfg``, else the ``ansible.cfg``
  packaged with the toolkit (the collection's roster plugin enabled, roster.csv not an
  inventory source);
- logs of ansible-playbook runs go under :func:`cache_dir`.
"""

from __future__ import annotations

import logging
import os
from importlib.resources import files
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode

log = logging.getLogger(__name__)

_MARKERS = ("ansible.cfg", "playbooks", "inventories")
#: The Ansible collection the roles, plugins and playbooks are installed as.
COLLECTION = "telework.toolkit"
#: Ansible settings used outside a checkout when neither $ANSIBLE_CONFIG nor ./ansible.cfg.
PACKAGED_ANSIBLE_CFG = Path(str(files("toolkit").joinpath("ansible.cfg")))


def inventory_path(value: str, inventory: Path) -> Path:
    """A path an inventory names (a probe's password file, a CA file, ``*_path`` audit
    parameters): absolute as written, else from the inventory folder, never from the
    working directory."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (inventory / path).resolve()


def find_project_root() -> Path | None:
    """The checkout the toolkit works in: ``$TOOLKIT_PROJECT_DIR``, else the nearest parent
    of the working directory, else of this package, that holds ansible.cfg, playbooks/ and
    inventories/; None when there is none (the toolkit is installed outside one)."""
    env = os.environ.get("TOOLKIT_PROJECT_DIR")
    if env:
        return Path(env).resolve()
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for candidate in (start, *start.parents):
            if all((candidate / m).exists() for m in _MARKERS):
                return candidate
    return None


def project_root() -> Path:
    """:func:`find_project_root`, or an error saying how to name one."""
    root = find_project_root()
    if root is None:
        raise ToolkitError(
            "cannot find the telework-toolkit checkout (a folder with ansible.cfg, playbooks/ "
            "and inventories/); run from inside it or set TOOLKIT_PROJECT_DIR (outside a "
            "checkout, name folders explicitly: -i DIR, --audits DIR, --output DIR)"
        )
    return root


def work_dir() -> Path:
    """Where Ansible runs: the checkout, else the working directory."""
    return find_project_root() or Path.cwd()


def inventory_dir(env: str) -> Path:
    """``inventories/<env>/`` of the checkout (else of the working directory); an error
    naming the known environments."""
    base = work_dir() / "inventories"
    path = base / env
    if not path.is_dir():
        known = sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
        raise ToolkitError(
            f"--env {env}: no such environment {path} (known: {', '.join(known) or 'none'}; "
            "or name an inventory folder with -i DIR)",
            exit_code=ExitCode.USAGE,
        )
    return path


def ansible_config() -> Path | None:
    """The ansible.cfg the toolkit runs Ansible with: the checkout's; outside one,
    ``./ansible.cfg`` or the packaged one unless ``$ANSIBLE_CONFIG`` is set (None: keep it)."""
    root = find_project_root()
    if root is not None:
        return root / "ansible.cfg"
    if os.environ.get("ANSIBLE_CONFIG"):
        return None
    local = Path.cwd() / "ansible.cfg"
    return local if local.is_file() else PACKAGED_ANSIBLE_CFG


def playbook_target(playbook: str) -> str:
    """What ansible-playbook is given for ``playbook`` (``playbooks/<name>.yml``): the
    checkout's file; outside one, an existing file as it is, else the installed
    collection's playbook ``telework.toolkit.<name>``."""
    root = find_project_root()
    if root is not None:
        return str(root / playbook)
    path = Path(playbook)
    if path.is_file():
        return str(path.resolve())
    name = path.name.removesuffix(".yml").removesuffix(".yaml")
    log.debug("no checkout: running playbook %s from the collection %s", name, COLLECTION)
    return f"{COLLECTION}.{name}"


def plugin_name(name: str) -> str:
    """A plugin of plugins/ as Ansible knows it: its short name in the checkout (ansible.cfg
    names the folders), its collection name outside one."""
    return name if find_project_root() is not None else f"{COLLECTION}.{name}"


def log_dir(kind: str) -> Path:
    """Folder for the logs of ``kind`` (e.g. provision): the checkout's ``.cache/<kind>``,
    else ``<cache_dir>/<kind>``."""
    root = find_project_root()
    return (root / ".cache" if root is not None else cache_dir()) / kind


def cache_dir() -> Path:
    """Machine-wide cache shared by every checkout, lab and test container (apt downloads,
    debootstrap packages): ``$TOOLKIT_CACHE_DIR`` or ``$XDG_CACHE_HOME/telework-toolkit``."""
    env = os.environ.get("TOOLKIT_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "telework-toolkit"
