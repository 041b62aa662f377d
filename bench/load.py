"""The SMTP ceiling `toolkit load` finds against the one Postfix's smtp-source finds on the
same server (goal: ratio >= 0.9), and how many mixed-profile teleworkers one core of the
load generator sustains (goal >= 2,000).

    .venv/bin/python bench/load.py [--seconds S] [--sessions N] [--teleworkers N]

The server is tests/load/mailserver.py in a process of its own on 127.0.0.1: aiosmtpd with
a plain port (what smtp-source speaks: no TLS, no AUTH) and a submission port (STARTTLS,
then AUTH, throwaway certificate), and a small IMAPS server. Both generators use one new
connection a message at the same concurrency; each ceiling is messages a second.

smtp-source comes from Debian's postfix package. Installing it would start an MTA on this
shared machine, so the bench takes the binary out of the package instead
(`--fetch-postfix`: apt-get download, dpkg-deb -x into the toolkit's cache) or uses one on
PATH.

`--lab` (bench/load_lab.py) takes the SMTP ceilings on the inventory's mail server instead
(`--env NAME` or `-i INVENTORY`, as `toolkit load mail`); the teleworkers a core still run
against the local server above, which the output says: that figure is the generator's.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def postfix_dir() -> Path:
    from toolkit.paths import cache_dir  # noqa: PLC0415 (cheap import, bench only)

    return cache_dir() / "postfix-smtp-source"


def find_smtp_source(fetch: bool) -> tuple[list[str], dict[str, str]]:
    """argv prefix and environment to run smtp-source."""
    found = shutil.which("smtp-source") or (
        "/usr/sbin/smtp-source" if Path("/usr/sbin/smtp-source").is_file() else None
    )
    if found:
        return [found], {}
    root = postfix_dir()
    binary = root / "usr" / "sbin" / "smtp-source"
    if not binary.is_file() and fetch:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["apt-get", "download", "postfix"], cwd=tmp, check=True, timeout=300)
            deb = next(Path(tmp).glob("postfix_*.deb"))
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True, timeout=120)
    if not binary.is_file():
        raise SystemExit(
            "smtp-source not found: install postfix elsewhere, put smtp-source on PATH, or "
            "run with --fetch-postfix (extracts it from the Debian package, no daemon)"
        )
    env = {**os.environ, "LD_LIBRARY_PATH": str(root / "usr" / "lib" / "postfix")}
    return [str(binary)], env


class Server:
    """tests/load/mailserver.py in its own process."""

    def __init__(self, folder: Path) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "tests.load.mailserver", "--discard"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self.proc.stdout is None:
            raise SystemExit("the mail server process has no output")
        ready = json.loads(self.proc.stdout.readline())
        self.submission, self.plain, self.imaps = (
            ready["submission"],
            ready["plain"],
            ready["imaps"],
        )
        self.cert = folder / "server.crt"
        self.cert.write_text(ready["cert"], encoding="utf-8")
        self.password = folder / "probe.password"
        self.password.write_text(ready["password"], encoding="utf-8")
        self.login: str = ready["login"]

    def stop(self) -> str:
        out, _ = self.proc.communicate("", timeout=30)
        return out.strip()


def smtp_source_rate(argv: list[str], env: dict[str, str], port: int, sessions: int,
                     messages: int) -> float:  # fmt: skip
    """Messages a second smtp-source delivers: ``sessions`` parallel sessions, one
    connection a message (its default, as toolkit load's flood class), 2,000-byte
    messages."""
    start = time.perf_counter()
    subprocess.run(
        [*argv, "-s", str(sessions), "-m", str(messages), "-l", "2000", "-f",
         "load-probe@bench.test", "-t", "load-probe@bench.test", f"127.0.0.1:{port}"],
        env=env or None, check=True, timeout=600, capture_output=True,
    )  # fmt: skip
    return messages / (time.perf_counter() - start)


def run_load(
    config: dict[str, Any], folder: Path, name: str, timeout: float = 3600
) -> tuple[dict[str, Any], float]:
    """One `python -m toolkit.load.run` (what `toolkit load` runs); result and the CPU
    seconds the generator process used."""
    cfg, res = folder / f"{name}.json", folder / f"{name}-result.json"
    cfg.write_text(json.dumps(config), encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [PYTHON, "-m", "toolkit.load.run", str(cfg), str(res), "--no-cleanup"],
        cwd=REPO, check=True, timeout=timeout,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(res.read_text(encoding="utf-8")), cpu


#: The teleworker pacing `toolkit load` derives from the default capacity profile (121
#: mails a day, 30 % sent, 8 office hours, 2 reconnections an hour, IDLE every 29 min).
PACING = {
    "sent_per_hour": 121 * 0.3 / 8,
    "read_per_hour": 121 * 0.7 / 8,
    "logins_per_hour": 2.0,
    "idle_per_hour": 60 / 29,
}


def base_config(server: Server, **extra: Any) -> dict[str, Any]:
    return {
        "target": "127.0.0.1",
        "server_name": "localhost",
        "ca_file": str(server.cert),
        "smtp_port": server.submission,
        "imap_port": server.imaps,
        "probe": {
            "login": server.login,
            "address": "load-probe@bench.test",
            "password_file": str(server.password),
        },
        "max_rate": 5000,
        "spawn_rate": 500,
        "slo": {"p95_ms": 2000, "error_rate": 0.01},
        **extra,
    }


def best_rate(result: dict[str, Any]) -> tuple[float, int]:
    """Highest messages a second of a step that met the SLO, and its users."""
    slo = result["slo"]
    best = (0.0, 0)
    for step in result["steps"]:
        count = sum(r["count"] for r in step["requests"])
        failures = sum(r["failures"] for r in step["requests"])
        p95 = max((r["p95_ms"] for r in step["requests"]), default=0.0)
        if count and failures / count <= slo["error_rate"] and p95 <= slo["p95_ms"]:
            best = max(best, (sum(r["rps"] for r in step["requests"]), step["users"]))
    return best


def local_smtp(args: argparse.Namespace, server: Server, folder: Path) -> None:
    """Plain SMTP ceilings of toolkit load and smtp-source, then STARTTLS+AUTH, on the local
    server."""
    argv, env = find_smtp_source(args.fetch_postfix)
    steps = sorted({int(n) for n in args.sessions.split(",")})
    plain, _ = run_load(
        base_config(server, profile="flood", smtp_plain=True, smtp_port=server.plain,
                    steps=steps, step_seconds=args.seconds),
        folder, "plain",
    )  # fmt: skip
    toolkit_rate, at = best_rate(plain)
    # smtp-source's ceiling: its best rate over the same session counts.
    anchors = {
        n: smtp_source_rate(argv, env, server.plain, n, max(500, int(toolkit_rate * 5)))
        for n in steps
    }
    anchor_at, anchor = max(anchors.items(), key=lambda item: item[1])
    secured, _ = run_load(
        base_config(server, profile="flood", steps=steps, step_seconds=args.seconds),
        folder, "starttls",
    )  # fmt: skip
    tls_rate, tls_at = best_rate(secured)
    print("server:                       tests/load/mailserver.py on 127.0.0.1")
    print(f"SMTP ceiling, toolkit load:   {toolkit_rate:8.1f} msg/s (plain, {at} sessions)")
    print(f"SMTP ceiling, smtp-source:    {anchor:8.1f} msg/s (plain, {anchor_at} sessions)")
    for n, rate in anchors.items():
        print(f"  smtp-source, {n:3d} sessions: {rate:8.1f} msg/s")
    for st in plain["steps"]:
        rate = sum(r["rps"] for r in st["requests"])
        print(f"  toolkit load, {st['users']:3d} users:   {rate:8.1f} msg/s")
    print(f"ratio toolkit / smtp-source:  {toolkit_rate / anchor:8.2f} (goal >= 0.9)")
    print(f"SMTP ceiling, STARTTLS+AUTH:  {tls_rate:8.1f} msg/s ({tls_at} sessions)")


def lab_smtp(args: argparse.Namespace, folder: Path) -> None:
    """The same comparison on the inventory's mail server (bench/load_lab.py)."""
    spec = importlib.util.spec_from_file_location("bench_load_lab", REPO / "bench" / "load_lab.py")
    if spec is None or spec.loader is None:
        raise SystemExit("bench/load_lab.py not found")
    lab = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = lab  # its dataclass looks its module up there
    spec.loader.exec_module(lab)
    from toolkit.cli.common import resolve_inventory  # noqa: PLC0415 (bench only)

    inventory = resolve_inventory(args.env, args.inventory)
    steps = sorted({int(n) for n in args.sessions.split(",")})
    smtp_source = find_smtp_source(args.fetch_postfix)
    config, runs = lab.measure(
        inventory, steps, seconds=args.seconds, max_messages=args.max_messages,
        run_load=run_load, smtp_source=smtp_source, folder=folder,
    )  # fmt: skip
    lab.report(config, runs)


def teleworkers(args: argparse.Namespace, server: Server, folder: Path) -> None:
    """Mixed-profile teleworkers against the local server: the generator's CPU a user."""
    mixed, cpu = run_load(
        base_config(server, profile="teleworker", steps=[args.teleworkers],
                    step_seconds=args.teleworker_seconds, spawn_rate=50, **PACING),
        folder, "teleworkers",
    )  # fmt: skip
    step: dict[str, Any] = mixed["steps"][-1] if mixed["steps"] else {"running": 0, "requests": []}
    wall = args.teleworker_seconds
    met = bool(mixed["steps"]) and best_rate(mixed)[1] == args.teleworkers
    per_core = args.teleworkers * wall / cpu if cpu else 0.0
    done = sum(r["count"] for r in step["requests"])
    failed = sum(r["failures"] for r in step["requests"])
    # each user logs in, runs a first task at once, then waits (exponential pacing)
    expected = args.teleworkers * (2 + sum(PACING.values()) * wall / 3600)
    print("teleworkers a core, against tests/load/mailserver.py on 127.0.0.1 (the generator's")
    print("  figure: its CPU seconds per simulated user, whatever server it loads)")
    print(
        f"mixed teleworkers:            {step['running']} running for {wall:.0f} s, "
        f"{done} operations ({expected:.0f} expected from the pacing), {failed} failed, "
        f"SLO met: {met}"
    )
    for r in step["requests"]:
        print(f"  {r['name']:12s} {r['count']:6d} ops, p95 {r['p95_ms']:6.0f} ms")
    print(f"generator CPU:                {cpu:8.1f} s (imports, TLS logins, activity)")
    print(f"teleworkers per core:         {per_core:8.0f} (goal >= 2,000)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="Seconds of each step.")
    parser.add_argument(
        "--sessions", default="10,20,40", help="Concurrent SMTP sessions of each step."
    )
    parser.add_argument("--teleworkers", type=int, default=2000)
    parser.add_argument("--teleworker-seconds", type=float, default=90.0)
    parser.add_argument("--fetch-postfix", action="store_true")
    parser.add_argument("--lab", action="store_true", help="SMTP on the inventory's mail server.")
    parser.add_argument("--env", default="lab", help="--lab: inventories/ENV.")
    parser.add_argument("-i", "--inventory", type=Path, help="--lab: inventory folder.")
    parser.add_argument(
        "--max-messages", type=int, default=3000, help="--lab: most messages of a smtp-source run."
    )
    args = parser.parse_args()
    print(f"started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.lab:
            lab_smtp(args, folder)
        server = Server(folder)
        try:
            if not args.lab:
                local_smtp(args, server, folder)
            teleworkers(args, server, folder)
        finally:
            print(f"local server: {server.stop()}")
    print(f"ended, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
