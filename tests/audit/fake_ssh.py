"""A real SSH server (paramiko's) in a thread on 127.0.0.1 for the adapter's and the
runner's tests: a host key made here and pinned in a known_hosts written here, public-key
login with a client key made here, and every exec request handed to the test's own
``on_exec(channel, command)``, which answers it (usually from a thread of its own);
``on_connect()`` is called for every connection accepted."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import paramiko
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)

from toolkit.adapters.ssh import Endpoint

OnExec = Callable[[paramiko.Channel, str], None]


class _Server(paramiko.ServerInterface):
    def __init__(self, client_key: paramiko.PKey, on_exec: OnExec) -> None:
        self.client_key, self.on_exec = client_key, on_exec

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if key.get_base64() == self.client_key.get_base64():
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return OPEN_SUCCEEDED
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        self.on_exec(channel, command.decode(errors="replace"))
        return True


@contextmanager
def fake_ssh_server(
    tmp_path: Path, on_exec: OnExec, on_connect: Callable[[], None]
) -> Iterator[Endpoint]:
    """Serve SSH until the block ends; then the listener and every connection close."""
    host_key, client_key = paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()
    client_key.write_private_key_file(str(tmp_path / "id_ecdsa"))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(
        f"[127.0.0.1]:{port} {host_key.get_name()} {host_key.get_base64()}\n", encoding="ascii"
    )
    transports: list[paramiko.Transport] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(host_key)
            transports.append(transport)
            on_connect()
            transport.start_server(server=_Server(client_key, on_exec))

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield Endpoint("127.0.0.1", port, "admin", tmp_path / "id_ecdsa", known_hosts)
    finally:
        listener.close()
        for transport in transports:
            transport.close()
