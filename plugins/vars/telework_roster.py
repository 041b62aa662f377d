"""Ansible vars plugin: the validated teleworker roster as the variable ``telework_roster``.

Reads ``roster.csv`` beside the inventory's hosts file, checks it against
``group_vars/all/telework.yml`` with the toolkit's own validator, and gives group ``all``
the list of teleworkers (every column, devices and VPN groups as lists). An invalid roster
stops Ansible before anything is applied, with every problem as FILE:LINE: field: message
(a file too big, a quote never closed or a hostile character included: never a traceback).

In the checkout it is enabled as ``telework_roster`` (ansible.cfg); from the installed
collection as ``telework.toolkit.telework_roster``. It imports the ``toolkit`` Python
package, so the telework-toolkit wheel must be installed in the Python that runs Ansible.
Loaded from the collection, it also makes the plugins its roles keep beside their tasks
(``roles/<role>/filter_plugins/``) visible by their short names, as Ansible does for roles
outside a collection: the roles call them so, in the checkout and in the collection.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleParserError
from ansible.inventory.group import Group
from ansible.plugins.loader import add_all_plugin_dirs
from ansible.plugins.vars import BaseVarsPlugin

DOCUMENTATION = """
    name: telework_roster
    short_description: the teleworker roster of the inventory, validated
    description:
      - Loads roster.csv next to the inventory source and validates it against
        group_vars/all/telework.yml; sets telework_roster on group all.
    options:
      stage:
        ini:
          - key: stage
            section: vars_telework_roster_plugin
        env:
          - name: ANSIBLE_VARS_PLUGIN_STAGE
"""

_CACHE: dict[tuple[str, float, float], list[dict[str, Any]]] = {}
#: Loaded from an installed collection (``ansible_collections.telework.toolkit...``).
IN_COLLECTION = __name__.startswith("ansible_collections.")
#: The roles of the collection this file belongs to.
COLLECTION_ROLES = Path(__file__).resolve().parent.parent.parent / "roles"
NO_TOOLKIT = (
    "the telework_roster vars plugin needs the telework-toolkit Python package in the "
    "Python that runs Ansible ({python}): pip install telework_toolkit-*.whl into it ({exc})"
)


def add_role_plugin_dirs(roles: Path = COLLECTION_ROLES) -> list[Path]:
    """Add each role's plugin folders (filter_plugins/, ...) to Ansible's plugin search
    path; the folders of the roles that were looked at."""
    folders = sorted(p for p in roles.iterdir() if p.is_dir()) if roles.is_dir() else []
    for folder in folders:
        add_all_plugin_dirs(str(folder))
    return folders


def _roster_vars(inventory: Path) -> list[dict[str, Any]] | None:
    try:
        from toolkit.errors import ToolkitError  # noqa: PLC0415 (only when a roster exists)
        from toolkit.roster import load_environment_roster  # noqa: PLC0415
        from toolkit.roster.parse import ROSTER_FILE  # noqa: PLC0415
        from toolkit.roster.reference import REFERENCE_FILE  # noqa: PLC0415
    except ImportError as exc:
        raise AnsibleParserError(NO_TOOLKIT.format(python=sys.executable, exc=exc)) from exc

    roster, reference = inventory / ROSTER_FILE, inventory / REFERENCE_FILE
    if not roster.exists():
        return None
    key = (
        str(inventory),
        roster.stat().st_mtime,
        reference.stat().st_mtime if reference.exists() else 0.0,
    )
    if key not in _CACHE:
        try:
            loaded = load_environment_roster(inventory)
        except ToolkitError as exc:  # every bad file is one (never a traceback)
            raise AnsibleParserError(f"invalid roster, nothing applied:\n{exc}") from exc
        _CACHE[key] = [t.as_vars() for t in loaded.teleworkers]
    return _CACHE[key]


class VarsModule(BaseVarsPlugin):  # type: ignore[misc]
    is_stateless = True

    def get_vars(self, loader: Any, path: str, entities: Any, cache: bool = True) -> dict[str, Any]:
        if not isinstance(entities, list):
            entities = [entities]
        super().get_vars(loader, path, entities)
        if not any(isinstance(e, Group) and e.name == "all" for e in entities):
            return {}
        base = Path(path if os.path.isdir(path) else os.path.dirname(path))
        rows = _roster_vars(base)
        return {} if rows is None else {"telework_roster": rows}


if IN_COLLECTION:
    add_role_plugin_dirs()
else:
    # A plugin of a vars_plugins folder runs only when enabled by name; in a collection
    # that is always so, and Ansible warns about the attribute.
    VarsModule.REQUIRES_ENABLED = True
