"""What a control works with on one host: commands over SSH, probes, evidence.

The runner gives each control its own view of the host (:meth:`Context.for_control`):
the same connection, command cache and shared probes, but its own evidence and its own
SSH channels. Several controls of a host run at once: a command (or a shared probe) asked
by two of them runs once, the second waiting for the first's answer. When a control
passes its time limit the runner closes its view: its channels are closed (the commands
it waits on end, the other controls' go on), whatever its thread still does runs no
command, and what it notes goes nowhere (no other control sees it)."""

from __future__ import annotations

import dataclasses
import re
import shlex
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import paramiko
from testinfra.host import Host

from toolkit.adapters.channels import Channels, owned_by
from toolkit.audit.model import ControlError, Evidence
from toolkit.netdev.model import DeviceConfig

T = TypeVar("T")

EXCERPT_LINES = 20
EXCERPT_CHARS = 2000
_SUDO_SCAN = 4096
_SUDO_REFUSED = re.compile(
    r"sudo: (a password is required|.*not allowed|.*may not run|\d+ incorrect password)"
)


def excerpt(text: str, grep: str | None = None) -> str:
    """At most EXCERPT_LINES lines (those matching ``grep`` when given)."""
    lines = text.splitlines()
    if grep is not None:
        pattern = re.compile(grep)
        lines = [ln for ln in lines if pattern.search(ln)]
    more = len(lines) - EXCERPT_LINES
    kept = "\n".join(lines[:EXCERPT_LINES])[:EXCERPT_CHARS]
    return kept + (f"\n... ({more} more lines)" if more > 0 else "")


@dataclass(frozen=True)
class Result:
    command: str
    rc: int
    stdout: str
    stderr: str
    #: A stream reached the cap (``--max-output``) and reading stopped there.
    truncated: bool = False
    max_output: int = 0


ABANDONED = "the control's time limit has passed: nothing more is run"


@dataclass
class Context:
    """One host as the controls see it. ``host`` is testinfra's API over SSH (None when
    the host could not be reached, ``ssh_error`` says why); ``address`` is where its
    services are probed; ``tls_ports``/``http_ports`` come from its profiles."""

    name: str
    address: str
    ssh_address: str
    ssh_port: int
    tls_ports: tuple[int, ...]
    http_ports: tuple[int, ...]
    probe_timeout: float
    #: Name services must present (SNI, certificate, Host header); CA file trusted for it.
    server_name: str = ""
    ca_file: str = ""
    host: Host | None = None
    ssh_error: str | None = None
    #: How root commands are run: ``sudo -n``, or ``sudo -S`` with the password on stdin.
    sudo: str = "sudo -n"
    #: Every host of the inventory (not only those ``--limit`` selects) -> its groups,
    #: for controls that judge other hosts from this one (LOG-01 on the log collector).
    inventory: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: A network device's configuration, read once before its controls run (NET-*).
    device: DeviceConfig | None = None
    #: The day the audit judges on (ends of life, ages of plans, updates and signatures);
    #: None: today in UTC (:meth:`day`).
    today: date | None = None
    evidence: list[Evidence] = field(default_factory=list)
    _commands: dict[str, Result] = field(default_factory=dict)
    _memo: dict[str, Any] = field(default_factory=dict)
    #: Commands and probes being computed by one view, that the others wait for.
    _pending: dict[str, threading.Event] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _channels: Channels = field(default_factory=Channels)
    _closed: bool = False

    def day(self) -> date:
        """The day the controls judge on: the audit's, else today in UTC."""
        return self.today if self.today is not None else datetime.now(UTC).date()

    def for_control(self) -> Context:
        """A view of this host for one control: the same connection, commands run and
        shared probes; evidence and SSH channels of its own."""
        return dataclasses.replace(self, evidence=[], _channels=Channels(), _closed=False)

    def close(self) -> None:
        """The control is abandoned: its channels are closed, no more commands; its
        notes go nowhere."""
        self._closed = True
        self._channels.close()

    def _once(self, table: dict[str, Any], key: str, compute: Callable[[], T]) -> T:
        """``table[key]``, computed by one view at a time: a view asking while another
        computes waits for it (and computes it itself if the other gave up or failed).
        What a view abandoned meanwhile computed is kept by nobody."""
        while True:
            with self._lock:
                if key in table:
                    return table[key]  # type: ignore[no-any-return]
                running = self._pending.get(key)
                if running is None:
                    running = self._pending[key] = threading.Event()
                    break
            while not running.wait(0.2):
                if self._closed:
                    raise ControlError(ABANDONED)
        try:
            value = compute()
            if self._closed:  # abandoned while it ran: nothing of it is kept
                raise ControlError(ABANDONED)
            with self._lock:
                table[key] = value
            return value
        finally:
            with self._lock:
                del self._pending[key]
            running.set()

    def note(self, probe: str, seen: str) -> None:
        """Add evidence: a probe and what it saw."""
        self._add(Evidence(probe, excerpt(seen)))

    def _add(self, item: Evidence) -> None:
        if not self._closed:
            self.evidence.append(item)

    def run(
        self, command: str, *, sudo: bool = False, grep: str | None = None, record: bool = True
    ) -> Result:
        """Run a shell command on the host (as root through sudo when ``sudo``); the
        same command runs once per host. Its output goes into the evidence (only the lines
        matching ``grep`` when given). Raises ControlError when there is no SSH session,
        no answer in time, an output cut at the cap (judging part of an answer could
        pass what the rest fails) or sudo is refused."""
        if self._closed:
            raise ControlError(ABANDONED)
        if self.host is None:
            raise ControlError(f"not reachable over SSH: {self.ssh_error}")
        full = f"{self.sudo} /bin/sh -c {shlex.quote(command)}" if sudo else command
        host = self.host

        def ask() -> Result:
            try:
                with owned_by(self._channels):
                    out = host.run(full)
            except TimeoutError as exc:
                raise ControlError(f"`{full}`: no answer in time ({exc})") from exc
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise ControlError(f"`{full}`: SSH failed: {exc}") from exc
            return Result(
                full,
                out.rc,
                out.stdout,
                out.stderr,
                truncated=bool(getattr(out, "truncated", False)),
                max_output=int(getattr(out, "max_output", 0)),
            )

        cached = self._once(self._commands, f"run:{full}", ask)
        if cached.truncated:
            cut = f"[output cut at {cached.max_output} bytes]"
            kept = excerpt(cached.stdout, grep) if record else "(output not kept)"
            self._add(Evidence(full, f"{kept}\n{cut}".strip()))
            raise ControlError(
                f"`{full}`: output cut at {cached.max_output} bytes (--max-output): "
                "a part of an answer cannot be judged"
            )
        # sudo says it first; a search of all of a hostile stderr would take quadratic time
        head = cached.stderr[:_SUDO_SCAN]
        if sudo and cached.rc != 0 and _SUDO_REFUSED.search(head):
            raise ControlError(f"needs root and sudo was refused: {head.strip()[:300]}")
        if record:
            seen = excerpt(cached.stdout, grep) if cached.stdout else ""
            if cached.rc != 0:
                seen = f"{seen}\n[exit {cached.rc}] {excerpt(cached.stderr)}".strip()
            self._add(Evidence(full, seen or "(no output)"))
        return cached

    def output(
        self, command: str, *, sudo: bool = False, grep: str | None = None, record: bool = True
    ) -> str:
        """stdout of a command that must succeed (ControlError otherwise)."""
        res = self.run(command, sudo=sudo, grep=grep, record=record)
        if res.rc != 0:
            # an unrecorded output (e.g. password hashes) stays out of the message too
            detail = res.stderr.strip() or (res.stdout.strip() if record else "")
            raise ControlError(f"`{res.command}` exited {res.rc}: {detail[:300]}")
        return res.stdout

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """A probe shared by several controls of this host, computed once (e.g. one TLS
        scan for WEB-01..03), even when they ask at the same time."""
        return self._once(self._memo, f"memo:{key}", compute)
