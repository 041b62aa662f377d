"""The teleworker roster: one validated source of truth for every platform (C1-C7, E1)."""

from toolkit.roster.model import Device, Roster, Teleworker
from toolkit.roster.parse import load_environment_roster, load_roster
from toolkit.roster.reference import Reference, load_reference

__all__ = [
    "Device",
    "Reference",
    "Roster",
    "Teleworker",
    "load_environment_roster",
    "load_reference",
    "load_roster",
]
