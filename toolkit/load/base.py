"""What every teleworker user class shares (Locust): the run's rate limit and timed
operations reported to Locust's statistics, each within a deadline of its own.

Only the run process and its workers import this module: importing Locust patches the
process for gevent."""

from __future__ import annotations

import http.client
import imaplib
import time
from collections.abc import Callable

import gevent
from locust import User

from toolkit.controls import tls

#: What a failed operation raises: counted as a failure, never an end of the run.
FAILURES: tuple[type[BaseException], ...] = (
    OSError,
    imaplib.IMAP4.error,
    http.client.HTTPException,
    tls.CertificateRefusedError,
    ValueError,
)


class Limiter:
    """At most ``rate`` operations a second in this process (the run's ``max_rate`` shared
    between processes): an operation waits for its slot."""

    def __init__(self, rate: float) -> None:
        self.interval, self.next = 1.0 / rate, time.monotonic()

    def wait(self) -> None:
        now = time.monotonic()
        slot = max(now, self.next)
        self.next = slot + self.interval
        if slot > now:
            gevent.sleep(slot - now)


class OperationTimeoutError(OSError):
    """An operation outlived its deadline (a server that answers a byte at a time)."""


class TimedUser(User):
    """Base class: each operation waits for the rate limiter, then is timed and reported
    (its exception, if any, is the failure's text). ``deadline`` bounds the whole
    operation, whatever the server does."""

    abstract = True
    limiter: Limiter | None = None

    def measure(self, kind: str, name: str, action: Callable[[], int], deadline: float) -> bool:
        if TimedUser.limiter is not None:
            TimedUser.limiter.wait()
        start = time.perf_counter()
        length, error = 0, None
        try:
            with gevent.Timeout(
                deadline, OperationTimeoutError(f"{name}: no answer in {deadline:g} s")
            ):
                length = action()
        except FAILURES as exc:
            error = exc
        self.environment.events.request.fire(
            request_type=kind,
            name=name,
            response_time=(time.perf_counter() - start) * 1000,
            response_length=length,
            exception=error,
            context={},
        )
        return error is None
