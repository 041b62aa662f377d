"""The drill's scratch container: a podman container of the lab image
(localhost/telework-debian:12, toolkit.lab.image) running systemd, with the machine's apt
cache mounted as the Molecule scenarios mount it, borgbackup, slapd and PostgreSQL
installed in it, and a repository streamed into it from the backup server.

Every podman call has a time limit (toolkit.adapters.podman); the stream from the backup
server has one for the whole transfer and a cap on the bytes it accepts.
"""

from __future__ import annotations

import contextlib
import logging
import shlex
import subprocess
import time
from collections.abc import Sequence

import paramiko

from toolkit.adapters.podman import Podman, podman_env
from toolkit.adapters.ssh import sudo_prefix
from toolkit.backup.remote import Session, UnreachableError
from toolkit.errors import ExternalCommandError, ToolkitError
from toolkit.lab.image import apt_cache_volumes, build_image
from toolkit.text import printable

log = logging.getLogger(__name__)

LABEL = "io.telework.drill"
PACKAGES = ("borgbackup", "slapd", "ldap-utils", "postgresql")
INSTALL = (
    "set -e; export DEBIAN_FRONTEND=noninteractive; apt-get update -q >/dev/null; "
    "apt-get install -y -q --no-install-recommends {packages} >/dev/null"
)
_CHUNK = 256 * 1024


class Scratch:
    """One scratch container, removed by :meth:`remove` (the drill always calls it)."""

    def __init__(self, name: str, host: str, podman: Podman | None = None) -> None:
        self.name, self.host = name, host
        self.podman = podman or Podman(timeout=120.0)

    def start(self, release: str = "bookworm", boot_timeout: float = 90.0) -> None:
        """Boot a container of the lab image of ``release`` (built first if this machine has
        none: a drill of a Debian 13 host may be the first thing that needs it)."""
        ref = build_image(release)
        volumes = [arg for v in apt_cache_volumes(release) for arg in ("--volume", v)]
        self.podman(
            "run",
            "--detach",
            "--name",
            self.name,
            "--hostname",
            f"drill-{self.host}"[:63],
            "--label",
            f"{LABEL}={self.host}",
            "--systemd",
            "always",
            *volumes,
            ref,
            "/sbin/init",
        )
        deadline = time.monotonic() + boot_timeout
        state = ""
        while time.monotonic() < deadline:
            res = self.podman(
                "exec", self.name, "systemctl", "is-system-running", check=False, timeout=30
            )
            state = res.stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(1)
        raise ToolkitError(f"scratch container {self.name}: systemd not up in time ({state})")

    def install(self, packages: Sequence[str] = PACKAGES, timeout: float = 900.0) -> None:
        script = INSTALL.format(packages=" ".join(shlex.quote(p) for p in packages))
        self.sh(script, timeout=timeout)

    def exec(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120.0,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        envs = [arg for k, v in (env or {}).items() for arg in ("--env", f"{k}={v}")]
        return self.podman(
            "exec",
            *(["--interactive"] if stdin is not None else []),
            *envs,
            self.name,
            *argv,
            timeout=timeout,
            check=check,
            input_bytes=stdin.encode() if stdin is not None else None,
        )

    def sh(
        self,
        script: str,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 120.0,
        check: bool = True,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``sh -c SCRIPT drill ARGS...`` in the container (arguments never spliced)."""
        return self.exec(
            ["sh", "-c", script, "drill", *args], env=env, timeout=timeout, check=check, stdin=stdin
        )

    def remove(self) -> None:
        """Remove the scratch container; a failure is logged, never hides the drill's result."""
        try:
            self.podman.remove(self.name)
        except ExternalCommandError as exc:
            log.warning("scratch container %s left behind: %s", self.name, exc)


def _pump(chan: paramiko.Channel, sink: subprocess.Popen[bytes], deadline: float, cap: int) -> int:
    """Feed what ``chan`` prints to ``sink``'s stdin until EOF; the bytes fed."""
    copied = 0
    stdin = sink.stdin
    if stdin is None:
        raise ToolkitError("the scratch container's tar has no stdin")
    while True:
        if time.monotonic() > deadline:
            raise ToolkitError("repository copy not finished in time (--copy-timeout)")
        try:
            data = chan.recv(_CHUNK)
        except TimeoutError:
            continue
        if not data:
            return copied
        copied += len(data)
        if copied > cap:
            raise ToolkitError(f"repository larger than {cap} bytes (--max-bytes)")
        try:
            stdin.write(data)
        except BrokenPipeError:
            raise ExternalCommandError("tar -x in the scratch container stopped reading") from None


def _remote_rc(chan: paramiko.Channel, deadline: float) -> tuple[int, str]:
    errors = b""
    while chan.recv_stderr_ready() and len(errors) < 65536:
        errors += chan.recv_stderr(4096)
    if not chan.status_event.wait(max(1.0, deadline - time.monotonic())):
        raise ToolkitError("repository copy: no exit status from the backup server")
    return chan.recv_exit_status(), printable(errors.decode(errors="replace").strip()[-300:])


def stream_repository(
    session: Session,
    repository: str,
    scratch: Scratch,
    target_dir: str,
    *,
    timeout: float,
    max_bytes: int,
    sink_argv: list[str] | None = None,
) -> int:
    """Copy the repository folder ``repository`` of the backup server into ``target_dir``
    of the scratch container: ``tar`` run by the repository's owner under ``borg
    with-lock`` (no backup writes to it meanwhile) on the backup server, read over SSH and
    fed to ``tar -x`` in the container. Nothing but the encrypted repository leaves the
    backup server, and the passphrase never goes there; the lock ``borg with-lock`` holds
    meanwhile stays behind (the copy would be locked). Returns the bytes copied.
    ``sink_argv`` replaces the container's ``tar -x`` (the tests unpack it here)."""
    repo = shlex.quote(repository)
    remote = (
        f"owner=$(stat -c %U {repo}) && cd {repo} && "
        f'runuser -u "$owner" -- borg with-lock {repo} tar -cf - '
        f"--exclude=./lock.exclusive --exclude=./lock.roster -C {repo} ."
    )
    command = f"{sudo_prefix(session.password)} /bin/sh -c {shlex.quote(remote)}"
    transport = session.client.get_transport()
    if transport is None or not transport.is_active():
        raise UnreachableError(f"{session.target.name}: SSH connection lost")
    deadline = time.monotonic() + timeout
    sink = subprocess.Popen(
        sink_argv
        or ["podman", "exec", "--interactive", scratch.name, "tar", "-xf", "-", "-C", target_dir],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=podman_env(),
    )
    try:
        chan = transport.open_session(timeout=30)
        chan.settimeout(5.0)
        chan.exec_command(command)
        if session.password is not None:
            chan.sendall(session.password.encode() + b"\n")
        chan.shutdown_write()
        copied = _pump(chan, sink, deadline, max_bytes)
        rc, why = _remote_rc(chan, deadline)
        chan.close()
    except (paramiko.SSHException, EOFError, ConnectionError) as exc:
        sink.kill()
        with contextlib.suppress(OSError, ValueError):
            if sink.stdin is not None:
                sink.stdin.close()
        raise UnreachableError(f"{session.target.name}: repository copy failed: {exc}") from exc
    except BaseException:
        sink.kill()
        with contextlib.suppress(OSError, ValueError):
            if sink.stdin is not None:
                sink.stdin.close()
        raise
    try:  # flushes and closes tar's stdin, then waits for it
        _, sink_err = sink.communicate(timeout=max(10.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired as exc:
        sink.kill()
        raise ExternalCommandError("tar -x in the scratch container did not end") from exc
    if rc != 0:
        raise ToolkitError(f"{session.target.name}: copying {repository} exited {rc}: {why}")
    if sink.returncode != 0:
        tail = printable(sink_err.decode(errors="replace").strip()[-300:])
        raise ExternalCommandError(
            f"tar -x in the scratch container exited {sink.returncode}: {tail}"
        )
    return copied
