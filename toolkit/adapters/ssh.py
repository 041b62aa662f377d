"""SSH for the audit: a strict paramiko client and a testinfra host over it (what a server
offers on the wire is read by toolkit.adapters.ssh_offer, re-exported here).

testinfra's own paramiko backend accepts any host key (WarningPolicy), waits for a
command forever and keeps all it prints; the client here checks the key against
known_hosts (RejectPolicy, or accept-new when asked: unknown keys are added, changed keys
are always refused), every command has a time limit on all its waits and its output is
read up to a cap (``max_output`` bytes a stream): a host cannot hang the audit nor fill
its memory.

Several controls of a host run at once over its one connection, each command on a channel
of its own. testinfra's Host is shared by them: the backend below keeps no per-command
state (testinfra's lazily asked encoding is not used: commands are UTF-8), and the
channels a caller opens are noted in its Channels (toolkit.adapters.channels), so that
abandoning one control closes its channels and no other's.
"""

from __future__ import annotations

import dataclasses
import logging
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
from testinfra.backend.base import CommandResult
from testinfra.backend.paramiko import ParamikoBackend
from testinfra.host import Host

from toolkit.adapters.channels import Channels, current_owner
from toolkit.adapters.ssh_offer import (
    OFFER_MEMO,
    ServerOffer,
    audit_transport,
    connection_offer,
    probe_offer,
)
from toolkit.errors import ToolkitError
from toolkit.secrets import read_secret

log = logging.getLogger(__name__)

__all__ = [
    "OFFER_MEMO",
    "Endpoint",
    "HostKeyError",
    "ServerOffer",
    "connect",
    "connection_offer",
    "exec_bounded",
    "probe_offer",
    "sudo_prefix",
    "testinfra_host",
]

#: Default cap of what is read from one stream (stdout, stderr) of one command.
DEFAULT_MAX_OUTPUT = 4 * 1024 * 1024
_CHUNK = 32 * 1024
#: A refused channel (the server's MaxSessions reached) is asked again this often.
_REOPEN_WAIT = 0.05
_REOPEN_TRIES = 40


class _RefusalAskedAgain(logging.Filter):
    """paramiko logs a refused channel as an error; :func:`exec_bounded` asks again, and a
    refusal that lasts is the control's error: not a line on the auditor's terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not (text.startswith("Secsh channel") and "open FAILED" in text)


logging.getLogger("paramiko.transport").addFilter(_RefusalAskedAgain())


class HostKeyError(Exception):
    """The server's host key is unknown (and new keys are not accepted) or has changed."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to log in: the inventory's ansible_host/port/user/key/known_hosts."""

    host: str
    port: int = 22
    user: str | None = None
    key_file: Path | None = None
    known_hosts: Path = field(default_factory=lambda: Path.home() / ".ssh" / "known_hosts")
    #: File holding the account's sudo password (the inventory's audit_become_password_file);
    #: without it sudo must not ask for one (``sudo -n``).
    become_password_file: Path | None = None

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        return f"{user}{self.host}:{self.port}"

    @property
    def known_hosts_name(self) -> str:
        """How known_hosts names this endpoint (``[host]:port`` unless port 22)."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


class _AcceptNew(paramiko.MissingHostKeyPolicy):
    """StrictHostKeyChecking=accept-new: remember an unknown key in known_hosts."""

    _lock = threading.Lock()

    def __init__(self, known_hosts: Path) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: Any) -> None:
        log.warning("%s: new host key %s accepted", hostname, key.get_fingerprint().hex())
        with self._lock:
            self.known_hosts.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with self.known_hosts.open("a", encoding="ascii") as fh:
                fh.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        client.get_host_keys().add(hostname, key.get_name(), key)


def connect(endpoint: Endpoint, *, timeout: float, accept_new: bool = False) -> paramiko.SSHClient:
    """A logged-in client; raises HostKeyError, paramiko.SSHException or OSError."""
    client = paramiko.SSHClient()
    if endpoint.known_hosts.exists():
        client.load_host_keys(str(endpoint.known_hosts))
    policy: paramiko.MissingHostKeyPolicy = (
        _AcceptNew(endpoint.known_hosts) if accept_new else paramiko.RejectPolicy()
    )
    client.set_missing_host_key_policy(policy)
    try:
        client.connect(
            endpoint.host,
            port=endpoint.port,
            username=endpoint.user,
            key_filename=str(endpoint.key_file) if endpoint.key_file else None,
            # paramiko gives up a stalled key exchange after `timeout` without saying
            # why: let the banner time limit, which does say, come first
            timeout=timeout + 1,
            banner_timeout=timeout,
            auth_timeout=timeout,
            channel_timeout=timeout,
            allow_agent=endpoint.key_file is None,
            look_for_keys=endpoint.key_file is None,
            # keeps what the server offers (LNX-03/04 read it: no second connection)
            transport_factory=audit_transport,
        )
    except paramiko.ssh_exception.NoValidConnectionsError as exc:
        client.close()
        why = "; ".join(
            sorted({getattr(e, "strerror", None) or str(e) for e in exc.errors.values()})
        )
        raise ConnectionError(f"cannot connect: {why}") from exc
    except TimeoutError as exc:
        client.close()
        raise ConnectionError(f"no answer in {timeout:.0f} s") from exc
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise HostKeyError(
            f"host key of {endpoint.known_hosts_name} differs from {endpoint.known_hosts} "
            f"(got {exc.key.get_name()} {exc.key.get_fingerprint().hex()}): refused"
        ) from exc
    except paramiko.SSHException as exc:
        client.close()
        if str(exc) == "No existing session":  # the key exchange stalled (see above)
            raise ConnectionError(f"SSH handshake not completed in {timeout + 1:.0f} s") from exc
        if "not found in known_hosts" in str(exc):
            raise HostKeyError(
                f"{endpoint.known_hosts_name} is not in {endpoint.known_hosts}: refused "
                "(check its fingerprint, then --accept-new-host-keys)"
            ) from exc
        raise
    except BaseException:
        client.close()
        raise
    transport = client.get_transport()
    if transport is not None:
        transport.set_keepalive(15)
        # Without it each command waits on Nagle and delayed ACKs: about 40 ms more.
        sock = transport.sock
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def become_password(path: Path | None) -> str | None:
    """The sudo password kept in ``path`` (first line; decrypted by Ansible's VaultLib when
    the file is vaulted), or None without a file; ConnectionError when it cannot be read
    (the host cannot be worked on)."""
    if path is None:
        return None
    try:
        return read_secret(path).decode("utf-8").splitlines()[0]
    except (OSError, IndexError, UnicodeDecodeError, ToolkitError) as exc:
        raise ConnectionError(f"cannot read the sudo password file {path}: {exc}") from exc


def sudo_prefix(become_password: str | None) -> str:
    """``sudo`` that never prompts: with no password, ``-n``; with one, read from stdin."""
    return "sudo -S -p ''" if become_password is not None else "sudo -n"


class _Backend(ParamikoBackend):  # type: ignore[misc]
    """testinfra's paramiko backend over an already connected, checked client; commands
    time out and their output is capped (:func:`exec_bounded`); a lost connection is an
    error, never a new unchecked one; ``sudo`` never prompts: ``sudo -n``, or ``sudo -S``
    fed the account's password on stdin when one is given (it never appears in a command
    line)."""

    def __init__(
        self,
        client: paramiko.SSHClient,
        name: str,
        command_timeout: float,
        become_password: str | None = None,
        max_output: int = DEFAULT_MAX_OUTPUT,
    ) -> None:
        super().__init__(f"paramiko://{name}", timeout=int(command_timeout))
        self.__dict__["client"] = client  # testinfra's cached_property, filled in advance
        self.command_timeout = command_timeout
        self.max_output = max_output
        self.become_password = become_password
        # testinfra wraps every command in sudo while its ``sudo`` is true: it stays False,
        # so a command runs as the audit's account unless a control asks for root (the
        # context prefixes those) or code enters testinfra's ``host.sudo()`` block.
        self.sudo = False
        self.sudo_prefix = sudo_prefix(become_password)

    def get_sudo_command(self, command: str, sudo_user: str | None) -> str:
        if sudo_user is None:
            return f"{self.sudo_prefix} {self.quote('/bin/sh -c %s', command)}"
        return f"{self.sudo_prefix} {self.quote('-u %s /bin/sh -c %s', sudo_user, command)}"

    def decode(self, data: bytes) -> str:
        # testinfra asks the host which encoding to use; a host's answer is no authority
        # and a cut may split a character: UTF-8, undecodable bytes shown as U+FFFD
        return data.decode("utf-8", errors="replace")

    def encode(self, data: str) -> bytes:
        # the same: never the host's answer, which testinfra would ask (and cache) from
        # whichever of the concurrent controls came first
        return data.encode("utf-8")

    def run(self, command: str, *args: str, **kwargs: Any) -> CappedResult:
        cmd = self.encode(self.get_command(command, *args))
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            raise paramiko.SSHException("SSH connection lost")
        stdin = None
        if self.become_password is not None and cmd.startswith(b"sudo -S "):
            stdin = self.become_password.encode() + b"\n"
        out = exec_bounded(
            transport,
            cmd,
            timeout=self.command_timeout,
            max_output=self.max_output,
            stdin=stdin,
        )
        result = CappedResult(
            backend=self,
            exit_status=out.rc,
            command=cmd,
            _stdout=out.stdout,
            _stderr=out.stderr,
            truncated=out.truncated,
            max_output=self.max_output,
        )
        if out.truncated:
            log.debug("output cut at %d bytes: %r", self.max_output, cmd[:200])
        return result


@dataclasses.dataclass
class CappedResult(CommandResult):  # type: ignore[misc]
    """testinfra's command result, plus whether the output was cut at ``max_output``."""

    truncated: bool = False
    max_output: int = DEFAULT_MAX_OUTPUT


@dataclass(frozen=True)
class Output:
    """What a command printed (each stream at most ``max_output`` bytes) and its exit
    status: -1 when it was stopped before it said (output cut, channel closed)."""

    rc: int
    stdout: bytes
    stderr: bytes
    truncated: bool


def exec_bounded(
    transport: paramiko.Transport,
    command: bytes,
    *,
    timeout: float,
    max_output: int = DEFAULT_MAX_OUTPUT,
    stdin: bytes | None = None,
) -> Output:
    """Run ``command`` on a new channel of ``transport``. Every wait (the channel, stdin,
    the output, the exit status) ends ``timeout`` s after the start: TimeoutError then.
    Reading stops when a stream reaches ``max_output`` bytes: the channel is closed (the
    command is stopped) and the result says ``truncated``. The channel is noted in the
    caller's :class:`Channels` (:func:`owned_by`): closed under it, the command raises
    EOFError. A channel the server refuses (its MaxSessions reached by the other controls
    of the host) is asked again for up to 2 s."""
    deadline = time.monotonic() + timeout
    owner = current_owner()
    chan = _open_session(transport, deadline)
    try:
        if owner is not None:
            owner.add(chan)  # raises when the caller is already abandoned
        chan.settimeout(timeout)
        chan.exec_command(command)
        if stdin is not None:
            chan.sendall(stdin)
            chan.shutdown_write()
        streams = {"out": bytearray(), "err": bytearray()}
        readers = {"out": chan.recv, "err": chan.recv_stderr}
        ready = {"out": chan.recv_ready, "err": chan.recv_stderr_ready}
        while True:
            pending = [name for name in streams if ready[name]()]
            if not pending:
                if chan.eof_received or chan.closed:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"not finished in {timeout:g} s")
                select.select([chan], [], [], min(left, 1.0))
                continue
            for name in pending:
                buffer = streams[name]
                buffer += readers[name](min(_CHUNK, max_output - len(buffer) + 1))
                if len(buffer) > max_output:
                    del buffer[max_output:]
                    rc = chan.exit_status if chan.exit_status_ready() else -1
                    return Output(rc, bytes(streams["out"]), bytes(streams["err"]), True)
            if time.monotonic() > deadline:
                raise TimeoutError(f"not finished in {timeout:g} s")
        if not chan.status_event.wait(max(0.0, deadline - time.monotonic())):
            raise TimeoutError(f"not finished in {timeout:g} s (no exit status)")
        _still_owned(owner)
        return Output(chan.exit_status, bytes(streams["out"]), bytes(streams["err"]), False)
    finally:
        chan.close()
        if owner is not None:
            owner.discard(chan)


def _still_owned(owner: Channels | None) -> None:
    """EOFError when the caller's channels were closed under it (it was abandoned)."""
    if owner is not None and owner.closed:
        raise EOFError("channel closed: its caller was abandoned")


def _open_session(transport: paramiko.Transport, deadline: float) -> Any:
    """A new session channel; a refusal is asked again a few times before the deadline."""
    for attempt in range(_REOPEN_TRIES):
        try:
            return transport.open_session(timeout=max(0.1, deadline - time.monotonic()))
        except paramiko.ChannelException:
            if attempt == _REOPEN_TRIES - 1 or time.monotonic() + _REOPEN_WAIT > deadline:
                raise
            time.sleep(_REOPEN_WAIT)
    raise AssertionError("unreachable")  # pragma: no cover


def testinfra_host(
    client: paramiko.SSHClient,
    name: str,
    command_timeout: float,
    become_password: str | None,
    *,
    max_output: int,
) -> Host:
    """testinfra's Host API (file, package, service, run, ...) over ``client``; each
    command's streams are read up to ``max_output`` bytes."""
    backend = _Backend(client, name, command_timeout, become_password, max_output)
    host = Host(backend)
    backend.set_host(host)
    return host
