"""The user classes of every platform, for the run process and its workers (Locust)."""

from __future__ import annotations

from locust import User

from toolkit.load import groupware, mail, meeting, vpn
from toolkit.load.base import Limiter, TimedUser
from toolkit.load.config import LoadConfig

#: Every class a worker may be asked to run.
ALL: list[type[User]] = [
    mail.SmtpFlood,
    mail.MailTeleworker,
    groupware.GroupwareTeleworker,
    meeting.MeetingTeleworker,
    vpn.VpnTeleworker,
]


def user_classes(config: LoadConfig) -> list[type[User]]:
    if config.platform == "groupware":
        return [groupware.GroupwareTeleworker]
    if config.platform == "meeting":
        return [meeting.MeetingTeleworker]
    if config.platform == "vpn":
        return vpn.user_classes(config)
    return mail.user_classes(config)


def configure(config: LoadConfig, rate_share: float) -> None:
    """Set once per process before users start: the rate share and the platform's state
    (the probe's password read from its file here)."""
    if config.platform == "groupware":
        groupware.configure(config)
    elif config.platform == "meeting":
        meeting.configure(config)
    elif config.platform == "vpn":
        vpn.configure(config)
    else:
        mail.configure(config)
    TimedUser.limiter = Limiter(rate_share)
