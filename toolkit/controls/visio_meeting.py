"""VC-06: two participants join a room and exchange media through the server (M6).

From the auditor's machine, as two teleworkers would: two headless Chromium pages
(toolkit.adapters.browser, fake camera and microphone) open the meeting site at the host's
probe address under its server name, log in with two probe accounts of the directory
(``directory_probe_accounts``: ``audit-probe`` publishes, ``audit-probe-2`` subscribes),
and join one new room with a random PIN. The control passes when both joined, the
subscriber decoded video frames of the publisher's feed, and the selected ICE candidate
pair of the subscriber's (and the publisher's) peer connection has the videoconference
server as its remote end: the probe address, or one of ``media_addresses`` (the address
Janus announces behind a 1:1 NAT). It fails naming the step that failed: the site, the
login, the join, the media or its path. Where the auditor's machine has no Chromium or no
Playwright, it is ``skipped`` and says so.

Before Chromium sees the site, its certificate is checked with the standard library
against the inventory's CA for the server name (as every TLS probe of the audit); only
that proven key is then accepted by the browser. Every wait is bounded by ``time_limit``
seconds in all; the browser is always closed. Whatever the pages or the browser say is
made printable before it reaches the report.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from toolkit.adapters import browser
from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params, as_list
from toolkit.audit.registry import control
from toolkit.controls import tls
from toolkit.controls.mailflow import probe_password
from toolkit.text import printable

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

log = logging.getLogger(__name__)

#: Most characters kept of one string a page or the browser gives.
MAX_TEXT = 300
MAX_ERRORS = 10
POLL_MS = 500
#: Milliseconds granted past the time limit to read the last statistics and to leave.
GRACE_MS = 5000
#: What the page's state (``window.visio``, files/telework_visio/static/meeting.js) and
#: each peer connection's statistics show: joined, feeds, errors, decoded video frames and
#: the selected candidate pair's two ends.
STATS = """async () => {
  const v = window.visio || {};
  const out = {joined: !!v.joined, errors: (v.errors || []).map(String),
               feeds: (v.feeds || []).map(String), pcs: {}};
  for (const [key, pc] of Object.entries(v.pcs || {})) {
    const stats = await pc.getStats();
    const by = {};
    stats.forEach((s) => { by[s.id] = s; });
    let frames = 0, pair = null;
    stats.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
      if (s.type === "transport" && s.selectedCandidatePairId) pair = by[s.selectedCandidatePairId];
    });
    const cand = (id) => {
      const c = by[id];
      return c ? {type: String(c.candidateType || ""), address: String(c.address || c.ip || ""),
                  port: Number(c.port || 0), protocol: String(c.protocol || "")} : null;
    };
    out.pcs[key] = {frames: frames, state: String(pc.iceConnectionState),
                    local: pair ? cand(pair.localCandidateId) : null,
                    remote: pair ? cand(pair.remoteCandidateId) : null};
  }
  return out;
}"""
#: Starts reading STATS in the page every POLL_MS into ``window.__auditStats``: Playwright's
#: polling (whose time limit holds even when a page does not answer) awaits no promise, so
#: it reads what this keeps up to date.
POLLER = f"""() => {{
  if (!window.__auditPoll) {{
    const tick = async () => {{
      try {{ window.__auditStats = await ({STATS})(); }} catch (e) {{ /* next tick */ }}
    }};
    window.__auditPoll = setInterval(tick, {POLL_MS});
    tick();
  }}
  return true;
}}"""
#: The latest statistics (false before the first).
LATEST = "() => window.__auditStats || false"
#: The latest statistics once the subscriber decoded video over a selected pair (false
#: before).
DECODED = """() => {
  const s = window.__auditStats;
  if (!s) return false;
  const subs = Object.entries(s.pcs).filter(([k, v]) => k.startsWith("sub-") && v.frames > 0);
  return subs.some(([k, v]) => v.remote) ? s : false;
}"""
#: The page's state once joined or refused (false before).
JOINED = """() => {
  const v = window.visio;
  if (!v || !(v.joined || v.errors.length > 0)) return false;
  return {joined: !!v.joined, errors: v.errors.map(String)};
}"""


@dataclass(frozen=True)
class Account:
    login: str
    password: str


@dataclass(frozen=True)
class Candidate:
    type: str
    address: str
    port: int
    protocol: str

    @classmethod
    def of(cls, raw: Any) -> Candidate | None:
        if not isinstance(raw, dict):
            return None
        port = raw.get("port")
        return cls(
            str(raw.get("type", "")),
            str(raw.get("address", "")),
            port if isinstance(port, int) else 0,
            str(raw.get("protocol", "")),
        )

    def __str__(self) -> str:
        return f"{self.address}:{self.port}/{self.protocol} ({self.type})"


@dataclass
class Seen:
    """What the two pages showed. ``failed`` is the step that failed (``site``, ``login``,
    ``join``), for ``who``, with ``reason``; empty when both joined."""

    room: str
    publisher: str
    subscriber: str
    failed: str = ""
    who: str = ""
    reason: str = ""
    #: The step did not complete within the time limit (rather than being refused).
    timed_out: bool = False
    joined: list[str] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    frames: int = 0
    #: The selected pair's remote end of the subscriber's and the publisher's connection.
    remote: Candidate | None = None
    publisher_remote: Candidate | None = None
    seconds: float = 0.0
    page_errors: list[str] = field(default_factory=list)


def _text(value: object) -> str:
    """A string from a page or the browser, safe for the report: its first line, cut."""
    lines = str(value).strip().splitlines() or [""]
    first = lines[0]
    cut = first[:MAX_TEXT] + ("..." if len(first) > MAX_TEXT or len(lines) > 1 else "")
    return printable(cut)


def _same(address: str, wanted: set[str]) -> bool:
    try:
        return str(ipaddress.ip_address(address)) in wanted
    except ValueError:
        return address in wanted


def _normal(addresses: list[str]) -> set[str]:
    out = set()
    for a in addresses:
        try:
            out.add(str(ipaddress.ip_address(a)))
        except ValueError:
            out.add(a)
    return out


#: How a step that failed is told, for the participant ``who``; and the step's name when
#: it did not complete in time.
STEPS = {
    "site": "the meeting site did not open for {who}",
    "login": "login refused for {who}",
    "join": "{who} could not join the room",
}
STEP_NAMES = {
    "site": "opening the meeting site",
    "login": "the login",
    "join": "joining the room",
    "media": "reading the media statistics",
}


def judge(seen: Seen, server: list[str], limit: float) -> Outcome:
    """The outcome of a meeting: pass only when both joined, the subscriber decoded the
    publisher's video and both connections' remote end is the server."""
    who, why = _text(seen.who), _text(seen.reason)
    if seen.failed and seen.timed_out:
        step = STEP_NAMES.get(seen.failed, _text(seen.failed))
        return Outcome.failed(f"{step} of {who} did not complete within {limit:g} s: {why}")
    if seen.failed:
        step = STEPS.get(seen.failed, f"{_text(seen.failed)} failed for {{who}}")
        return Outcome.failed(f"{step.format(who=who)}: {why}")
    pub, sub = _text(seen.publisher), _text(seen.subscriber)
    errors = [_text(e) for e in seen.page_errors[:5]]
    if seen.publisher not in seen.feeds and seen.frames <= 0:
        saw = ", ".join(_text(f) for f in seen.feeds[:5]) or "none"
        return Outcome.failed(
            f"{sub} did not see {pub}'s feed in the room within {limit:g} s (feeds: {saw})",
            *errors,
        )
    if seen.frames <= 0:
        saw = ", ".join(_text(f) for f in seen.feeds[:5]) or "none"
        return Outcome.failed(
            f"no video frame of {pub} decoded by {sub} within {limit:g} s (feeds {sub} saw: {saw})",
            *errors,
        )
    wanted = _normal(server)
    shown = ", ".join(sorted(wanted))
    problems = []
    for name, end in ((sub, seen.remote), (pub, seen.publisher_remote)):
        if end is None:
            problems.append(f"{name}'s connection has no selected candidate pair")
        elif not _same(end.address, wanted):
            problems.append(
                f"{name}'s media went to {_text(end)}, not through the server ({shown})"
            )
    if problems:
        return Outcome.failed("; ".join(problems), *errors)
    return Outcome.passed(
        f"{pub} and {sub} joined room {_text(seen.room)}; {sub} decoded {seen.frames} frames "
        f"of {pub}'s video from the server at {_text(seen.remote)} in {seen.seconds:.1f} s"
    )


# --- the two pages ---------------------------------------------------------------------


class StepFailed(Exception):  # noqa: N818 (a step that failed, not an error of the audit)
    def __init__(self, step: str, who: str, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.step, self.who, self.reason, self.timed_out = step, who, reason, timed_out


class Clock:
    def __init__(self, limit: float) -> None:
        self.start = time.monotonic()
        self.deadline = self.start + limit

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def ms(self) -> float:
        """Milliseconds left (at least 1: Playwright reads 0 as no limit)."""
        return float(max(1, round(self.left() * 1000)))


@dataclass(frozen=True)
class Visit:
    """Where the participants go: the site's page, the room and its PIN."""

    url: str
    room: str
    pin: str
    clock: Clock
    seen: Seen


def _keep(errors: list[str], error: str) -> None:
    """A page's script error, for the report: the first MAX_ERRORS only."""
    if len(errors) < MAX_ERRORS:
        errors.append(error[:MAX_TEXT])


def enter(chromium: Browser, visit: Visit, who: Account) -> Page:
    """One participant: the site, the login, the room; StepFailed names the step that failed."""
    from playwright.sync_api import Error  # noqa: PLC0415 (optional dependency)
    from playwright.sync_api import TimeoutError as PageTimeout  # noqa: PLC0415

    url, room, pin, clock, seen = visit.url, visit.room, visit.pin, visit.clock, visit.seen

    context = chromium.new_context(locale="fr-FR", permissions=["camera", "microphone"])
    page = context.new_page()
    page.on("pageerror", lambda e: _keep(seen.page_errors, f"{who.login}: {e}"))
    step = "site"
    try:
        page.goto(url, timeout=clock.ms())
        page.wait_for_selector("#login, #join", timeout=clock.ms())
        step = "login"
        if page.query_selector("#login"):
            page.fill("#login input[name=username]", who.login, timeout=clock.ms())
            page.fill("#login input[name=password]", who.password, timeout=clock.ms())
            page.click("#login button", timeout=clock.ms())
            page.wait_for_selector("#join, .error", timeout=clock.ms())
            if not page.query_selector("#join"):
                said = page.query_selector(".error")
                raise StepFailed(step, who.login, said.inner_text() if said else "no meeting page")
        step = "join"
        page.fill("#join input[name=room]", room, timeout=clock.ms())
        page.fill("#join input[name=pin]", pin, timeout=clock.ms())
        page.click("#join button", timeout=clock.ms())
        state = page.wait_for_function(JOINED, timeout=clock.ms()).json_value()
    except PageTimeout as exc:
        raise StepFailed(step, who.login, str(exc), timed_out=True) from exc
    except Error as exc:
        raise StepFailed(step, who.login, str(exc)) from exc
    if not (isinstance(state, dict) and state.get("joined")):
        errors = state.get("errors") if isinstance(state, dict) else None
        raise StepFailed(step, who.login, "; ".join(map(str, errors or [])) or "not joined")
    seen.joined.append(who.login)
    return page


def _read(page: Page, function: str, timeout_ms: float) -> dict[str, Any]:
    """What ``function`` returns in the page, within ``timeout_ms`` (PageTimeout else)."""
    value = page.wait_for_function(function, polling=POLL_MS, timeout=timeout_ms).json_value()
    return value if isinstance(value, dict) else {}


def meet(
    site: browser.Site,
    port: int,
    accounts: tuple[Account, Account],
    limit: float,
    executable: str = browser.CHROMIUM,
) -> Seen:
    """The first account publishes, the second joins after it and subscribes; the
    subscriber's statistics are polled until it decodes video or the time is up."""
    from playwright.sync_api import Error  # noqa: PLC0415 (optional dependency)
    from playwright.sync_api import TimeoutError as PageTimeout  # noqa: PLC0415

    publisher, subscriber = accounts
    room = f"audit-vc06-{secrets.token_hex(4)}"
    pin = f"{secrets.randbelow(10**8):08d}"
    seen = Seen(room, publisher.login, subscriber.login)
    clock = Clock(limit)
    url = f"https://{site.name}:{port}/"
    with browser.chromium(site, timeout=clock.left(), executable=executable) as chromium:
        try:
            visit = Visit(url, room, pin, clock, seen)
            pages = [enter(chromium, visit, a) for a in accounts]
        except StepFailed as stop:
            seen.failed, seen.who, seen.reason = stop.step, stop.who, stop.reason
            seen.timed_out = stop.timed_out
            return seen
        try:
            for page in pages:
                page.wait_for_function(POLLER, timeout=GRACE_MS)
            try:
                stats = _read(pages[1], DECODED, clock.ms())
            except PageTimeout:  # no frame in time: what the subscriber saw, for the report
                stats = _read(pages[1], LATEST, GRACE_MS)
            mine = _read(pages[0], LATEST, GRACE_MS).get("pcs", {}).get("publisher", {})
        except Error as exc:
            seen.failed, seen.who, seen.reason = "media", subscriber.login, str(exc)
            return seen
        seen.seconds = time.monotonic() - clock.start
        seen.feeds = [str(f) for f in stats.get("feeds", [])]
        subs = [v for k, v in stats.get("pcs", {}).items() if k.startswith("sub-")]
        if subs:
            best = max(subs, key=lambda v: int(v.get("frames") or 0))
            seen.frames = int(best.get("frames") or 0)
            seen.remote = Candidate.of(best.get("remote"))
        seen.publisher_remote = Candidate.of(mine.get("remote"))
        for page in pages:  # pagehide: the application logs each leave (M13)
            try:
                page.goto("about:blank", timeout=GRACE_MS)
            except Error:
                log.debug("leaving %s", seen.room, exc_info=True)
    return seen


def _pin(ctx: Context, port: int) -> str:
    """The key of the certificate the site presents, once it proved the server name with
    the inventory's CA (CertificateRefusedError otherwise: nothing is sent to it)."""
    name = tls.service_name(ctx)
    try:
        with tls.connect(
            ctx.address, port, name, tls.verifying_context(ctx.ca_file), ctx.probe_timeout
        ) as sock:
            der = sock.getpeercert(binary_form=True)
    except OSError as exc:
        raise ControlError(f"TLS {ctx.address}:{port}: {exc}") from exc
    if not der:
        raise ControlError(f"TLS {ctx.address}:{port}: no certificate")
    return browser.spki_pin(der)


def _accounts(p: Params) -> tuple[Account, Account]:
    out = []
    for role in ("publisher", "subscriber"):
        login, path = str(p.get(f"{role}_login") or ""), str(p.get(f"{role}_password_path") or "")
        if not (login and path):
            raise ControlError(
                f"set {role}_login and {role}_password_path (audit_params) to a probe account "
                "(role directory: directory_probe_accounts)"
            )
        out.append(Account(login, probe_password(login, path)))
    if out[0].login == out[1].login:
        raise ControlError("the publisher and the subscriber must be two accounts")
    return out[0], out[1]


@control("VC-06", needs_ssh=False)
def participants_meet(ctx: Context, p: Params) -> Outcome:
    """Two probe accounts meet in a room and the media flows through the server (M6)."""
    executable = str(p["chromium"])
    if why := browser.missing(executable):
        return Outcome.skipped(f"{why}: VC-06 needs two headless browsers")
    accounts = _accounts(p)
    port, limit = int(p["port"]), float(p["time_limit"])
    site = browser.Site(tls.service_name(ctx), ctx.address, _pin(ctx, port))
    from playwright.sync_api import Error  # noqa: PLC0415 (optional dependency)

    try:
        seen = meet(site, port, accounts, limit, executable)
    except Error as exc:  # Chromium did not start, or died under the pages
        raise ControlError(f"Chromium could not be driven: {_text(exc)}") from exc
    server = [ctx.address, *(str(a) for a in as_list(p["media_addresses"]) if a)]
    outcome = judge(seen, server, limit)
    ctx.note(
        f"chromium https://{site.name}:{port}/ at {ctx.address} (two pages, room {seen.room})",
        "\n".join(
            [
                f"joined: {', '.join(_text(j) for j in seen.joined) or 'nobody'}",
                f"feeds seen by {_text(seen.subscriber)}: "
                + (", ".join(_text(f) for f in seen.feeds) or "none"),
                f"video frames decoded: {seen.frames}",
                f"subscriber's selected pair, remote end: {_text(seen.remote or 'none')}",
                f"publisher's selected pair, remote end: {_text(seen.publisher_remote or 'none')}",
                f"seconds: {seen.seconds:.1f}",
            ]
            + ([f"failed at {_text(seen.failed)}: {_text(seen.reason)}"] if seen.failed else [])
        ),
    )
    return outcome
