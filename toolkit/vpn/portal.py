"""A teleworker's lost device (A4): their second factor is reset on the VPN gateways'
teleworker portal, and the reset journaled beside the roster.

On each gateway, root runs ``telework-portal-admin reset-totp --user ID --json`` (role
vpn_gateway): the teleworker's TOTP secret and recovery codes are deleted (they enrol again
from the office) and their open working sessions end (E23, E12). The ID is one of the
roster's; the command is built from it with shlex.quote; each login and command has a time
limit and what the gateway answers is read up to a cap, then validated (size, types, the
user it names). A gateway without the portal (the command is missing) is reported and
skipped. One line goes to the roster's journal (action ``second-factor-reset``, the reason,
the operator) once at least one gateway did the reset.
"""

from __future__ import annotations

import logging
import re
import shlex
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from toolkit.adapters.ansible import load_inventory
from toolkit.backup.remote import Session, Target, UnreachableError, target_of, with_session
from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.roster.journal import journal_of, named_teleworker, write_journal
from toolkit.roster.model import Teleworker
from toolkit.roster.parse import ROSTER_FILE, load_environment_roster
from toolkit.text import printable

log = logging.getLogger(__name__)

#: Where role vpn_gateway installs the portal's administration command.
ADMIN_COMMAND = "/usr/local/sbin/telework-portal-admin"
#: The inventory group of the VPN gateways.
GATEWAYS_GROUP = "vpn_gateways"
#: The journal's action.
ACTION = "second-factor-reset"
#: Longest SSH login; longest run of the admin command (the store, then the gate).
LOGIN_SECONDS = 30.0
COMMAND_SECONDS = 60.0
#: Most bytes read of each of the command's outputs; its JSON answer is far shorter.
MAX_OUTPUT = 64 * 1024
MAX_ANSWER = 1024
#: Most sessions one teleworker could have had ended (anything above is not an answer).
MAX_ENDED = 100_000
#: A user id given to the admin command: what it accepts, never starting like an option
#: (the roster's ids are a subset).
_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: What sh (or sudo) says when the command is not installed.
_MISSING = re.compile(r"telework-portal-admin: (command )?not found")
#: What the admin command adds when the secret was deleted but the gate did not answer.
_RESET_ANYWAY = "was reset; end the sessions again"


class Outcome(StrEnum):
    RESET = "reset"
    NO_PORTAL = "no portal"
    FAILED = "failed"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class GatewayResult:
    """What one gateway did: ``reset`` when the teleworker's second factor is gone there
    (also when ending the sessions then failed), ``ended`` the sessions ended, ``detail``
    the error (printable) when it failed."""

    gateway: str
    outcome: Outcome
    reset: bool = False
    ended: int = 0
    detail: str = ""


@dataclass(frozen=True)
class SecondFactorReset:
    """The whole reset: the teleworker, each gateway's result, the journal written (None
    when no gateway did the reset)."""

    id: str
    name: str
    gateways: tuple[GatewayResult, ...]
    journal: Path | None

    def failure(self) -> ToolkitError | None:
        """The error to exit with: a gateway failed (1) or could not be reached (5), or
        none has the portal (1); None when every gateway with the portal did the reset."""
        bad = [g for g in self.gateways if g.outcome in {Outcome.FAILED, Outcome.UNREACHABLE}]
        if bad:
            done = "what was reset is journaled" if self.journal else "nothing journaled"
            lines = [f"{g.gateway}: {g.detail}" for g in bad]
            unreachable = all(g.outcome is Outcome.UNREACHABLE for g in bad)
            return ToolkitError(
                "\n".join([*lines, f"second factor of {self.id} not reset everywhere ({done})"]),
                exit_code=ExitCode.UNREACHABLE if unreachable else ExitCode.ERROR,
            )
        if not any(g.reset for g in self.gateways):
            names = ", ".join(g.gateway for g in self.gateways)
            return ToolkitError(
                f"no VPN gateway has the teleworker portal ({names}: {ADMIN_COMMAND} not "
                "found); nothing was reset"
            )
        return None


class _Answer(BaseModel):
    """``{"user": ID, "reset": true, "ended": N}``."""

    model_config = ConfigDict(extra="ignore")
    user: str = Field(max_length=64)
    reset: StrictBool
    ended: StrictInt = Field(ge=0, le=MAX_ENDED)


def teleworker(inventory: Path, ident: str, reason: str) -> Teleworker:
    """The roster's teleworker ``ident``; InvalidInputError (exit 4) naming the roster and
    the field for an invalid roster, an unknown id or an empty reason."""
    roster = load_environment_roster(inventory)
    return named_teleworker(
        roster, ident, reason, asked="give the reason for the reset (a lost device, A4)"
    )


def gateways(inventory: Path, only: str | None = None) -> list[Target]:
    """The inventory's VPN gateways (or only ``only``, which must be one of them)."""
    hosts = load_inventory(inventory, with_roster=False)
    names = sorted(n for n, h in hosts.items() if GATEWAYS_GROUP in h.groups)
    if only is not None and only not in names:
        raise ToolkitError(
            f"--gateway '{printable(only)}': not a host of {printable(inventory)}'s "
            f"{GATEWAYS_GROUP} ({', '.join(names) or 'none'})",
            exit_code=ExitCode.USAGE,
        )
    if not names:
        raise ToolkitError(
            f"{printable(inventory)}: no host in group {GATEWAYS_GROUP}", exit_code=ExitCode.USAGE
        )
    return [target_of(hosts[n], inventory) for n in names if only in {None, n}]


def admin_command(ident: str) -> str:
    """The admin command's line for teleworker ``ident`` (every word quoted)."""
    if not _USER.fullmatch(ident):
        raise ToolkitError(f"'{printable(ident)}' is not a user id of the portal")
    return shlex.join([ADMIN_COMMAND, "reset-totp", "--user", ident, "--json"])


def _said(data: bytes) -> str:
    """The first line of what a command wrote to stderr, printable, at most 200 chars."""
    lines = data.decode(errors="replace").strip().splitlines()
    return printable(lines[0][:200]) if lines else "(nothing on stderr)"


def read_answer(gateway: str, ident: str, rc: int, stdout: bytes, stderr: bytes) -> GatewayResult:
    """One gateway's result from the admin command's exit status and outputs."""
    text = stderr.decode(errors="replace")
    if rc == 127 or (rc != 0 and _MISSING.search(text)):
        return GatewayResult(gateway, Outcome.NO_PORTAL)
    if rc != 0:
        said = _said(stderr)
        if _RESET_ANYWAY in text:
            said += " (the second factor was reset; end the sessions again)"
        return GatewayResult(gateway, Outcome.FAILED, reset=_RESET_ANYWAY in text, detail=said)
    if len(stdout) > MAX_ANSWER:
        detail = f"the admin command's answer is longer than {MAX_ANSWER} bytes"
        return GatewayResult(gateway, Outcome.FAILED, detail=detail)
    try:
        answer = _Answer.model_validate_json(stdout)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "-"
        detail = f"the admin command's answer is not understood (field {field}: {first['msg']})"
        return GatewayResult(gateway, Outcome.FAILED, detail=printable(detail))
    if answer.user != ident.lower() or not answer.reset:
        detail = (
            f"the admin command answered for user '{printable(answer.user)}', "
            f"reset={answer.reset}, not for {ident}"
        )
        return GatewayResult(gateway, Outcome.FAILED, detail=detail)
    return GatewayResult(gateway, Outcome.RESET, reset=True, ended=answer.ended)


def _unnamed(exc: Exception, target: Target) -> str:
    """The error's message without the host's name it starts with (printable)."""
    text = str(exc)
    for prefix in (f"{target.name}: ", f"{target.name} "):
        text = text.removeprefix(prefix)
    return printable(text)


def reset_on(target: Target, ident: str) -> GatewayResult:
    """Run the reset on one gateway; a gateway that cannot be reached or whose run fails
    is a result, not an exception (the others are still processed)."""
    command = admin_command(ident)

    def work(session: Session) -> GatewayResult:
        rc, out, err = session.run(command, sudo=True, cap=MAX_OUTPUT)
        return read_answer(target.name, ident, rc, out, err)

    try:
        result = with_session(target, LOGIN_SECONDS, work, command_timeout=COMMAND_SECONDS)
    except UnreachableError as exc:
        return GatewayResult(target.name, Outcome.UNREACHABLE, detail=_unnamed(exc, target))
    except ToolkitError as exc:
        return GatewayResult(target.name, Outcome.FAILED, detail=_unnamed(exc, target))
    log.info("%s: %s %s", target.name, result.outcome, printable(result.detail))
    return result


def reset_second_factor(
    inventory: Path, ident: str, reason: str, *, gateway: str | None = None
) -> SecondFactorReset:
    """Reset teleworker ``ident``'s second factor on every VPN gateway of ``inventory`` (or
    only ``gateway``), and journal it with ``reason`` when at least one gateway did it.

    Nothing runs when the roster, the id, the reason or the gateway is wrong."""
    worker = teleworker(inventory, ident, reason)
    targets = gateways(inventory, gateway)
    results = tuple(reset_on(t, worker.id) for t in targets)
    journal = None
    if any(r.reset for r in results):
        journal = journal_of(inventory / ROSTER_FILE)
        write_journal(journal, worker.id, ACTION, reason)
    return SecondFactorReset(worker.id, worker.name_latin, results, journal)
