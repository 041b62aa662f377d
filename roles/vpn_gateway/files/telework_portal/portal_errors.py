"""The one exception the teleworker portal's web app and its gate share: the gate refused a
request (its reply ``{"ok": false, "error": CODE}``) or could not be reached."""

from __future__ import annotations


class GateError(Exception):
    """The gate's refusal; ``code`` is its error code (``not-your-device``,
    ``outside-schedule``, ``firewall``, ``unavailable`` ...)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code
