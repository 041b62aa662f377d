"""Control implementations, registered by ID.

A control is one data entry in ``audits/controls/*.yml`` plus one function here::

    @control("LNX-02")
    def os_release_supported(ctx: Context, p: Params) -> Outcome:
        ...

The function gets the host's context (commands over SSH, probes, evidence) and the
control's parameters (defaults from the data, overridden by profiles and host vars), and
returns an Outcome. It raises ControlError when the control cannot be evaluated: the
result is then ``error`` with the reason, never ``pass``. Those types (Params, Outcome,
Status, Evidence, ControlError) live in ``toolkit.audit.model``; this module holds the
``@control`` decorator and the registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from toolkit.audit.model import Outcome, Params

if TYPE_CHECKING:
    from toolkit.audit.context import Context

#: The modules that hold implementations, one per platform family.
CONTROL_MODULES = (
    "toolkit.controls.linux",
    "toolkit.controls.linux_ssh",
    "toolkit.controls.linux_hardening",
    "toolkit.controls.web",
    "toolkit.controls.web_groupware",
    "toolkit.controls.visio",
    "toolkit.controls.visio_meeting",
    "toolkit.controls.logging",
    "toolkit.controls.logs",
    "toolkit.controls.database",
    "toolkit.controls.mail",
    "toolkit.controls.mailflow",
    "toolkit.controls.vpn",
    "toolkit.controls.vpn_portal",
    "toolkit.controls.vpn_software",
    "toolkit.controls.vpn_tunnel",
    "toolkit.controls.network",
    "toolkit.controls.byod",
    "toolkit.controls.backup",
    "toolkit.controls.laptop",
    "toolkit.controls.laptop_access",
    "toolkit.controls.laptop_software",
)


CheckFn = Callable[["Context", Params], Outcome]


@dataclass(frozen=True)
class Implementation:
    id: str
    check: CheckFn
    #: False for controls that only probe services over the network (no SSH login).
    needs_ssh: bool


_REGISTRY: dict[str, Implementation] = {}


def control(control_id: str, *, needs_ssh: bool = True) -> Callable[[CheckFn], CheckFn]:
    """Register ``func`` as the implementation of ``control_id``."""

    def register(func: CheckFn) -> CheckFn:
        if control_id in _REGISTRY and _REGISTRY[control_id].check is not func:
            raise RuntimeError(f"{control_id} is implemented twice")
        _REGISTRY[control_id] = Implementation(control_id, func, needs_ssh)
        return func

    return register


def implementations() -> dict[str, Implementation]:
    """Every registered implementation (importing the control modules once)."""
    for module in CONTROL_MODULES:
        importlib.import_module(module)
    return dict(_REGISTRY)
