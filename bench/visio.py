"""Signalling sessions and room joins per second on one videoconference host (issue:
videoconference).

    cd roles/videoconference && ../../.venv/bin/molecule converge
    .venv/bin/python bench/visio.py --url https://visio.lab.telework.test:44443 \\
        --address 127.0.0.1 --ca <molecule inventory>/.pki/ca.crt \\
        --user ag0001 --password-file passwords.json

Logs in once as a teleworker through the meeting application, which opens the room and
hands out the Janus token. Then CLIENTS threads for SECONDS seconds (bounded) each repeat,
over HTTPS through nginx as janus.js' HTTP fallback would: create a Janus session, attach
VideoRoom, join the room as a publisher (the join is counted when Janus' "joined" event
comes back on the session's long poll), destroy the session. The anchor of the same run:
GETs of janus.js through the same nginx and TLS. Prints joins per second, p50 and p95,
and the ratio to the anchor, with the settings used. It does not measure how many
publishers and subscribers one room carries before frames drop: ``--room-capacity``
does, with headless browsers (bench/visio_room.py, whose options it takes).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import socket
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from toolkit.load.janus import JanusError, Session

TIMEOUT = 15


@dataclass
class Series:
    name: str
    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, took: float, ok: bool) -> None:
        with self.lock:
            if ok:
                self.seconds.append(took)
            else:
                self.errors += 1

    def rate(self, wall: float) -> float:
        return len(self.seconds) / wall if wall else 0.0

    def line(self, wall: float) -> str:
        if not self.seconds:
            return f"{self.name:<22} no successful operation ({self.errors} errors)"
        ordered = sorted(self.seconds)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        p50 = statistics.median(ordered)
        return (
            f"{self.name:<22} {self.rate(wall):8.1f}/s  p50 {p50 * 1000:6.1f} ms"
            f"  p95 {p95 * 1000:6.1f} ms  ({len(ordered)} ok, {self.errors} errors)"
        )


def pin(name: str, address: str) -> None:
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real(address if host == name else host, *args, **kwargs)

    socket.getaddrinfo = fake


def session(ca: str) -> requests.Session:
    s = requests.Session()
    s.verify = ca
    s.trust_env = False
    return s


def janus_join(s: requests.Session, base: str, token: str, room: str) -> bool:
    """Session, VideoRoom attached, joined as a publisher (the "joined" event counted),
    session destroyed: toolkit load meeting's own Janus signalling."""

    def transport(path: str, body: dict[str, Any] | None) -> Any:
        if body is None:
            return s.get(f"{base}{path}", timeout=TIMEOUT).json()
        return s.post(f"{base}{path}", json=body, timeout=TIMEOUT).json()

    session = Session(transport, "/janus", token, TIMEOUT)
    try:
        session.create()
        session.join(room, "bench")
        return True
    except JanusError:
        return False
    finally:
        with contextlib.suppress(JanusError, requests.RequestException, ValueError):
            session.destroy()


def hammer(
    clients: int, seconds: float, op: Callable[[requests.Session], bool], ca: str, name: str
) -> tuple[Series, float]:
    series = Series(name)
    stop = time.monotonic() + seconds

    def worker() -> None:
        s = session(ca)
        while time.monotonic() < stop:
            began = time.monotonic()
            try:
                ok = op(s)
            except (requests.RequestException, KeyError, ValueError):
                ok = False
            series.add(time.monotonic() - began, ok)

    began = time.monotonic()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 2 * TIMEOUT)
    return series, time.monotonic() - began


def room_capacity(argv: list[str]) -> None:
    """``--room-capacity``: bench/visio_room.py's measurement, loaded by path (bench/ is
    no package)."""
    spec = importlib.util.spec_from_file_location(
        "visio_room", Path(__file__).with_name("visio_room.py")
    )
    if spec is None or spec.loader is None:
        raise SystemExit("bench/visio_room.py not found")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    module.main(argv)


def main() -> None:
    if "--room-capacity" in sys.argv[1:]:
        room_capacity([x for x in sys.argv[1:] if x != "--room-capacity"])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--ca", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True, help="JSON: uid -> password")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    a.seconds = min(a.seconds, 120.0)
    a.clients = max(1, min(a.clients, 32))
    host = urlsplit(a.url).hostname or ""
    pin(host, a.address)
    password = json.loads(Path(a.password_file).read_text())[a.user]
    s = session(a.ca)
    s.post(
        f"{a.url}/login",
        data={"username": a.user, "password": password},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    room = f"bench-{uuid.uuid4().hex[:6]}"
    grant = s.post(f"{a.url}/api/join", json={"room": room}, timeout=TIMEOUT).json()
    token = grant["token"]

    def anchor(c: requests.Session) -> bool:
        return c.get(f"{a.url}/js/janus.js", timeout=TIMEOUT).status_code == 200

    def join(c: requests.Session) -> bool:
        return janus_join(c, a.url, token, room)

    print(f"settings: {a.clients} clients, {a.seconds:.0f} s each series, room {room}, {a.url}")
    base, base_wall = hammer(a.clients, a.seconds, anchor, a.ca, "anchor GET janus.js")
    joins, joins_wall = hammer(a.clients, a.seconds, join, a.ca, "session+attach+join")
    print(base.line(base_wall))
    print(joins.line(joins_wall))
    if base.seconds:
        print(f"ratio joins/anchor: {joins.rate(joins_wall) / base.rate(base_wall):.3f}")


if __name__ == "__main__":
    main()
