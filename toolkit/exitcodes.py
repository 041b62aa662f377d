"""The one list of process exit codes. Only ``toolkit.cli`` turns them into an exit."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of every ``toolkit`` command (documented in docs/exit-codes.md)."""

    OK = 0
    #: Something went wrong while running (a tool failed, a container did not start).
    ERROR = 1
    #: The command line itself is wrong (click's own code for usage errors).
    USAGE = 2
    #: An audit or a policy check ran and found a failure (for example C3 head-count).
    CHECK_FAILED = 3
    #: An input file (roster, inventory, reference data) is invalid; nothing was applied.
    INVALID_INPUT = 4
    #: A host could not be reached; the others were still processed.
    UNREACHABLE = 5
