"""What ``toolkit backup`` reads and writes on a host, over a real SSH session (paramiko's
server on 127.0.0.1 running each command with this machine's shell): a missing file is
None, a file is read up to its cap, the drill's copy is written as root through a
temporary file, and a host that does not answer in time is unreachable."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import paramiko
import pytest

from tests.audit.fake_ssh import fake_ssh_server
from toolkit.backup.remote import Target, UnreachableError, with_session
from toolkit.backup.scratch import Scratch, stream_repository
from toolkit.errors import ToolkitError

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("sudo") is None, reason="writes as root through sudo -n"
)


def shell(channel: paramiko.Channel, command: str) -> None:
    """Run ``command`` here; stdin is what the client sends before it stops writing (or
    nothing, when it sends nothing within half a second)."""

    def answer() -> None:
        channel.settimeout(0.5)
        data = b""
        try:
            while chunk := channel.recv(65536):
                data += chunk
        except TimeoutError:
            pass
        if command.startswith("sleep"):
            time.sleep(3)
        proc = subprocess.run(
            ["sh", "-c", command], input=data, capture_output=True, timeout=30, check=False
        )
        channel.sendall(proc.stdout)
        channel.sendall_stderr(proc.stderr)
        channel.send_exit_status(proc.returncode)
        channel.close()

    threading.Thread(target=answer, daemon=True).start()


def test_files_are_read_capped_missing_ones_are_none_and_the_copy_is_written(
    tmp_path: Path,
) -> None:
    status = tmp_path / "status.json"
    status.write_bytes(b"x" * 100)
    copy = tmp_path / "sub" / "last-drill.json"
    with fake_ssh_server(tmp_path, shell, lambda: None) as endpoint:
        target = Target("directory", frozenset({"servers"}), endpoint, {})

        def work(session):  # type: ignore[no-untyped-def]
            session.write(str(copy), b'{"host": "directory"}\n')
            return (
                session.read(str(status), 1000),
                session.read(str(status), 10),
                session.read(str(tmp_path / "none.json"), 1000),
            )

        whole, capped, missing = with_session(target, 5.0, work)
    assert whole == b"x" * 100
    assert capped == b"x" * 11  # one byte over the cap: the parser refuses it as too large
    assert missing is None
    assert copy.read_bytes() == b'{"host": "directory"}\n'
    assert oct(copy.stat().st_mode & 0o777) == "0o644"
    assert not list(copy.parent.glob("*.tmp"))


def test_a_host_that_does_not_answer_in_time_is_unreachable(tmp_path: Path) -> None:
    with fake_ssh_server(tmp_path, shell, lambda: None) as endpoint:
        target = Target("mail", frozenset({"servers"}), endpoint, {})
        with pytest.raises(UnreachableError, match="not finished in 1 s"):
            with_session(target, 1.0, lambda s: s.run("sleep 3", cap=100))


@pytest.mark.skipif(shutil.which("borg") is None, reason="needs borgbackup (./run setup)")
def test_the_repository_is_streamed_from_the_backup_server_under_borgs_lock(
    tmp_path: Path,
) -> None:
    repo, copy = tmp_path / "srv" / "directory", tmp_path / "copy"
    copy.mkdir()
    env = {"BORG_PASSPHRASE": "t", "BORG_BASE_DIR": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    repo.parent.mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "f").write_text("x\n")
    subprocess.run(
        ["borg", "init", "-e", "repokey-blake2", str(repo)],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    subprocess.run(
        ["borg", "create", f"{repo}::a", "."],
        cwd=tmp_path / "data",
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    with fake_ssh_server(tmp_path, shell, lambda: None) as endpoint:
        target = Target("backup", frozenset({"servers", "backup_servers"}), endpoint, {})
        copied = with_session(
            target,
            10.0,
            lambda s: stream_repository(
                s,
                str(repo),
                Scratch("unused", "backup"),
                "",
                timeout=60,
                max_bytes=10**8,
                sink_argv=["tar", "-xf", "-", "-C", str(copy)],
            ),
        )
        assert copied > 1000
        listed = subprocess.run(
            ["borg", "list", "--short", str(copy)],
            env={**env, "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes"},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert listed.stdout == "a\n"
        assert not (repo / "lock.exclusive").exists()  # with-lock let go
        with pytest.raises(ToolkitError, match="exited"):
            with_session(
                target,
                10.0,
                lambda s: stream_repository(
                    s,
                    str(tmp_path / "none"),
                    Scratch("unused", "backup"),
                    "",
                    timeout=60,
                    max_bytes=10**8,
                    sink_argv=["tar", "-xf", "-", "-C", str(copy)],
                ),
            )
