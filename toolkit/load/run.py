"""The process of one ``toolkit load`` run (``python -m toolkit.load.run CONFIG RESULT``):
Locust is imported first (it patches the process for gevent), the ramp runs, the probe
mailbox or calendar is cleaned, the result is written as JSON for the CLI to report."""

# ruff: noqa: I001  (Locust is imported first: it patches the process for gevent)
from __future__ import annotations

import locust  # noqa: F401  first: Locust patches the process for gevent

import argparse
import http.client
import imaplib
import logging
from pathlib import Path

from toolkit.controls import tls
from toolkit.errors import ToolkitError
from toolkit.load.cleanup import delete_events, delete_messages
from toolkit.load.config import LoadConfig
from toolkit.load.runner import ramp
from toolkit.text import printable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("result", type=Path)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--remote-workers", type=int, default=0)
    parser.add_argument("--master-bind", default="127.0.0.1")
    parser.add_argument("--master-port", type=int, default=5557)
    parser.add_argument("--no-cleanup", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s: %(message)s",
    )
    config = LoadConfig.model_validate_json(args.config.read_bytes())
    result = ramp(
        config,
        local_workers=args.workers,
        remote_workers=args.remote_workers,
        master_bind=args.master_bind,
        master_port=args.master_port,
    )
    # meeting: each participant left its room and destroyed its Janus session as it stopped
    clean = {"mail": delete_messages, "groupware": delete_events}.get(config.platform)
    if clean is not None and not args.no_cleanup:
        try:
            result = result.model_copy(update={"cleanup_deleted": clean(config)})
        except (OSError, imaplib.IMAP4.error, http.client.HTTPException, ToolkitError,
                tls.CertificateRefusedError) as exc:  # fmt: skip
            result = result.model_copy(update={"cleanup_error": printable(str(exc)[:300])})
    args.result.write_text(result.model_dump_json(indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
