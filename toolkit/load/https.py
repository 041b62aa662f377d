"""A small HTTPS client for the load user classes: one kept-alive connection a simulated
user, to the run's address, with TLS checked for the server's name (the name the
certificate carries, sent as Host too, so the server's links follow it). Cookies are kept
by name. Every answer is capped (:data:`MAX_BODY`, headers by http.client's own limits)
and every read bounded by the socket timeout; what a server says reaches an error text
only through :func:`toolkit.text.printable`, cut short.

No Locust import: under Locust's gevent patching the sockets cooperate."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any

from toolkit.controls import tls
from toolkit.text import printable

#: Largest answer body read (a SOGo page or a calendar listing, far below this).
MAX_BODY = 2_000_000
#: Longest piece of a server's text kept in an error.
MAX_ERROR_TEXT = 120
#: Cookies kept a client (a server cannot grow a user's jar without bound).
MAX_COOKIES = 20
#: SOGo answers clients it does not know with a "browser not supported" page.
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 telework-toolkit-load"


def basic_auth(login: str, password: str) -> str:
    """An Authorization header's value for HTTP Basic (RFC 7617)."""
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


class HttpError(OSError):
    """An answer out of what the step expects (status, size, content)."""


def shown(data: bytes | str) -> str:
    """A server's text as an error may carry it: decoded, made printable, cut short."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return printable(text[:MAX_ERROR_TEXT])


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def expect(self, *statuses: int) -> Reply:
        if self.status not in statuses:
            raise HttpError(f"HTTP {self.status} (expected {statuses}): {shown(self.body)}")
        return self

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise HttpError(f"answer is not JSON: {shown(self.body)}") from exc


@dataclass
class Client:
    """HTTPS to ``address``:``port`` as ``server_name`` (certificate checked by
    ``context``)."""

    address: str
    port: int
    server_name: str
    context: ssl.SSLContext
    timeout: float
    cookies: dict[str, str] = field(default_factory=dict)
    _conn: http.client.HTTPSConnection | None = None

    @property
    def host(self) -> str:
        return self.server_name if self.port == 443 else f"{self.server_name}:{self.port}"

    def _connect(self) -> http.client.HTTPSConnection:
        if self._conn is None:
            conn = http.client.HTTPSConnection(self.server_name, self.port, timeout=self.timeout)
            conn.sock = tls.connect(
                self.address, self.port, self.server_name, self.context, self.timeout
            )
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        max_body: int = MAX_BODY,
    ) -> Reply:
        """One request on the kept connection (a new one when the server closed it)."""
        sent = {"Host": self.host, "User-Agent": USER_AGENT, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn = self._connect()
            conn.request(method, path, body=body, headers=sent)
            answer = conn.getresponse()
            data = answer.read(max_body + 1)
            reply = Reply(answer.status, {k.lower(): v for k, v in answer.getheaders()}, data)
            for value in answer.headers.get_all("Set-Cookie") or []:
                self._keep(value)
            if len(data) > max_body:
                raise HttpError(f"answer to {method} longer than {max_body} bytes")
            if answer.will_close:
                self.close()
        except BaseException:
            self.close()  # a connection in an unknown state is not reused
            raise
        return reply

    def _keep(self, header: str) -> None:
        try:
            cookie = SimpleCookie(header)
        except CookieError:
            return
        for name, morsel in cookie.items():
            if morsel.value == "" or morsel["max-age"] == "0":
                self.cookies.pop(name, None)
            elif name in self.cookies or len(self.cookies) < MAX_COOKIES:
                self.cookies[name] = morsel.value
