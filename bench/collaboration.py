"""CalDAV events created and read per second on one groupware host (issue: collaboration).

    cd roles/collaboration && ../../.venv/bin/molecule converge   # or: test --destroy never
    .venv/bin/python bench/collaboration.py \\
        --url https://collab.lab.telework.test:43443 --address 127.0.0.1 \\
        --ca roles/collaboration/molecule/default/.../ca.crt --passwords passwords.json

CLIENTS threads (default: the role's default worker count, 3), each logged in as one of
the teleworkers of the passwords file (uid -> password), for SECONDS seconds (bounded):
each turn PUTs a new event into the user's personal calendar, then GETs it back. Before
that, the anchor of the same run: authenticated PROPFINDs of the user's principal (DAV
and LDAP login cost without calendar work). Prints operations per second, p50 and p95 of
each, and the ratios of event creation and read to the anchor. The events are deleted
at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

TIMEOUT = 30
#: SOGo answers clients it does not know with a "browser not supported" page.
USER_AGENT = "telework-toolkit bench (CalDAV) Mozilla/5.0 Chrome/120.0"


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

    def line(self, wall: float) -> str:
        if not self.seconds:
            return f"{self.name:<16} no successful operation ({self.errors} errors)"
        ordered = sorted(self.seconds)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        p50 = statistics.median(ordered)
        return (
            f"{self.name:<16} {len(ordered) / wall:8.1f}/s  p50 {p50 * 1000:7.1f} ms"
            f"  p95 {p95 * 1000:7.1f} ms  ({len(ordered)} ok, {self.errors} errors)"
        )

    def rate(self, wall: float) -> float:
        return len(self.seconds) / wall if wall else 0.0


def pin(name: str, address: str) -> None:
    """``name`` resolves to ``address`` in this process (a published port)."""
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real(address if host == name else host, *args, **kwargs)

    socket.getaddrinfo = fake


def client(ca: str, user: str, password: str) -> requests.Session:
    s = requests.Session()
    s.verify = ca
    s.trust_env = False
    s.auth = (user, password)
    s.headers["User-Agent"] = USER_AGENT
    return s


def ics(uid: str, start: datetime) -> bytes:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//telework-toolkit//bench//FR\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:{stamp}\r\n"
        f"DTSTART:{start.strftime('%Y%m%dT%H%M%SZ')}\r\n"
        f"DTEND:{(start + timedelta(minutes=30)).strftime('%Y%m%dT%H%M%SZ')}\r\n"
        "SUMMARY:Réunion de service (bench)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def timed(series: Series, call: Callable[[], requests.Response], good: set[int]) -> bool:
    start = time.perf_counter()
    try:
        ok = call().status_code in good
    except requests.RequestException:
        ok = False
    series.add(time.perf_counter() - start, ok)
    return ok


def run(
    seconds: float, workers: list[tuple[str, requests.Session]], turn: Callable[..., None]
) -> float:
    stop = time.monotonic() + seconds
    threads = [
        threading.Thread(target=turn, args=(user, s, stop), daemon=True) for user, s in workers
    ]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + TIMEOUT * 2)
    return time.monotonic() - began


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True, help="https://<name>:<port> of the groupware")
    ap.add_argument("--address", default="", help="connect there instead of resolving the name")
    ap.add_argument("--ca", required=True, help="CA that signed the groupware's certificate")
    ap.add_argument("--passwords", required=True, help="JSON file: uid -> password")
    ap.add_argument("--clients", type=int, default=3, help="concurrent clients (default 3)")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    a = ap.parse_args()
    seconds = min(max(a.seconds, 2.0), 300.0)
    base = a.url.rstrip("/")
    if a.address:
        pin(urlsplit(base).hostname or "", a.address)
    passwords = {k: v for k, v in json.loads(Path(a.passwords).read_text()).items() if "@" not in k}
    users = sorted(passwords)
    workers = [
        (
            users[i % len(users)],
            client(a.ca, users[i % len(users)], passwords[users[i % len(users)]]),
        )
        for i in range(max(1, a.clients))
    ]
    anchor, create, read = Series("anchor PROPFIND"), Series("event create"), Series("event read")
    made: list[tuple[requests.Session, str]] = []

    def propfind(user: str, s: requests.Session, stop: float) -> None:
        while time.monotonic() < stop:
            timed(
                anchor,
                lambda: s.request(
                    "PROPFIND", f"{base}/SOGo/dav/{user}/", headers={"Depth": "0"}, timeout=TIMEOUT
                ),
                {207},
            )

    def events(user: str, s: requests.Session, stop: float) -> None:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
        while time.monotonic() < stop:
            uid = f"bench-{uuid.uuid4().hex}"
            url = f"{base}/SOGo/dav/{user}/Calendar/personal/{uid}.ics"
            headers = {"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"}
            put = functools.partial(
                s.put, url, data=ics(uid, start), headers=headers, timeout=TIMEOUT
            )
            if timed(create, put, {201, 204}):
                made.append((s, url))
                timed(read, functools.partial(s.get, url, timeout=TIMEOUT), {200})

    print(f"{base}: {len(workers)} clients, {seconds:.0f} s per phase, users {', '.join(users)}")
    anchor_wall = run(seconds, workers, propfind)
    event_wall = run(seconds, workers, events)
    print(anchor.line(anchor_wall))
    print(create.line(event_wall))
    print(read.line(event_wall))
    base_rate = anchor.rate(anchor_wall)
    if base_rate:
        print(
            f"ratio to the anchor: create {create.rate(event_wall) / base_rate:.2f}, "
            f"read {read.rate(event_wall) / base_rate:.2f} "
            "(a create and its read share each turn: both rates count turns)"
        )
    for s, url in made:
        with contextlib.suppress(requests.RequestException):
            s.delete(url, timeout=TIMEOUT)


if __name__ == "__main__":
    main()
