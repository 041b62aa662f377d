"""Janus signalling (toolkit/load/janus.py) with a scripted transport: the protocol's steps
in order with the token on each, a refusal or a silence is a failure within bounded polls,
and what Janus says reaches the error only made printable and cut short."""

from __future__ import annotations

from typing import Any

import pytest

from toolkit.load import janus
from toolkit.text import unsafe_characters


class Scripted:
    """Answers each (path, body) from ``events`` for long polls, success otherwise."""

    def __init__(self, events: list[Any], refuse: str = "") -> None:
        self.events, self.refuse = events, refuse
        self.sent: list[tuple[str, Any]] = []

    def __call__(self, path: str, body: dict[str, Any] | None) -> Any:
        self.sent.append((path, body))
        if body is None:
            return self.events.pop(0) if self.events else [{"janus": "keepalive"}]
        if body["janus"] == self.refuse:
            return {
                "janus": "error",
                "error": {"code": 403, "reason": "\x1b[31mno\x07" + "x" * 500},
            }
        if body["janus"] in ("create", "attach"):
            return {"janus": "success", "data": {"id": 7 if body["janus"] == "create" else 9}}
        return {"janus": "ack" if body["janus"] in ("message", "keepalive") else "success"}


JOINED = [{"janus": "event", "plugindata": {"data": {"videoroom": "joined", "room": "r"}}}]


def test_a_participant_creates_attaches_joins_keeps_alive_and_destroys() -> None:
    transport = Scripted([[{"janus": "keepalive"}], JOINED])
    session = janus.Session(transport, "/janus", "tok+en/=", timeout=5)
    session.create()
    session.join("r", "load-1")
    session.keepalive()
    session.destroy()
    kinds = [(path, body["janus"] if body else "poll") for path, body in transport.sent]
    assert kinds == [
        ("/janus", "create"), ("/janus/7", "attach"), ("/janus/7/9", "message"),
        ("/janus/7?maxev=5&token=tok%2Ben%2F%3D", "poll"), ("/janus/7?maxev=5&token=tok%2Ben%2F%3D", "poll"),
        ("/janus/7", "keepalive"), ("/janus/7", "destroy"),
    ]  # fmt: skip
    posted = [body for _, body in transport.sent if body]
    assert all(body["token"] == "tok+en/=" and body["transaction"] for body in posted)
    assert posted[2]["body"] == {
        "request": "join",
        "ptype": "publisher",
        "room": "r",
        "display": "load-1",
    }
    assert session.session_id is None


def test_a_refusal_is_a_printable_short_error() -> None:
    session = janus.Session(Scripted([], refuse="create"), "/janus", "t", timeout=5)
    with pytest.raises(janus.JanusError) as caught:
        session.create()
    text = str(caught.value)
    assert text.startswith("Janus refused create: \\x1b[31mno\\x07")
    assert not unsafe_characters(text) and len(text) < 200


def test_a_join_refused_by_videoroom_or_never_confirmed_fails_within_bounded_polls() -> None:
    refused = [
        [{"janus": "event", "plugindata": {"data": {"error_code": 426, "error": "No such room"}}}]
    ]
    session = janus.Session(Scripted(refused), "/janus", "t", timeout=5)
    session.create()
    with pytest.raises(janus.JanusError, match="VideoRoom refused the join: No such room"):
        session.join("r", "d")
    silent = Scripted([])
    session = janus.Session(silent, "/janus", "t", timeout=60)
    session.create()
    with pytest.raises(janus.JanusError, match="no joined event"):
        session.join("r", "d")
    assert sum(1 for _, body in silent.sent if body is None) == janus.MAX_POLLS
