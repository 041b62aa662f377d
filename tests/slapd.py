"""A throwaway slapd for tests: configured from an LDIF with slapadd, run in the
foreground (no fork, so the test owns the process), waited for with a bound, stopped at the
end. Used by the directory module's tests and by the AD-style identity contract test."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

SLAPD = Path("/usr/sbin/slapd")


@contextmanager
def running_slapd(
    folder: Path,
    config_ldif: str,
    uris: Sequence[str],
    ready: Callable[[], bool],
    *,
    data: tuple[str, str] | None = None,
    timeout: float = 30.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """slapd with ``config_ldif`` (cn=config) and, when given, ``data`` (suffix, LDIF)
    loaded offline, listening on ``uris``; yields once ``ready()`` says it answers, fails
    the test with slapd's log if it does not within ``timeout`` seconds."""
    (folder / "config").mkdir()
    (folder / "db").mkdir()
    (folder / "config.ldif").write_text(config_ldif, encoding="utf-8")
    loads = [["-n0", "-l", str(folder / "config.ldif")]]
    if data is not None:
        (folder / "data.ldif").write_text(data[1], encoding="utf-8")
        loads.append(["-b", data[0], "-l", str(folder / "data.ldif")])
    for load in loads:
        subprocess.run(
            [str(SLAPD.with_name("slapadd")), "-F", str(folder / "config"), *load],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    log = (folder / "slapd.log").open("w")
    server = subprocess.Popen(
        [str(SLAPD), "-d", "0", "-F", str(folder / "config"), "-h", " ".join(uris)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"slapd did not answer: {(folder / 'slapd.log').read_text()}")
            time.sleep(0.1)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()
