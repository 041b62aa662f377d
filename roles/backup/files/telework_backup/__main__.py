"""telework-backup [--settings FILE]: one backup run (the systemd unit telework-backup.service
runs it). Exit 0 when the backup succeeded, 1 when it failed (status.json says why), 2 when
the settings cannot be read."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from telework_backup.run import Settings, run_backup

log = logging.getLogger("telework_backup")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="telework-backup", description=__doc__)
    parser.add_argument("--settings", type=Path, default=Path("/etc/telework/backup.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    try:
        settings = Settings.load(args.settings)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.error("%s: cannot read the settings (%s)", args.settings, exc)
        return 2
    status = run_backup(settings)
    if status["result"] == "ok":
        log.info("backup ok: archive %s in %.1f s", status["archive"], status["duration_seconds"])
        return 0
    log.error("backup failed: %s", status["error"])
    return 1


if __name__ == "__main__":
    sys.exit(main())
