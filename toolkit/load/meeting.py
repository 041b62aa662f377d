"""Teleworker user class for the meeting service (Locust): the signalling of a participant
without media. It logs in to the meeting application (POST /login, the directory's
password), asks it for a room (POST /api/join: the application opens the room and hands
out a signed Janus token), then, through nginx as janus.js' HTTP fallback does, creates a
Janus session, attaches VideoRoom and joins the room as a publisher, sends keepalives, and
now and then leaves and joins again (M6, A20).

Participants fill rooms of ``meeting_size`` named after the run's token
(``load-<token>-<process>-<n>``). Each user leaves its room (Janus destroy, /api/leave)
when it stops; a session a stop interrupts dies at Janus' own session timeout.

Only the run process and its workers import this module (Locust)."""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import re
import secrets
import urllib.parse
from typing import Any

from locust import task

from toolkit.controls import tls
from toolkit.load.base import FAILURES, TimedUser
from toolkit.load.config import LoadConfig, read_password
from toolkit.load.https import Client, HttpError
from toolkit.load.janus import Session

STATE: dict[str, Any] = {}
#: Where Janus' HTTP API is when the application does not say (its default).
JANUS_PATH = "/janus"
_PATH_RE = re.compile(r"^/[A-Za-z0-9/_-]{0,64}$")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9,._:+/=-]{1,512}$")


def configure(config: LoadConfig) -> None:
    STATE.update(
        config=config, password=read_password(config.account),
        tls=tls.verifying_context(config.ca_file), process=secrets.token_hex(2),
        numbers=itertools.count(),
    )  # fmt: skip


def _config() -> LoadConfig:
    config: LoadConfig = STATE["config"]
    return config


def room_prefix(token: str) -> str:
    return f"load-{token}-"


class MeetingTeleworker(TimedUser):
    """One participant of a meeting, signalling only."""

    def wait_time(self) -> float:
        """A keepalive period, as janus.js keeps one (a fixed 25 s), up to 10 % shorter so
        participants do not beat together: never later, so never near Janus' session
        timeout (60 s), which exponential waits of the same mean overran one time in eleven
        (found on the lab: sessions expired under a load that did not stress Janus)."""
        return _config().keepalive_seconds * random.uniform(0.9, 1.0)  # noqa: S311

    def on_start(self) -> None:
        c = _config()
        self.web = Client(c.target, c.https_port, c.server_name, STATE["tls"], c.timeout)
        self.janus: Session | None = None
        number = next(STATE["numbers"])
        self.room = f"{room_prefix(c.token)}{STATE['process']}-{number // c.meeting_size}"
        self.display = f"load-{number}"
        if self.timed("meeting login", self.login):
            self.enter()

    def on_stop(self) -> None:
        with contextlib.suppress(*FAILURES):
            self.leave()
        self.web.close()

    def timed(self, name: str, action: Any) -> bool:
        return self.measure("HTTPS", name, action, _config().timeout * 2)

    def transport(self, path: str, body: dict[str, Any] | None) -> Any:
        if body is None:
            return self.web.request("GET", path).expect(200).json()
        data = json.dumps(body).encode()
        reply = self.web.request("POST", path, data, {"Content-Type": "application/json"})
        return reply.expect(200).json()

    def login(self) -> int:
        c = _config()
        self.web.cookies.clear()
        form = urllib.parse.urlencode({"username": c.account.login, "password": STATE["password"]})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        reply = self.web.request("POST", "/login", form.encode(), headers).expect(303)
        if not self.web.cookies:
            raise HttpError("the meeting login set no session cookie")
        return len(reply.body)

    def grant(self) -> int:
        """The application opens the room and hands out the Janus token."""
        reply = self.web.request(
            "POST", "/api/join", json.dumps({"room": self.room}).encode(),
            {"Content-Type": "application/json"},
        ).expect(200)  # fmt: skip
        answer = reply.json()
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not _TOKEN_RE.match(token):
            raise HttpError("the meeting application gave no Janus token")
        path = answer.get("fallback")
        path = path if isinstance(path, str) and _PATH_RE.match(path) else JANUS_PATH
        self.janus = Session(self.transport, path, token, _config().timeout)
        return len(reply.body)

    def session(self) -> int:
        if self.janus is None:
            raise HttpError("no Janus token")
        self.janus.create()
        return 0

    def join(self) -> int:
        if self.janus is None:
            raise HttpError("no Janus session")
        self.janus.join(self.room, self.display)
        return 0

    def enter(self) -> None:
        for name, step in (("meeting token", self.grant), ("janus session", self.session),
                           ("janus join", self.join)):  # fmt: skip
            if not self.timed(name, step):
                return

    def leave(self) -> int:
        """Janus destroy (the handle leaves the room with it), then the application's
        /api/leave (it journals the leave)."""
        try:
            if self.janus is not None:
                self.janus.destroy()
        finally:
            self.janus = None
            body = json.dumps({"room": self.room}).encode()
            self.web.request(
                "POST", "/api/leave", body, {"Content-Type": "application/json"}
            ).expect(200)
        return 0

    def keepalive(self) -> int:
        if self.janus is None or self.janus.session_id is None:
            raise HttpError("not in a meeting")
        self.janus.keepalive()
        return 0

    @task
    def activity(self) -> None:
        c = _config()
        if self.janus is None or self.janus.session_id is None:
            if not self.web.cookies and not self.timed("meeting login", self.login):
                return
            self.enter()
            return
        # leaves and joins again joins_per_hour times an hour on average (a Poisson
        # process sampled at each keepalive period); else the keepalive
        if random.random() < c.joins_per_hour * c.keepalive_seconds / 3600:  # noqa: S311
            if self.timed("meeting leave", self.leave):
                self.enter()
        else:
            self.timed("janus keepalive", self.keepalive)
