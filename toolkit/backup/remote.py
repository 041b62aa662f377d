"""The hosts ``toolkit backup`` talks to and what it reads from and writes to them over SSH.

Hosts and how to reach them come from the inventory as the audit reads it
(toolkit.audit.targets.endpoint_of: ansible_host, port, user, key, known_hosts; a host key
that is unknown or changed is refused). Every command runs with a time limit and its output
is read up to a cap (toolkit.adapters.ssh.exec_bounded). Root commands use ``sudo -n``, or
``sudo -S`` fed the inventory's audit_become_password_file on stdin.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import paramiko

from toolkit.adapters.ansible import InventoryHost, load_inventory
from toolkit.adapters.ssh import (
    Endpoint,
    HostKeyError,
    become_password,
    connect,
    exec_bounded,
    sudo_prefix,
)
from toolkit.audit.targets import endpoint_of, select_hosts
from toolkit.errors import ToolkitError
from toolkit.exitcodes import ExitCode
from toolkit.text import printable

log = logging.getLogger(__name__)

T = TypeVar("T")
#: Exit status of the read command when the file does not exist.
_MISSING = 44


class UnreachableError(ToolkitError):
    """A host could not be logged in to, or did not answer in time."""

    exit_code = ExitCode.UNREACHABLE


@dataclass(frozen=True)
class Target:
    name: str
    groups: frozenset[str]
    endpoint: Endpoint
    vars: dict[str, object]


def targets(inventory: Path, limit: str | None = None, group: str = "servers") -> list[Target]:
    """The inventory's hosts of ``group`` (narrowed by an Ansible-style ``limit``)."""
    hosts = load_inventory(inventory, with_roster=False)
    chosen = [h for h in select_hosts(hosts, limit) if group in h.groups]
    return [target_of(h, inventory) for h in chosen]


def target_of(host: InventoryHost, inventory: Path) -> Target:
    """How to reach an inventory host (the audit's reading of its variables)."""
    return Target(host.name, host.groups, endpoint_of(host, inventory), dict(host.vars))


@dataclass
class Session:
    """One logged-in host: commands with a time limit, output capped."""

    target: Target
    client: paramiko.SSHClient
    timeout: float
    password: str | None = None

    def run(
        self, command: str, *, sudo: bool = False, stdin: bytes | None = None, cap: int
    ) -> tuple[int, bytes, bytes]:
        full = (
            f"{sudo_prefix(self.password)} /bin/sh -c {shlex.quote(command)}" if sudo else command
        )
        feed = stdin
        if sudo and self.password is not None:
            feed = self.password.encode() + b"\n" + (stdin or b"")
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            raise UnreachableError(f"{self.target.name}: SSH connection lost")
        try:
            out = exec_bounded(
                transport, full.encode(), timeout=self.timeout, max_output=cap, stdin=feed
            )
        except TimeoutError as exc:
            raise UnreachableError(f"{self.target.name}: `{command[:80]}`: {exc}") from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise UnreachableError(f"{self.target.name}: SSH failed: {exc}") from exc
        if out.truncated:
            raise ToolkitError(
                f"{self.target.name}: `{command[:80]}`: answer longer than {cap} bytes"
            )
        return out.rc, out.stdout, out.stderr

    def read(self, path: str, cap: int, *, sudo: bool = False) -> bytes | None:
        """The file's bytes (at most ``cap`` + 1: longer is for the parser to refuse), None
        when it does not exist."""
        quoted = shlex.quote(path)
        rc, out, err = self.run(
            f"test -e {quoted} || exit {_MISSING}; head -c {cap + 1} {quoted}",
            sudo=sudo,
            cap=cap + 2,
        )
        if rc == _MISSING:
            return None
        if rc != 0:
            raise ToolkitError(
                f"{self.target.name}: cannot read {path}: "
                f"{printable(err.decode(errors='replace').strip()[:200])}"
            )
        return out

    def write(self, path: str, data: bytes, mode: str = "0644") -> None:
        """Write ``data`` to ``path`` as root (through a temporary file, then renamed)."""
        folder = shlex.quote(str(Path(path).parent))
        tmp, final = shlex.quote(f"{path}.tmp"), shlex.quote(path)
        rc, _, err = self.run(
            f"umask 077; mkdir -p {folder} && cat > {tmp} && chmod {mode} {tmp} "
            f"&& mv -f {tmp} {final}",
            sudo=True,
            stdin=data,
            cap=65536,
        )
        if rc != 0:
            raise ToolkitError(
                f"{self.target.name}: cannot write {path}: "
                f"{printable(err.decode(errors='replace').strip()[:200])}"
            )


def _password(target: Target) -> str | None:
    """The sudo password of ``target`` (the audit's rule); a file that cannot be read is
    an error of the inventory, not an unreachable host."""
    try:
        return become_password(target.endpoint.become_password_file)
    except ConnectionError as exc:
        raise ToolkitError(str(exc)) from exc


def with_session(
    target: Target,
    timeout: float,
    work: Callable[[Session], T],
    *,
    command_timeout: float | None = None,
) -> T:
    """Log in to ``target`` (within ``timeout`` s), run ``work`` on the session (each command
    within ``command_timeout`` s, default ``timeout``), log out."""
    password = _password(target)
    try:
        client = connect(target.endpoint, timeout=timeout)
    except (HostKeyError, ConnectionError) as exc:
        raise UnreachableError(f"{target.name} ({target.endpoint}): {exc}") from exc
    except (OSError, paramiko.SSHException, EOFError) as exc:
        raise UnreachableError(f"{target.name} ({target.endpoint}): {exc}") from exc
    try:
        return work(Session(target, client, command_timeout or timeout, password))
    finally:
        client.close()
