"""How many publishers one videoconference room carries before frames drop (issue:
videoconference); ``bench/visio.py --room-capacity`` runs it, so does this file.

    .venv/bin/python bench/visio.py --room-capacity --inventory inventories/lab \\
        --max-publishers 8 --time-limit 600   # alone: it saturates a small machine

Against the lab's videoconference host, as the audit's VC-06 does (headless Debian
Chromium through Playwright, fake camera and microphone, the site's key proven against
the inventory's CA first): N pages log in with the directory's accounts (the probes and
the teleworkers whose passwords the inventory keeps, reused in turn when N is larger) and
join ONE new room ``bench-...`` as publishers; each page subscribes to every other feed.
For N = 1, 2, ... one page joins more; after a settle time (every page subscribed to the
N-1 others and decoding), every page's video inbound-rtp statistics are read at the start
and at the end of a fixed window: decoded frames per second of each subscription, frames
dropped, packets lost, freezes; with the machine's CPU and the Janus process's. It stops
at the first N whose slowest subscription decodes under ``--threshold`` times the fake
source's frame rate, or where a page fails, or at the time limit; and prints the largest
N that held, with the settings used. Every wait is bounded; the browser always closes.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from toolkit.adapters import browser
from toolkit.controls import tls
from toolkit.controls.visio_meeting import Account, Clock, Seen, StepFailed, Visit, enter

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

POLL_MS = 500
#: Keeps each page's latest video statistics in ``window.__benchStats`` (the page's own
#: state is ``window.visio``, files/telework_visio/static/meeting.js).
POLLER = f"""() => {{
  if (!window.__benchPoll) {{
    const tick = async () => {{
      const v = window.visio || {{}};
      const out = {{subs: {{}}, source: null, sent: null, errors: (v.errors || []).map(String)}};
      for (const [key, pc] of Object.entries(v.pcs || {{}})) {{
        const stats = await pc.getStats();
        stats.forEach((s) => {{
          if (s.kind !== "video") return;
          if (key.startsWith("sub-") && s.type === "inbound-rtp")
            out.subs[key] = {{decoded: s.framesDecoded || 0, dropped: s.framesDropped || 0,
              lost: s.packetsLost || 0, freezes: s.freezeCount ?? null, t: s.timestamp}};
          if (key === "publisher" && s.type === "media-source")
            out.source = {{fps: s.framesPerSecond || 0, width: s.width || 0,
              height: s.height || 0}};
          if (key === "publisher" && s.type === "outbound-rtp")
            out.sent = {{encoded: s.framesEncoded || 0, t: s.timestamp,
              limit: String(s.qualityLimitationReason || "")}};
        }});
      }}
      window.__benchStats = out;
    }};
    window.__benchPoll = setInterval(() => {{ tick().catch(() => {{}}); }}, {POLL_MS});
  }}
  return true;
}}"""
LATEST = "() => window.__benchStats || false"


@dataclass
class Row:
    n: int
    fps: list[float] = field(default_factory=list)
    sent: list[float] = field(default_factory=list)
    dropped: int = 0
    lost: int = 0
    freezes: int | None = None
    cpu: float = 0.0
    janus: float | None = None
    limits: set[str] = field(default_factory=set)
    source: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        mean = f"{statistics.fmean(self.fps):6.1f}" if self.fps else "     -"
        low = f"{min(self.fps):6.1f}" if self.fps else "     -"
        sent = f"{min(self.sent):5.1f}" if self.sent else "    -"
        freezes = "-" if self.freezes is None else str(self.freezes)
        janus = "-" if self.janus is None else f"{self.janus:.0f}%"
        return (
            f"| {self.n:2d} | {self.n * (self.n - 1):3d} | {mean} | {low} | {sent} | "
            f"{self.dropped:6d} | {self.lost:5d} | {freezes:>7} | {self.cpu:5.0f}% | "
            f"{janus:>5} | {','.join(sorted(self.limits)) or '-'} |"
        )


HEADER = (
    "|  N | streams | mean fps | min fps | min sent fps | dropped | lost | freezes | "
    "CPU | Janus | encoder limit |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def busy_percent(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[1] - before[1]
    return 100.0 * (after[0] - before[0]) / total if total > 0 else 0.0


def janus_pids(host: str) -> list[int]:
    """The Janus processes of the lab container named ``host`` (visible to root only)."""
    pids = []
    for d in Path("/proc").iterdir():
        try:
            if (
                d.name.isdigit()
                and (d / "comm").read_text().strip() == "janus"
                and (d / "root/etc/hostname").read_text().strip() == host
            ):
                pids.append(int(d.name))
        except OSError:
            continue
    return pids


def process_seconds(pids: list[int]) -> float | None:
    total = 0.0
    try:
        for pid in pids:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None
    return total if pids else None


def event_loops(pids: list[int]) -> str:
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/root/etc/janus/janus.jcfg").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.strip().startswith("event_loops"):
                return line.split("=", 1)[1].strip()
    return "unknown (janus.jcfg not readable here)"


def room_publishers(inventory: Path, role: Path) -> int:
    """videoconference_room_publishers: the inventory's value, else the role's default."""
    found = sorted(inventory.glob("group_vars/videoconference_servers/*.yml"))
    for path in [*found, role / "defaults/main.yml"]:
        data = yaml.safe_load(path.read_text()) or {}
        if "videoconference_room_publishers" in data:
            return int(data["videoconference_room_publishers"])
    raise SystemExit("videoconference_room_publishers found nowhere")


def accounts(inventory: Path) -> list[Account]:
    """The probe accounts, then the teleworkers whose passwords the inventory keeps."""
    base = inventory / ".credentials/directory"
    files = sorted((base / "probes").glob("*.password")) + sorted(base.glob("*.password"))
    return [Account(p.stem, p.read_text().strip()) for p in files if p.read_text().strip()]


def delta(a: dict[str, Any], b: dict[str, Any], key: str) -> float:
    return float(b.get(key) or 0) - float(a.get(key) or 0)


def measure(
    pages: list[Page], window: float, n: int, pids: list[int], ms: float
) -> tuple[Row, list[str]]:
    """Every page's statistics at the start and the end of ``window`` seconds."""

    def snap() -> list[dict[str, Any]]:
        out = []
        for page in pages:
            value = page.wait_for_function(LATEST, polling=POLL_MS, timeout=ms).json_value()
            out.append(value if isinstance(value, dict) else {})
        return out

    row = Row(n)
    cpu0, janus0, first = cpu_times(), process_seconds(pids), snap()
    began = time.monotonic()
    time.sleep(window)
    last, cpu1, janus1 = snap(), cpu_times(), process_seconds(pids)
    wall = time.monotonic() - began
    row.cpu = busy_percent(cpu0, cpu1)
    if janus0 is not None and janus1 is not None:
        row.janus = 100.0 * (janus1 - janus0) / wall
    row.source = last[0].get("source") or {} if last else {}
    problems = []
    for i, (a, b) in enumerate(zip(first, last, strict=True)):
        subs_a, subs_b = a.get("subs", {}), b.get("subs", {})
        if len(subs_b) < n - 1:
            problems.append(f"page {i + 1} subscribes to {len(subs_b)} of {n - 1} feeds")
        for key, end in subs_b.items():
            start = subs_a.get(key, {})
            seconds = delta(start, end, "t") / 1000 if start else 0.0
            row.fps.append(delta(start, end, "decoded") / seconds if seconds > 0 else 0.0)
            row.dropped += int(delta(start, end, "dropped"))
            row.lost += int(delta(start, end, "lost"))
            if end.get("freezes") is not None:
                row.freezes = (row.freezes or 0) + int(delta(start, end, "freezes"))
        sa, sb = a.get("sent") or {}, b.get("sent") or {}
        if sa and sb and delta(sa, sb, "t") > 0:
            row.sent.append(delta(sa, sb, "encoded") / (delta(sa, sb, "t") / 1000))
            if sb.get("limit") not in ("", "none"):
                row.limits.add(str(sb["limit"]))
        problems += [f"page {i + 1}: {e}"[:200] for e in b.get("errors", [])[:2]]
    return row, problems


def settle(pages: list[Page], n: int, limit: float) -> None:
    """Until every page decodes the N-1 others' feeds (or ``limit`` seconds passed)."""
    ready = f"""() => {{ const s = window.__benchStats; return !!s &&
      Object.values(s.subs).filter((x) => x.decoded > 0).length >= {n - 1}; }}"""
    from playwright.sync_api import TimeoutError as PageTimeout  # noqa: PLC0415

    deadline = time.monotonic() + limit
    for page in pages:
        left = max(1.0, (deadline - time.monotonic()) * 1000)
        try:
            page.wait_for_function(ready, polling=POLL_MS, timeout=left)
        except PageTimeout:  # measured anyway: the missing feeds show
            return


def join(chromium: Browser, visit: Visit, pool: list[Account], i: int) -> Page:
    """Participant ``i`` with the next account the site accepts (refused ones leave the
    pool); StepFailed when it cannot join."""
    while pool:
        who = pool[i % len(pool)]
        try:
            page = enter(chromium, visit, who)
        except StepFailed as stop:
            if stop.step != "login" or stop.timed_out:
                raise
            print(f"  account {who.login} refused ({stop.reason[:80]}): left out")
            pool.remove(who)
            continue
        page.wait_for_function(POLLER, timeout=5000)
        return page
    raise StepFailed("login", "-", "no account left")


@dataclass
class Climb:
    """The run so far: the pages in the room, the largest N that held, why it stopped."""

    room: str
    pin: str
    url: str
    pool: list[Account]
    pids: list[int]
    pages: list[Page] = field(default_factory=list)
    held: int = 0
    why: str = ""
    source: dict[str, Any] = field(default_factory=dict)

    def step(self, chromium: Browser, a: argparse.Namespace, n: int) -> bool:
        """Participant ``n`` joins, the room settles and is measured; False to stop."""
        from playwright.sync_api import Error  # noqa: PLC0415 (optional dependency)

        visit = Visit(self.url, self.room, self.pin, Clock(60.0), Seen(self.room, "", ""))
        try:
            self.pages.append(join(chromium, visit, self.pool, n - 1))
            settle(self.pages, n, a.settle * 4)
            time.sleep(a.settle)
            row, problems = measure(self.pages, a.window, n, self.pids, 10000)
        except StepFailed as stop:
            self.why = f"N={n}: page {n} failed at {stop.step}: {stop.reason[:200]}"
            return False
        except Error as exc:
            self.why = f"N={n}: a page failed: {str(exc)[:200]}"
            return False
        print(row.line(), flush=True)
        self.source = self.source or row.source  # the source as measured first, unloaded
        floor = a.threshold * float(self.source.get("fps") or a.source_fps)
        if problems or (row.fps and min(row.fps) < floor):
            shown = "; ".join(problems[:3]) or f"min {min(row.fps):.1f} < {floor:.1f} fps"
            self.why = f"N={n}: {shown}"
            return False
        self.held = n
        return True

    def leave(self) -> None:
        """pagehide on every page: the application logs each leave (bounded, best effort)."""
        from playwright.sync_api import Error  # noqa: PLC0415 (optional dependency)

        for page in self.pages:
            try:
                page.goto("about:blank", timeout=3000)
            except Error as exc:
                print(f"  leaving: {str(exc)[:80]}")


def run(a: argparse.Namespace) -> None:
    inventory = Path(a.inventory)
    limit = room_publishers(inventory, Path(a.role))
    top = min(a.max_publishers, limit)
    ca = str(inventory / ".pki/ca.crt")
    with tls.connect(a.address, a.port, a.name, tls.verifying_context(ca), 10) as sock:
        site = browser.Site(a.name, a.address, browser.spki_pin(sock.getpeercert(True) or b""))
    climb = Climb(
        f"bench-{secrets.token_hex(4)}",
        f"{secrets.randbelow(10**8):08d}",
        f"https://{a.name}:{a.port}/",
        accounts(inventory),
        janus_pids(a.host),
    )
    clock = Clock(a.time_limit)
    with browser.chromium(site, timeout=60, executable=a.chromium) as chromium:
        version = chromium.version
        print(f"room {climb.room} on {climb.url} ({a.address}); up to {top} publishers")
        print(HEADER)
        try:
            for n in range(1, top + 1):
                if clock.left() < a.settle * 5 + a.window + 90:
                    climb.why = f"time limit {a.time_limit:g} s reached before N={n}"
                    break
                if not climb.step(chromium, a, n):
                    break
            else:
                climb.why = f"no drop up to the maximum asked ({top})"
        finally:
            climb.leave()
    held, source = climb.held, climb.source
    fps = source.get("fps") or a.source_fps
    print(
        f"\nroom capacity: {held} publishers ({held * (held - 1)} streams) held; stop: {climb.why}"
    )
    size = f"{source.get('width', '?')}x{source.get('height', '?')}"
    print(
        f"settings: fake video {size} at {fps:g} fps (media-source statistics at N=1); "
        f"threshold {a.threshold:g} x source fps; settle {a.settle:g} s, window "
        f"{a.window:g} s; Janus event loops {event_loops(climb.pids)}; room publishers "
        f"limit (videoconference_room_publishers) {limit}; Chromium {version}; machine "
        f"cores {os.cpu_count()}; accounts {', '.join(x.login for x in climb.pool)}"
    )
    print(
        "note: the browsers share this machine's CPU with Janus (and with whatever else "
        "runs), so the figure is a lower bound of what the server alone carries."
    )


def options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--inventory", default="inventories/lab")
    ap.add_argument("--role", default="roles/videoconference")
    ap.add_argument("--name", default="visio.lab.telework.test")
    ap.add_argument("--address", default="10.60.2.15")
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--host", default="visio", help="the lab container running Janus")
    ap.add_argument("--chromium", default=browser.CHROMIUM)
    ap.add_argument("--max-publishers", type=int, default=8)
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("--window", type=float, default=10.0)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--source-fps", type=float, default=20.0, help="when stats lack it")
    ap.add_argument("--time-limit", type=float, default=600.0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options(ap)
    a = ap.parse_args(argv)
    a.time_limit = min(a.time_limit, 900.0)
    a.max_publishers = max(1, min(a.max_publishers, 16))
    if why := browser.missing(a.chromium):
        raise SystemExit(why)
    run(a)


if __name__ == "__main__":
    main()
