"""Keeps one TCP connection to the echo service open and sends a line every 0.2 s; writes
its state to a JSON file after each reply: replies, largest gap between two replies, the
error that ended it. Stops by itself after DURATION seconds (bounded)."""

import json
import os
import socket
import sys
import time

host, port, status, duration = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
state = {"replies": 0, "max_gap": 0.0, "error": "", "done": False}


def save() -> None:
    with open(status + ".tmp", "w") as f:
        json.dump(state, f)
    os.replace(status + ".tmp", status)


try:
    conn = socket.create_connection((host, port), timeout=5)
    conn.settimeout(5)
    reader = conn.makefile("rb")
    start = last = time.monotonic()
    while time.monotonic() - start < duration:
        conn.sendall(b"ping\n")
        if reader.readline() != b"ping\n":
            raise ConnectionError("connection closed")
        now = time.monotonic()
        state["replies"] += 1
        state["max_gap"] = max(state["max_gap"], round(now - last, 3))
        last = now
        save()
        time.sleep(0.2)
except OSError as exc:
    state["error"] = f"{type(exc).__name__}: {exc}"
state["done"] = True
save()
