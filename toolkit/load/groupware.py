"""Teleworker user class for the groupware (SOGo, Locust): a web login (POST
/SOGo/connect, as SOGo's login page does), calendar pages opened with the session's
cookie, and events created in the probe's personal calendar over CalDAV (PUT) and read
back (REPORT calendar-multiget), as a calendar app does (E12, A20).

Every event's UID and file name carry the run's token (``telework-load-<token>-``): each
simulated user deletes its own events when it stops, and
:func:`toolkit.load.cleanup.delete_events` deletes whatever is left after the run.

Only the run process and its workers import this module (Locust)."""

from __future__ import annotations

import contextlib
import json
import random
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from locust import task

from toolkit.controls import tls
from toolkit.load.base import FAILURES, TimedUser
from toolkit.load.config import LoadConfig, calendar_path, event_prefix, read_password
from toolkit.load.https import Client, HttpError, basic_auth

STATE: dict[str, Any] = {}
#: What SOGo's page holds when it serves the login form instead of the application.
LOGIN_FORM_MARK = b"app.creds.username"


def configure(config: LoadConfig) -> None:
    password = read_password(config.account)
    STATE.update(
        config=config, password=password, basic=basic_auth(config.account.login, password),
        tls=tls.verifying_context(config.ca_file),
    )  # fmt: skip


def _config() -> LoadConfig:
    config: LoadConfig = STATE["config"]
    return config


def ics(uid: str, start: datetime) -> bytes:
    fmt = "%Y%m%dT%H%M%SZ"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//telework-toolkit//load//FR\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:{datetime.now(UTC).strftime(fmt)}\r\n"
        f"DTSTART:{start.strftime(fmt)}\r\n"
        f"DTEND:{(start + timedelta(minutes=30)).strftime(fmt)}\r\n"
        "SUMMARY:Test de charge (supprimé automatiquement)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def multiget(href: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"<D:prop><D:getetag/><C:calendar-data/></D:prop><D:href>{href}</D:href>"
        "</C:calendar-multiget>"
    ).encode()


class GroupwareTeleworker(TimedUser):
    """A teleworker on the groupware: logged in on the web, opening calendar pages, now and
    then creating an event from a calendar app and reading it back."""

    def wait_time(self) -> float:
        c = _config()
        per_hour = c.pages_per_hour + c.events_per_hour + c.web_logins_per_hour
        return random.expovariate(per_hour / 3600) if per_hour > 0 else 3600.0

    def _client(self) -> Client:
        c = _config()
        return Client(c.target, c.https_port, c.server_name, STATE["tls"], c.timeout)

    def on_start(self) -> None:
        self.web, self.dav = self._client(), self._client()
        self.created: list[str] = []
        self.timed("web login", self.login)

    def on_stop(self) -> None:
        """The user's events are deleted (what a stop interrupts, the run's cleanup gets)."""
        for path in self.created:
            with contextlib.suppress(*FAILURES):
                self.dav.request("DELETE", path, headers={"Authorization": STATE["basic"]})
        self.created = []
        self.web.close()
        self.dav.close()

    def timed(self, name: str, action: Any) -> None:
        c = _config()
        self.measure("HTTPS", name, action, c.timeout * 2)

    def login(self) -> int:
        """SOGo's login page's own request; a session cookie comes back."""
        c = _config()
        self.web.cookies.clear()
        body = json.dumps({"userName": c.account.login, "password": STATE["password"],
                           "rememberLogin": 0}).encode()  # fmt: skip
        reply = self.web.request(
            "POST", "/SOGo/connect", body, {"Content-Type": "application/json"}
        ).expect(200)
        if not self.web.cookies:
            raise HttpError("the web login set no session cookie")
        return len(reply.body)

    def page(self) -> int:
        """The calendar view, as the logged-in browser opens it."""
        reply = self.web.request("GET", f"/SOGo/so/{_config().account.login}/Calendar/view")
        reply.expect(200)
        if LOGIN_FORM_MARK in reply.body:
            raise HttpError("the session was lost: SOGo served its login page")
        return len(reply.body)

    def put_event(self) -> int:
        c = _config()
        uid = event_prefix(c.token) + secrets.token_hex(8)
        path = f"{calendar_path(c.account.login)}{uid}.ics"
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=random.randint(30, 60))  # noqa: S311
        data = ics(uid, start)
        headers = {"Authorization": STATE["basic"], "If-None-Match": "*",
                   "Content-Type": "text/calendar; charset=utf-8"}  # fmt: skip
        self.dav.request("PUT", path, data, headers).expect(201, 204)
        self.created.append(path)
        return len(data)

    def read_event(self) -> int:
        """REPORT calendar-multiget of the last event created: it must come back."""
        c = _config()
        path = self.created[-1]
        headers = {"Authorization": STATE["basic"], "Depth": "1",
                   "Content-Type": "application/xml; charset=utf-8"}  # fmt: skip
        reply = self.dav.request("REPORT", calendar_path(c.account.login), multiget(path), headers)
        reply.expect(207)
        uid = path.rsplit("/", 1)[-1].removesuffix(".ics")
        if uid.encode() not in reply.body:
            raise HttpError("the event just created is not in the calendar's answer")
        return len(reply.body)

    @task
    def activity(self) -> None:
        c = _config()
        choice = random.choices(  # noqa: S311 (pacing)
            ["page", "event", "login"],
            weights=[c.pages_per_hour, c.events_per_hour, c.web_logins_per_hour],
        )[0]
        if choice == "page":
            self.timed("web page", self.page)
        elif choice == "login":
            self.timed("web login", self.login)
        elif self.measure("HTTPS", "caldav put", self.put_event, c.timeout * 2):
            self.timed("caldav report", self.read_event)
