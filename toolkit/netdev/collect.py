"""Read a network device's configuration and version: over SSH with netmiko, read-only,
or from the files of an offline audit (``--config-dir``); then parse it.

Over SSH every step is bounded: TCP connect, SSH banner and login within ``connect``
seconds, each command within ``command`` seconds, each answer read up to ``max_output``
characters. The connection is read-only by construction: every line written to the
device's shell is checked against READ_ONLY (show/get commands, terminal settings of the
session, enable) before it leaves, so configuration mode is never entered: netmiko's ASA
driver would enter it to set the terminal width (``allow_auto_change`` is off) and its
FortiOS driver to switch paging off (``config system console``), so FortiOS is read with
paging left as it is, each ``--More--`` answered with a space. Host keys are checked
against the inventory's known_hosts (a changed key is refused; an unknown one too unless
``accept_new``)."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from pathlib import Path
from typing import Any

import paramiko
from netmiko.cisco.cisco_asa_ssh import CiscoAsaSSH
from netmiko.cisco.cisco_ios import CiscoIosSSH
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoBaseException
from netmiko.fortinet.fortinet_ssh import FortinetSSH

from toolkit.netdev import fortios
from toolkit.netdev.ios import CiscoConfig
from toolkit.netdev.model import DeviceConfig, DeviceError, DeviceSpec, HostKey
from toolkit.netdev.platforms import COMMANDS, Platform

log = logging.getLogger(__name__)

#: The only lines the collector lets reach a device's shell (besides the enable secret):
#: no pipe (IOS's `| redirect`, `| append` and `| tee` write files).
READ_ONLY = re.compile(
    r"^((show|get) [^|]+|terminal (length|width|pager) \d+|enable|login|exit|a|)$"
)
_MORE = re.compile(r"(?: ?--More-- ?|<--- More --->)(?:[\x08 ]*)")
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x08")
#: Seconds of silence after the prompt that end an answer.
QUIET = 0.05
SAVED_SUFFIX = ".cfg"
VERSION_SUFFIX = ".version"


class WriteRefusedError(DeviceError):
    """A line that is not read-only was about to be written to the device."""


class _ReadOnly:
    """Mixin for netmiko drivers: refuses every line outside READ_ONLY."""

    _secret_allowed = False

    def write_channel(self, out_data: str) -> None:
        if not self._secret_allowed:
            for line in out_data.replace("\r", "\n").split("\n"):
                if not READ_ONLY.match(line.strip()):
                    raise WriteRefusedError(f"refused to send {line.strip()[:60]!r}: read-only")
        super().write_channel(out_data)  # type: ignore[misc]

    def enable(self, *args: Any, **kwargs: Any) -> str:
        self._secret_allowed = True
        try:
            return super().enable(*args, **kwargs)  # type: ignore[misc,no-any-return]
        finally:
            self._secret_allowed = False

    def asa_login(self) -> None:
        self._secret_allowed = True
        try:
            super().asa_login()  # type: ignore[misc]
        finally:
            self._secret_allowed = False


class ReadOnlyIOS(_ReadOnly, CiscoIosSSH):
    pass


class ReadOnlyASA(_ReadOnly, CiscoAsaSSH):
    pass


class ReadOnlyFortiOS(_ReadOnly, FortinetSSH):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # FortinetSSH narrows key exchange to old Diffie-Hellman groups: keep paramiko's
        kwargs.setdefault("disabled_algorithms", {"kex": ["diffie-hellman-group1-sha1"]})
        super().__init__(*args, **kwargs)

    def session_preparation(self) -> None:
        """Only the banner and the prompt: no VDOM, version or paging settings probed or
        changed (netmiko's driver would configure the console)."""
        data = self._test_channel_read(pattern=f"to accept|{self.prompt_pattern}")
        if "to accept" in data:
            self.write_channel("a" + self.RETURN)
            self._test_channel_read(pattern=self.prompt_pattern)
        self.set_base_prompt()

    def cleanup(self, command: str = "exit") -> None:
        with contextlib.suppress(OSError):
            self.write_channel(command + self.RETURN)


_DRIVERS: dict[Platform, type[Any]] = {
    Platform.IOS: ReadOnlyIOS,
    Platform.ASA: ReadOnlyASA,
    Platform.FORTIOS: ReadOnlyFortiOS,
}


def _first_line(path: Path | None, what: str) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError, UnicodeDecodeError) as exc:
        raise DeviceError(f"cannot read the {what} file {path}: {exc}") from exc


def clean(raw: str, command: str) -> str:
    """A command's answer without the echoed command, the pager's marks and the prompt."""
    text = _CONTROL.sub("", _MORE.sub("", raw.replace("\r", "")))
    lines = text.split("\n")
    if lines and command in lines[0]:
        lines = lines[1:]
    if lines:
        lines = lines[:-1]  # the prompt after the answer
    return "\n".join(lines).strip("\n")


def ask(conn: Any, command: str, *, timeout: float, max_output: int) -> str:
    """Send one read-only command and read its answer up to the prompt, at most
    ``max_output`` characters and ``timeout`` seconds; pages are turned with a space. The
    prompt must start a line and nothing may follow it for a moment (a configuration line
    that looks like the prompt does not end the answer)."""
    prompt = re.compile(r"(?:^|\n)" + re.escape(conn.base_prompt) + r"[^\n]{0,40}[#>$]\s*$")
    conn.write_channel(command + conn.RETURN)
    deadline = time.monotonic() + timeout
    buf = pending = ""
    while True:
        chunk, pending = pending or conn.read_channel(), ""
        if chunk:
            buf += chunk
            if len(buf) > max_output:
                raise DeviceError(
                    f"`{command}`: answer longer than {max_output} characters (--max-output)"
                )
            tail = buf[-200:].replace("\r", "")
            if _MORE.search(tail) and not prompt.search(tail):
                conn.write_channel(" ")
                continue
            if prompt.search(tail):
                time.sleep(QUIET)
                pending = conn.read_channel()
                if not pending:
                    return clean(buf, command)
                continue
        if time.monotonic() > deadline:
            raise DeviceError(f"`{command}`: no complete answer in {timeout:g} s")
        time.sleep(0.02)


def complete(running: str, command: str) -> str:
    """``running`` when it ends as a whole configuration does (``end``, ASA's ``: end``),
    else DeviceError: a configuration cut short is never judged."""
    lines = [ln.strip() for ln in running.splitlines() if ln.strip()]
    if not lines or lines[-1] not in {"end", ": end"}:
        raise DeviceError(f"`{command}`: the answer does not end with `end`: cut short")
    return running


def _connect(spec: DeviceSpec, *, timeout: float, command_timeout: float, accept_new: bool) -> Any:
    password = _first_line(spec.password_file, "password")
    secret = _first_line(spec.enable_password_file, "enable password")
    known = spec.known_hosts
    return _DRIVERS[spec.platform](
        host=spec.host,
        port=spec.port,
        username=spec.user or "",
        password=password or "",
        secret=secret or "",
        use_keys=spec.key_file is not None,
        key_file=str(spec.key_file) if spec.key_file else None,
        allow_agent=False,
        ssh_strict=not accept_new,
        system_host_keys=False,
        alt_host_keys=known is not None,
        alt_key_file=str(known) if known else "",
        conn_timeout=timeout,
        auth_timeout=timeout,
        banner_timeout=timeout,
        blocking_timeout=command_timeout,
        read_timeout_override=command_timeout,
        session_timeout=command_timeout,
        allow_auto_change=False,
        fast_cli=True,
    )


def _connect_error(spec: DeviceSpec, exc: Exception) -> DeviceError:
    """Why the connection failed, in one line (netmiko wraps paramiko's host key
    refusals in its timeout exception)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, paramiko.BadHostKeyException) or "does not match" in text:
        return DeviceError(f"host key changed (refused): {text[:300]}")
    if "not found in known_hosts" in text:
        return DeviceError(
            f"unknown host key: [{spec.host}]:{spec.port} is not in {spec.known_hosts} "
            "(--accept-new-host-keys adds it)"
        )
    return DeviceError(f"{type(exc).__name__}: {text[:300]}")


def _host_key(conn: Any) -> HostKey | None:
    try:
        key = conn.remote_conn_pre.get_transport().get_remote_server_key()
    except AttributeError:
        return None
    return HostKey(str(key.get_name()), int(key.get_bits()))


def collect(
    spec: DeviceSpec,
    *,
    timeout: float = 10.0,
    command_timeout: float = 30.0,
    max_output: int = 4 * 1024 * 1024,
    accept_new: bool = False,
) -> DeviceConfig:
    """Read the device over SSH and parse what it said (DeviceError when it cannot)."""
    commands = COMMANDS[spec.platform]
    try:
        conn = _connect(
            spec, timeout=timeout, command_timeout=command_timeout, accept_new=accept_new
        )
    except NetmikoAuthenticationException as exc:
        given = "" if spec.password_file or spec.key_file else " and the inventory gives none"
        raise DeviceError(
            f"login refused: the device asks for a password{given} "
            f"(audit_password_file or ansible_ssh_private_key_file): {str(exc)[:200]}"
        ) from exc
    except (NetmikoBaseException, paramiko.SSHException, OSError, EOFError, ValueError) as exc:
        raise _connect_error(spec, exc) from exc
    try:
        host_key = _host_key(conn)
        if spec.platform is not Platform.FORTIOS and not conn.check_enable_mode():
            conn.enable()
        version = ask(conn, commands.version, timeout=command_timeout, max_output=max_output)
        running = complete(
            ask(conn, commands.running, timeout=command_timeout, max_output=max_output),
            commands.running,
        )
    except DeviceError:
        raise
    except (NetmikoBaseException, paramiko.SSHException, OSError, EOFError, ValueError) as exc:
        raise DeviceError(f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}") from exc
    finally:
        try:
            conn.disconnect()
        except (NetmikoBaseException, paramiko.SSHException, OSError, EOFError, ValueError):
            log.debug("%s: disconnect failed", spec.name, exc_info=True)
    return parsed(spec, running, version, f"{commands.running} on {spec}", host_key)


def _read_capped(path: Path, max_output: int) -> str:
    try:
        with path.open("rb") as f:
            data = f.read(max_output + 1)
    except OSError as exc:
        raise DeviceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_output:
        raise DeviceError(f"{path}: longer than {max_output} bytes (--max-output)")
    return data.decode("utf-8", errors="replace")


def read_saved(spec: DeviceSpec, *, max_output: int = 4 * 1024 * 1024) -> DeviceConfig:
    """The configuration saved in ``spec.saved`` (and ``NAME.version`` beside it, when
    there is one), parsed."""
    if spec.saved is None:
        raise DeviceError("no saved configuration given")
    if not spec.saved.is_file():
        raise DeviceError(f"no saved configuration {spec.saved}")
    running = _read_capped(spec.saved, max_output)
    version_file = spec.saved.with_suffix(VERSION_SUFFIX)
    version = _read_capped(version_file, max_output) if version_file.is_file() else ""
    return parsed(spec, running, version, str(spec.saved), None)


def parsed(
    spec: DeviceSpec, running: str, version: str, source: str, host_key: HostKey | None
) -> DeviceConfig:
    """The configuration parsed for its platform (DeviceError naming the line when it
    cannot be)."""
    if not running.strip():
        raise DeviceError(f"{source}: empty configuration")
    if spec.platform is Platform.FORTIOS:
        try:
            tree = fortios.parse(running)
        except fortios.ParseError as exc:
            raise DeviceError(f"{source}: {exc}") from exc
        return DeviceConfig(
            spec.name, spec.platform, source, running, version, forti=tree, host_key=host_key
        )
    return DeviceConfig(
        spec.name,
        spec.platform,
        source,
        running,
        version,
        cisco=CiscoConfig(running, spec.platform),
        host_key=host_key,
    )


def load(
    spec: DeviceSpec,
    *,
    timeout: float,
    command_timeout: float,
    max_output: int,
    accept_new: bool = False,
) -> DeviceConfig:
    """Saved files for an offline audit, else the device itself."""
    if spec.saved is not None:
        return read_saved(spec, max_output=max_output)
    return collect(
        spec,
        timeout=timeout,
        command_timeout=command_timeout,
        max_output=max_output,
        accept_new=accept_new,
    )
