"""The SSH channels one caller has open on a shared connection.

Several controls of a host run at once over its one SSH connection. Each runs its
commands inside :func:`owned_by` with a :class:`Channels` of its own; the SSH adapter notes
there every channel it opens for them. Abandoning a control closes its channels (the
commands it still waits on end) and leaves the other controls' channels alone.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import paramiko

log = logging.getLogger(__name__)

__all__ = ["Channels", "current_owner", "owned_by"]


class Channels:
    """The channels one caller (one control) has open; :meth:`close` closes them, and any
    it opens afterwards is closed at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[paramiko.Channel] = set()
        self.closed = False

    def add(self, chan: paramiko.Channel) -> None:
        with self._lock:
            if not self.closed:
                self._open.add(chan)
                return
        chan.close()
        raise EOFError("channel closed: its caller was abandoned")

    def discard(self, chan: paramiko.Channel) -> None:
        with self._lock:
            self._open.discard(chan)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            chans, self._open = list(self._open), set()
        if chans:
            log.debug("closing %d channel(s) of an abandoned caller", len(chans))
        for chan in chans:
            chan.close()


_OWNER: contextvars.ContextVar[Channels | None] = contextvars.ContextVar(
    "ssh_channels", default=None
)


@contextmanager
def owned_by(channels: Channels) -> Iterator[None]:
    """Channels opened by this thread inside the block are noted in ``channels``."""
    token = _OWNER.set(channels)
    try:
        yield
    finally:
        _OWNER.reset(token)


def current_owner() -> Channels | None:
    """The Channels of the caller running in this thread, if any."""
    return _OWNER.get()
