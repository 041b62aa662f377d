"""Kernel limits of the machine that hosts the lab.

Every systemd container takes several inotify instances, and all rootful containers
count against root's single limit (``fs.inotify.max_user_instances``, 128 by default).
Past it, systemd inside a new container cannot watch its units and its boot stalls
(jobs wait forever, ``Too many open files``). The lab raises the limit for the running
kernel; nothing in /etc is written.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from toolkit.errors import ToolkitError

log = logging.getLogger(__name__)

INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
#: Enough for about 150 systemd containers.
MIN_INOTIFY_INSTANCES = 1024


def ensure_inotify_instances(
    minimum: int = MIN_INOTIFY_INSTANCES, path: Path = INOTIFY_INSTANCES
) -> int:
    """Raise the inotify instance limit to ``minimum`` if it is lower; the limit in force."""
    try:
        current = int(path.read_text().strip())
    except (OSError, ValueError):
        log.warning("cannot read %s; containers may stall at boot", path)
        return 0
    if current >= minimum:
        return current
    if os.geteuid() != 0:
        raise ToolkitError(
            f"{path} is {current}: systemd containers stall past it; as root run "
            f"`sysctl -w fs.inotify.max_user_instances={minimum}`"
        )
    try:
        path.write_text(f"{minimum}\n")
    except OSError as exc:
        raise ToolkitError(f"cannot raise {path} from {current} to {minimum}: {exc}") from exc
    log.info("raised %s from %d to %d", path, current, minimum)
    return minimum
