"""A Locust worker of ``toolkit load`` (``python -m toolkit.load.worker --master-host H``):
connects to the master, takes the run's configuration from it (the probe's password from
its own file), runs the users the master assigns, reports every second."""

# ruff: noqa: I001  (Locust is imported first: it patches the process for gevent)
from __future__ import annotations

import locust.runners  # first: Locust patches the process for gevent

import argparse
import os
import logging
from typing import Any

import gevent
import gevent.event
from locust.env import Environment

from toolkit.load import classes
from toolkit.load.config import LoadConfig
from toolkit.load.config import MAX_SECONDS
from toolkit.load.runner import (
    CONFIG_MESSAGE,
    QUIT_MESSAGE,
    USER_STOP_SECONDS,
    WORKER_REPORT_SECONDS,
)

log = logging.getLogger(__name__)
#: A worker never outlives its run by more than this (the master may vanish).
GRACE_SECONDS = 120


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--master-host", required=True)
    parser.add_argument("--master-port", type=int, default=5557)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="load worker: %(message)s")
    locust.runners.WORKER_REPORT_INTERVAL = WORKER_REPORT_SECONDS
    env = Environment(user_classes=classes.ALL, stop_timeout=USER_STOP_SECONDS)
    runner = env.create_worker_runner(args.master_host, args.master_port)
    done = gevent.event.Event()

    def on_config(environment: Environment, msg: Any, **_: Any) -> None:
        config = LoadConfig.model_validate(msg.data["config"])
        classes.configure(config, float(msg.data["rate_share"]))
        gevent.spawn_later(config.duration + GRACE_SECONDS, done.set)

    runner.register_message(CONFIG_MESSAGE, on_config)
    runner.register_message(QUIT_MESSAGE, lambda *_, **__: done.set())
    # Until the master says the run is over, at most the longest run and its grace time.
    done.wait(MAX_SECONDS + GRACE_SECONDS)
    runner.client.close(linger=0)  # type: ignore[no-untyped-call]  # unsent reports are dropped: the master has finished
    logging.shutdown()
    # Leave now: gevent's resolver threads and zmq's context would hold the exit.
    os._exit(0)


if __name__ == "__main__":
    main()
