"""Podman, always with the project's containers.conf and a timeout."""

from __future__ import annotations

import json
import os
import subprocess
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

from toolkit.adapters.process import run
from toolkit.errors import ExternalCommandError

CONTAINERS_CONF = Path(str(files("toolkit.lab").joinpath("containers.conf")))


def podman_env() -> dict[str, str]:
    """The environment every podman call (and molecule's) runs with."""
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    return env


class Podman:
    """Thin wrapper: ``podman(*args)`` runs ``podman ARGS`` and returns the process."""

    def __init__(self, timeout: float = 120.0) -> None:
        self.timeout = timeout
        self.env = podman_env()

    def __call__(
        self,
        *args: str,
        timeout: float | None = None,
        check: bool = True,
        input_bytes: bytes | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return run(
            ["podman", *args],
            timeout=timeout or self.timeout,
            check=check,
            env=self.env,
            input_bytes=input_bytes,
        )

    def json(self, *args: str) -> Any:
        out = self(*args).stdout.strip()
        try:
            return json.loads(out) if out else []
        except json.JSONDecodeError as exc:
            raise ExternalCommandError(f"podman {' '.join(args)}: not JSON: {out[:200]}") from exc

    def containers(self, label: str) -> list[dict[str, Any]]:
        """Every container (running or not) carrying ``label`` (``key=value``)."""
        found: list[dict[str, Any]] = self.json(
            "ps", "--all", "--filter", f"label={label}", "--format", "json"
        )
        return found

    def image_labels(self, ref: str) -> dict[str, str] | None:
        """The labels of an image, or None when the image does not exist."""
        if self("image", "exists", ref, check=False).returncode != 0:
            return None
        data = self.json("image", "inspect", ref)
        labels: dict[str, str] = (data[0].get("Labels") or {}) if data else {}
        return labels

    def network_exists(self, name: str) -> bool:
        return self("network", "exists", name, check=False).returncode == 0

    def remove(self, container: str, *, attempts: int = 4, pause: float = 3.0) -> None:
        """Remove a container, running or not, and give its processes time to die.

        ``podman rm --force`` kills the container and waits a few seconds for its processes;
        a loaded host can take longer to reap a large process (a media server flushing its
        recordings), and podman then gives up with "given PIDs did not die within timeout"
        while the container is still being stopped. The removal is retried a bounded number
        of times (``attempts``, ``pause`` seconds apart, growing); a container already gone
        counts as removed.
        """
        for attempt in range(1, attempts + 1):
            done = self(
                "rm", "--force", "--ignore", "--time", "5", container, check=False, timeout=60
            )
            if done.returncode == 0:
                return
            tail = " / ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            if attempt == attempts:
                raise ExternalCommandError(
                    f"podman rm --force {container}: still there after {attempts} attempts: {tail}"
                )
            time.sleep(pause * attempt)
