"""Teleworker user classes for mail (Locust): submission on 587 with STARTTLS and AUTH, IMAP
over TLS with login, IDLE and fetch, as a teleworker's mail client does (M2, E17).

Only the run process and its workers import this module: importing Locust patches the
process for gevent. Every message carries the run's token in ``X-Telework-Load`` and is sent
to the probe mailbox itself; :mod:`toolkit.load.cleanup` deletes them after the run."""

from __future__ import annotations

import contextlib
import imaplib
import random
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import Any

from locust import User, task

from toolkit.controls import tls
from toolkit.load import smtp
from toolkit.load.base import TimedUser
from toolkit.load.config import HEADER, LoadConfig, read_password

#: Set once per process before users start (the runner, or the worker on the master's
#: configuration message).
STATE: dict[str, Any] = {}


def configure(config: LoadConfig) -> None:
    STATE.update(
        config=config,
        password=read_password(config.account),
        tls=tls_context(config),  # one context: its CA file is read once
        message=message(config).as_bytes(policy=SMTP_POLICY),
    )


def _config() -> LoadConfig:
    config: LoadConfig = STATE["config"]
    return config


def tls_context(config: LoadConfig) -> ssl.SSLContext:
    return tls.verifying_context(config.ca_file)


def message(config: LoadConfig) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = msg["To"] = config.account.address
    msg["Subject"] = "telework-toolkit load test"
    msg[HEADER] = config.token
    filler = "Message de test de charge, supprimé automatiquement.\n"
    msg.set_content((filler * (config.message_bytes // len(filler) + 1))[: config.message_bytes])
    return msg


class MailUser(TimedUser):
    """Base class: timed operations reported to Locust's statistics."""

    abstract = True

    def measure_mail(self, kind: str, name: str, action: Callable[[], int]) -> None:
        self.measure(kind, name, action, _config().timeout * 3)

    def submit(self) -> int:
        """One message on the submission port: STARTTLS, AUTH, MAIL, RCPT, DATA, QUIT."""
        config = _config()
        plain = config.smtp_plain
        return smtp.submit(
            address=config.target,
            port=config.smtp_port,
            timeout=config.timeout,
            sender=config.account.address,
            data=STATE["message"],
            starttls=None if plain else (config.server_name, STATE["tls"]),
            auth=None if plain else (config.account.login, STATE["password"]),
        )


class SmtpFlood(MailUser):
    """Submissions back to back (bounded by ``max_rate``): the SMTP ceiling in messages a
    second, comparable with smtp-source."""

    @task
    def send(self) -> None:
        self.measure_mail("SMTP", "smtp submit", self.submit)


class MailTeleworker(MailUser):
    """A teleworker's mail client: one IMAP connection kept open (IDLE, RFC 2177), messages
    read and sent at the activity profile's hourly rates, reconnections now and then."""

    def wait_time(self) -> float:
        c = _config()
        per_hour = c.sent_per_hour + c.read_per_hour + c.logins_per_hour + c.idle_per_hour
        return random.expovariate(per_hour / 3600) if per_hour > 0 else 3600.0

    def on_start(self) -> None:
        self.imap: imaplib.IMAP4 | None = None
        self.measure_mail("IMAP", "imap login", self.login)

    def on_stop(self) -> None:
        if self.imap is not None:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                self.imap.logout()
            self.imap = None

    def login(self) -> int:
        config = _config()
        self.on_stop()
        imap = tls.IMAPS(
            config.target, config.imap_port, server_name=config.server_name,
            context=STATE["tls"], timeout=config.timeout,
        )  # fmt: skip
        try:
            imap.login(config.account.login, STATE["password"])
            imap.select("INBOX")
        except BaseException:
            imap.shutdown()
            raise
        self.imap = imap
        return 0

    def _imap(self) -> imaplib.IMAP4:
        if self.imap is None:
            self.login()
        if self.imap is None:
            raise imaplib.IMAP4.abort("no IMAP connection")
        return self.imap

    def fetch(self) -> int:
        """The newest message of this run, as a client opening it."""
        imap = self._imap()
        imap.noop()
        _, data = imap.search(None, "HEADER", HEADER, _config().token)
        numbers = (data[0] or b"").split()
        if not numbers:
            return 0
        _, parts = imap.fetch(numbers[-1].decode(), "(BODY.PEEK[])")
        return sum(len(p[1]) for p in parts if isinstance(p, tuple))

    def idle(self) -> int:
        """Enter IDLE and leave it: the time until the server's continuation is measured."""
        imap = self._imap()
        tag = imap._new_tag()  # imaplib has no IDLE before 3.14
        imap.send(tag + b" IDLE\r\n")
        if not imap.readline().startswith(b"+"):
            raise imaplib.IMAP4.error("the server refused IDLE")
        imap.send(b"DONE\r\n")
        while not (line := imap.readline()).startswith(tag):
            if not line:
                raise imaplib.IMAP4.abort("connection closed during IDLE")
        return 0

    @task
    def activity(self) -> None:
        c = _config()
        kinds = [
            ("SMTP", "smtp submit", self.submit, c.sent_per_hour),
            ("IMAP", "imap fetch", self.fetch, c.read_per_hour),
            ("IMAP", "imap login", self.login, c.logins_per_hour),
            ("IMAP", "imap idle", self.idle, c.idle_per_hour),
        ]
        kind, name, action, _ = random.choices(kinds, weights=[k[3] for k in kinds])[0]  # noqa: S311 (pacing)
        self.measure_mail(kind, name, action)


def user_classes(config: LoadConfig) -> list[type[User]]:
    return [SmtpFlood] if config.profile == "flood" else [MailTeleworker]
