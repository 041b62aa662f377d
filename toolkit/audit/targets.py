"""From an Ansible inventory to audit plans: which hosts, how to reach them, which
controls with which parameters.

How a host is reached comes from its inventory variables, as Ansible would use them:
``ansible_host``, ``ansible_port``, ``ansible_user``, ``ansible_ssh_private_key_file``
and ``-o UserKnownHostsFile=...`` in ``ansible_ssh_common_args``/``ansible_ssh_extra_args``
(default ``~/.ssh/known_hosts``). The only template understood in them is
``{{ inventory_dir }}`` (the lab uses it); any other is refused with the variable's name.

Where its services are probed (TLS, HTTP): ``audit_address``, else ``ansible_host``. A lab
host's ``audit_address`` is its container's address on the lab network, written into the
lab's inventory by ``toolkit lab up`` (toolkit.lab.addresses): the audit knows nothing of
the lab.

A control parameter whose name ends in ``_path`` is a path relative to the inventory folder
(the VPN controls read the roster and the devices' keys there).

Other inventory variables: ``audit_params`` (``{CONTROL: {param: value}}``, overrides the
profiles for this host), ``audit_server_name`` (the name its TLS services present,
default the inventory name), ``audit_ca_file`` (the CA that signs them, relative paths
from the inventory folder).
"""

from __future__ import annotations

import fnmatch
import logging
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.adapters.ansible import InventoryHost
from toolkit.adapters.ssh import Endpoint
from toolkit.audit.catalogue import Catalogue, Control, Profile, check_param
from toolkit.errors import InvalidInputError, Problem, SelectionError
from toolkit.netdev.inventory import device_of
from toolkit.netdev.model import DeviceSpec
from toolkit.paths import inventory_path

log = logging.getLogger(__name__)

_INVENTORY_DIR = re.compile(r"\{\{\s*inventory_dir\s*\}\}")
#: Groups that say nothing about the platform a host belongs to.
NOT_PLATFORMS = frozenset({"all", "ungrouped", "servers"})


@dataclass(frozen=True)
class PlannedControl:
    control: Control
    params: Mapping[str, Any]
    profiles: tuple[str, ...]


@dataclass(frozen=True)
class HostPlan:
    name: str
    groups: frozenset[str]
    endpoint: Endpoint
    address: str
    server_name: str
    ca_file: str
    controls: tuple[PlannedControl, ...]
    tls_ports: tuple[int, ...]
    http_ports: tuple[int, ...]
    #: Every host of the inventory -> its groups (Context.inventory).
    inventory: Mapping[str, frozenset[str]] = field(default_factory=dict, hash=False)
    #: A network device (toolkit.netdev): its configuration is read, not logged in to.
    device: DeviceSpec | None = None

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(sorted(self.groups - NOT_PLATFORMS)) or ("ungrouped",)


def _render(value: Any, inventory: Path, where: str) -> str:
    text = _INVENTORY_DIR.sub(str(inventory), str(value))
    if "{{" in text or "{%" in text:
        raise InvalidInputError(
            [
                Problem(
                    str(inventory),
                    1,
                    where,
                    "only the {{ inventory_dir }} template is understood by toolkit audit",
                )
            ]
        )
    return text


def endpoint_of(host: InventoryHost, inventory: Path) -> Endpoint:
    """The SSH endpoint Ansible would use for ``host``."""
    v = host.vars

    def var(name: str) -> str | None:
        return _render(v[name], inventory, f"{host.name}.{name}") if v.get(name) else None

    known_hosts = Path.home() / ".ssh" / "known_hosts"
    for name in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        args = shlex.split(var(name) or "")
        for i, arg in enumerate(args):
            option = arg[2:] if arg.startswith("-o") and len(arg) > 2 else None
            if arg == "-o" and i + 1 < len(args):
                option = args[i + 1]
            opt, _, value = (option or "").replace("=", " ", 1).partition(" ")
            if opt.lower() == "userknownhostsfile" and value.strip():
                known_hosts = Path(value.strip().split()[0]).expanduser()
    key = var("ansible_ssh_private_key_file") or var("ansible_private_key_file")
    password_file = var("audit_become_password_file")
    try:
        port = int(v.get("ansible_port", 22))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            [Problem(str(inventory), 1, f"{host.name}.ansible_port", "not a port number")]
        ) from exc
    return Endpoint(
        host=var("ansible_host") or host.name,
        port=port,
        user=var("ansible_user"),
        key_file=Path(key).expanduser() if key else None,
        known_hosts=known_hosts,
        become_password_file=Path(password_file).expanduser() if password_file else None,
    )


def select_hosts(hosts: Mapping[str, InventoryHost], limit: str | None) -> list[InventoryHost]:
    """Hosts matching an Ansible-style ``--limit``: names or groups (globs allowed),
    separated by ``,`` or ``:``; ``!x`` excludes, ``&x`` intersects."""
    if not limit:
        return list(hosts.values())

    def match(term: str) -> set[str]:
        return {
            name
            for name, h in hosts.items()
            if fnmatch.fnmatchcase(name, term)
            or any(fnmatch.fnmatchcase(g, term) for g in h.groups | {"all"})
        }

    chosen: set[str] = set()
    terms = [t.strip() for t in re.split(r"[,:]", limit) if t.strip()]
    for term in (t for t in terms if t[0] not in "!&"):
        chosen |= match(term)
    if not any(t[0] not in "!&" for t in terms):
        chosen = set(hosts)
    for term in (t for t in terms if t[0] == "&"):
        chosen &= match(term[1:])
    for term in (t for t in terms if t[0] == "!"):
        chosen -= match(term[1:])
    if not chosen:
        raise SelectionError("limit", limit, "no host matches")
    return [hosts[n] for n in sorted(chosen)]


def _profile_params(
    catalogue: Catalogue,
    chosen: list[Profile],
    groups: frozenset[str],
    only: tuple[str, ...],
) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]], set[int], set[int]]:
    """Controls of the profiles with their parameters (defaults, then each profile in
    order), the profiles that selected each, the TLS and HTTP ports to probe."""
    params: dict[str, dict[str, Any]] = {}
    sources: dict[str, list[str]] = {}
    tls: set[int] = set()
    http: set[int] = set()
    for prof in chosen:
        tls |= set(prof.spec.tls_ports)
        http |= set(prof.spec.http_ports)
        for cid in prof.spec.controls:
            spec = catalogue.controls[cid].spec
            if not set(spec.groups) & groups or (only and cid not in only):
                continue
            params.setdefault(cid, dict(spec.params)).update(prof.spec.params.get(cid, {}))
            sources.setdefault(cid, []).append(prof.name)
    return params, sources, tls, http


def _host_overrides(
    host: InventoryHost,
    params: dict[str, dict[str, Any]],
    catalogue: Catalogue,
    inventory: Path,
) -> list[Problem]:
    """Apply the host's ``audit_params`` to ``params``; what is wrong with them."""
    overrides = host.vars.get("audit_params") or {}
    base = f"{host.name}.audit_params"
    if not isinstance(overrides, dict):
        return [Problem(str(inventory), 1, base, "a mapping CONTROL: {param: value} is needed")]
    problems = []
    for cid, values in overrides.items():
        where = f"{base}.{cid}"
        if cid in catalogue.controls and cid not in params:
            continue  # a control this run does not audit on this host
        if cid not in params or not isinstance(values, dict):
            problems.append(Problem(str(inventory), 1, where, "not a control of this host"))
            continue
        defaults = catalogue.controls[cid].spec.params
        for name, value in values.items():
            why = (
                check_param(name, value, defaults[name])
                if name in defaults
                else f"{cid} has no parameter {name}"
            )
            if why:
                problems.append(Problem(str(inventory), 1, f"{where}.{name}", why))
            else:
                params[cid][name] = value
    return problems


def _inventory_paths(params: dict[str, dict[str, Any]], inventory: Path) -> None:
    """Parameters named ``*_path`` become paths from the inventory folder."""
    for values in params.values():
        for name, value in values.items():
            if name.endswith("_path") and isinstance(value, str) and value:
                values[name] = str(inventory_path(value, inventory))


def plan(
    catalogue: Catalogue,
    hosts: list[InventoryHost],
    inventory: Path,
    *,
    profiles: tuple[str, ...] = (),
    controls: tuple[str, ...] = (),
    everyone: Mapping[str, InventoryHost] | None = None,
    config_dir: Path | None = None,
) -> list[HostPlan]:
    """One plan per host: the controls of its profiles (narrowed to ``profiles`` and
    ``controls`` when given) with their parameters. ``everyone`` is the whole inventory
    (default ``hosts``): the hosts a control may judge from another one. Network devices
    are read from ``config_dir`` when given (toolkit.netdev.inventory)."""
    known = {p.name for p in catalogue.profiles}
    for name in profiles:
        if name not in known:
            raise SelectionError(
                "profiles", name, f"unknown profile (known: {', '.join(sorted(known))})"
            )
    for cid in controls:
        if cid not in catalogue.controls:
            raise SelectionError("controls", cid, "unknown control")
    members = {h.name: frozenset(h.groups) for h in (everyone or {}).values()} or {
        h.name: frozenset(h.groups) for h in hosts
    }
    plans, problems = [], []
    for host in hosts:
        groups = frozenset(host.groups | {"all"})
        chosen = [
            p
            for p in catalogue.profiles
            if set(p.spec.groups) & groups and (not profiles or p.name in profiles)
        ]
        params, sources, tls, http = _profile_params(catalogue, chosen, groups, controls)
        problems += _host_overrides(host, params, catalogue, inventory)
        _inventory_paths(params, inventory)
        endpoint = endpoint_of(host, inventory)
        try:
            device = device_of(host, endpoint, inventory, config_dir)
        except InvalidInputError as exc:
            problems += exc.problems
            device = None
        address = str(host.vars.get("audit_address") or endpoint.host)
        ca_file = str(host.vars.get("audit_ca_file") or "")
        if ca_file:
            ca_file = str(
                inventory_path(_render(ca_file, inventory, f"{host.name}.audit_ca_file"), inventory)
            )
        order = list(catalogue.controls)
        plans.append(
            HostPlan(
                name=host.name,
                groups=host.groups,
                endpoint=endpoint,
                address=address,
                server_name=str(host.vars.get("audit_server_name") or host.name),
                ca_file=ca_file,
                controls=tuple(
                    PlannedControl(catalogue.controls[cid], params[cid], tuple(sources[cid]))
                    for cid in sorted(params, key=order.index)
                ),
                tls_ports=tuple(sorted(tls)),
                http_ports=tuple(sorted(http)),
                inventory=members,
                device=device,
            )
        )
    if problems:
        raise InvalidInputError(problems)
    return plans
