"""Janus' HTTP API as janus.js' HTTP fallback speaks it through the meeting site's nginx:
create a session, attach VideoRoom, join a room as a publisher (no media), keepalive,
leave and destroy. The transport is the caller's (``toolkit load meeting``'s capped HTTPS
client, bench/visio.py's requests session): a function that sends a JSON body (or GETs
when it is None) and returns the decoded answer.

Every answer is checked for its shape; what Janus says reaches an error only made
printable and cut short. The wait for the "joined" event is bounded in time and in polls."""

from __future__ import annotations

import secrets
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from toolkit.text import printable

PLUGIN = "janus.plugin.videoroom"
#: Events asked for on one long poll, and long polls made while waiting for "joined".
MAX_EVENTS = 5
MAX_POLLS = 20
#: method-less transport: ``(path, body)``; a None body is a GET (the long poll).
Transport = Callable[[str, dict[str, Any] | None], Any]


class JanusError(OSError):
    """Janus refused a request, or answered out of protocol."""


def _reason(answer: Any) -> str:
    if isinstance(answer, dict):
        error = answer.get("error")
        if isinstance(error, dict):
            return printable(str(error.get("reason", ""))[:120])
        data = (answer.get("plugindata") or {}).get("data") or {}
        if isinstance(data, dict) and "error" in data:
            return printable(str(data["error"])[:120])
    return printable(str(answer)[:120])


class Session:
    """One Janus session with one VideoRoom handle, as one participant's browser has."""

    def __init__(self, transport: Transport, path: str, token: str, timeout: float) -> None:
        self.transport, self.path, self.token, self.timeout = transport, path, token, timeout
        self.session_id: int | None = None
        self.handle_id: int | None = None

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": secrets.token_hex(8), "token": self.token}
        answer = self.transport(path, body)
        if not isinstance(answer, dict) or answer.get("janus") not in ("success", "ack"):
            raise JanusError(f"Janus refused {body['janus']}: {_reason(answer)}")
        return answer

    @staticmethod
    def _id(answer: dict[str, Any]) -> int:
        value = (
            (answer.get("data") or {}).get("id") if isinstance(answer.get("data"), dict) else None
        )
        if not isinstance(value, int) or isinstance(value, bool):
            raise JanusError(f"Janus answered without an id: {_reason(answer)}")
        return value

    @property
    def session_path(self) -> str:
        return f"{self.path}/{self.session_id}"

    def create(self) -> None:
        """Create the session and attach VideoRoom to it."""
        self.session_id = self._id(self._post(self.path, {"janus": "create"}))
        self.handle_id = self._id(
            self._post(self.session_path, {"janus": "attach", "plugin": PLUGIN})
        )

    def join(self, room: str, display: str) -> None:
        """Join ``room`` as a publisher and wait, on the session's long poll, for VideoRoom's
        "joined" event (a refusal or a silence past the timeout is a failure)."""
        join = {"request": "join", "ptype": "publisher", "room": room, "display": display}
        self._post(f"{self.session_path}/{self.handle_id}", {"janus": "message", "body": join})
        deadline = time.monotonic() + self.timeout
        for _ in range(MAX_POLLS):
            if time.monotonic() > deadline:
                break
            query = f"?maxev={MAX_EVENTS}&token={urllib.parse.quote(self.token, safe='')}"
            events = self.transport(self.session_path + query, None)
            for event in events if isinstance(events, list) else [events]:
                if not isinstance(event, dict):
                    raise JanusError(f"Janus event out of protocol: {_reason(event)}")
                data = (event.get("plugindata") or {}).get("data") or {}
                if event.get("janus") == "error" or (
                    isinstance(data, dict) and "error_code" in data
                ):
                    raise JanusError(f"VideoRoom refused the join: {_reason(event)}")
                if isinstance(data, dict) and data.get("videoroom") == "joined":
                    return
        raise JanusError(f"no joined event within {self.timeout:g} s")

    def keepalive(self) -> None:
        self._post(self.session_path, {"janus": "keepalive"})

    def destroy(self) -> None:
        """Leave the room (detaching the handle does) and destroy the session."""
        if self.session_id is None:
            return
        try:
            self._post(self.session_path, {"janus": "destroy"})
        finally:
            self.session_id = self.handle_id = None
