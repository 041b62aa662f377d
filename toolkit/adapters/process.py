"""Running external commands: argv lists only, always with a timeout."""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Mapping, Sequence

from toolkit.errors import ExternalCommandError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0


def run(
    argv: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    input_bytes: bytes | None = None,
    cwd: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` and capture its output as text.

    Raises ExternalCommandError when the command is missing, times out, or (with
    ``check``) exits non-zero; the message carries the end of its stderr.
    """
    log.debug("run: %s", shlex.join(argv))
    try:
        proc = subprocess.run(
            list(argv),
            input=input_bytes.decode() if input_bytes is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ExternalCommandError(f"{argv[0]}: command not found (run `./run setup`)") from exc
    except subprocess.TimeoutExpired as exc:
        raise ExternalCommandError(f"{shlex.join(argv)}: no answer after {timeout:.0f} s") from exc
    if check and proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise ExternalCommandError(
            f"{shlex.join(argv)} exited {proc.returncode}: " + " / ".join(tail)
        )
    return proc
