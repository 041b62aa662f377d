"""Videoconference, VC-01 to VC-05 (docs/controls.md), read on the Janus and coturn host.

Janus' configuration is read with ``sed`` on the host, which prints the file names, the
section headers and the settings judged, with every secret's value replaced by ``(set)``
(admin key, token secret, API and admin secrets never leave the host). coturn's is read
the same way, without ``static-auth-secret`` and ``user`` lines. VC-06 (two participants
exchange media) is probed from the auditor's machine with two browsers:
toolkit.controls.visio_meeting.
"""

from __future__ import annotations

import ipaddress
import logging
import re

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params, as_list
from toolkit.audit.registry import control
from toolkit.text import one_line

log = logging.getLogger(__name__)

JANUS_FILES = (
    "/etc/janus/janus.jcfg",
    "/etc/janus/janus.plugin.videoroom.jcfg",
    "/etc/janus/janus.transport.http.jcfg",
    "/etc/janus/janus.transport.websockets.jcfg",
)
_SECRETS = "admin_key|token_auth_secret|api_secret|admin_secret|secret|pin"
_KEYS = "token_auth|record|rec_dir|ip|ws_ip|http|https|ws|wss|admin_http|admin_ws"
JANUS_READ = (
    "sed -s -n -E -e '1F' "
    f"-e 's/^[[:space:]]*({_SECRETS})[[:space:]]*=.*/\\1 = (set)/p' "
    f'-e \'s/^[[:space:]]*({_KEYS})[[:space:]]*=[[:space:]]*"?([^"#[:space:]]*)"?.*/\\1 = \\2/p\' '
    "-e 's/^[[:space:]]*([A-Za-z0-9_-]+)[[:space:]]*:[[:space:]]*[{].*/[\\1]/p' "
    + " ".join(JANUS_FILES)
)
TURN_KEYS = (
    "tls-listening-port|listening-port|no-udp|no-tcp|no-tls|use-auth-secret|lt-cred-mech|"
    "no-auth|denied-peer-ip|allowed-peer-ip|allow-loopback-peers|cert"
)
_LINE = re.compile(r"^([A-Za-z0-9_-]+) = (.*)$")
_SECTION = re.compile(r"^\[([A-Za-z0-9_-]+)\]$")

Janus = dict[str, dict[str, dict[str, str]]]


def janus_settings(text: str) -> Janus:
    """file -> section -> key -> value, from the sed answer (file names on their own line)."""
    files: Janus = {}
    current: dict[str, dict[str, str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("/"):
            current = files.setdefault(line.rsplit("/", 1)[-1], {})
            section = ""
        elif m := _SECTION.match(line):
            section = m.group(1)
            current.setdefault(section, {})
        elif (m := _LINE.match(line)) and section:
            current.setdefault(section, {})[m.group(1)] = m.group(2)
    return files


def turn_settings(text: str) -> list[tuple[str, str]]:
    """(key, value) of turnserver.conf lines in order (repeated keys kept)."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        out.append((key.strip().lstrip("-"), value.strip().strip('"')))
    return out


def _read_janus(ctx: Context) -> Janus | None:
    res = ctx.run(JANUS_READ, sudo=True)
    if res.rc == 2 and "No such file" in res.stderr and not res.stdout.strip():
        return None
    if res.rc not in (0, 2):
        raise ControlError(f"`sed` of Janus' configuration exited {res.rc}: {res.stderr[:300]}")
    return janus_settings(res.stdout)


def _read_turn(ctx: Context, path: str) -> list[tuple[str, str]] | None:
    if not re.fullmatch(r"/[A-Za-z0-9._/-]{1,200}", path):
        raise ControlError(f"turn_config {one_line(path)!r} is not an absolute path")
    res = ctx.run(f"grep -E '^[[:space:]]*-*({TURN_KEYS})\\b' {path}", sudo=True)
    if res.rc == 2 and "No such file" in res.stderr:
        return None
    if res.rc not in (0, 1):
        raise ControlError(f"`{res.command}` exited {res.rc}: {res.stderr.strip()[:300]}")
    return turn_settings(res.stdout)


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("true", "yes", "1")


def judge_room_creation(janus: Janus) -> tuple[list[str], str]:
    videoroom = janus.get("janus.plugin.videoroom.jcfg", {})
    problems = []
    if "admin_key" not in videoroom.get("general", {}):
        problems.append("VideoRoom has no admin_key: any session may create rooms")
    static = sorted(s for s in videoroom if s != "general")
    if static:
        problems.append(f"static rooms in the configuration: {', '.join(static)}")
    return problems, "rooms created only with VideoRoom's admin key; no static room"


def judge_protection(janus: Janus) -> tuple[list[str], str]:
    general = janus.get("janus.jcfg", {}).get("general", {})
    if _true(general.get("token_auth")):
        kind = "signed" if "token_auth_secret" in general else "stored (Admin API)"
        return [], f"every Janus session needs a token ({kind})"
    if "api_secret" in general:
        return [], "every Janus request needs the API secret (only the application holds it)"
    return ["Janus accepts sessions without a token or API secret (token_auth off)"], ""


def judge_recording(janus: Janus) -> tuple[list[str], str]:
    videoroom = janus.get("janus.plugin.videoroom.jcfg", {})
    recording = sorted(s for s, kv in videoroom.items() if _true(kv.get("record")))
    problems = [f"rooms recording by default: {', '.join(recording)}"] if recording else []
    return problems, "no room records by default"


def judge_transport(janus: Janus, turn: list[tuple[str, str]], ports: list[int]) -> list[str]:
    problems = []
    for name, plain, ip in (
        ("janus.transport.http.jcfg", "http", "ip"),
        ("janus.transport.websockets.jcfg", "ws", "ws_ip"),
    ):
        general = janus.get(name, {}).get("general", {})
        if not general:
            continue
        address = general.get(ip, "")
        loopback = bool(address) and _loopback(address)
        if _true(general.get(plain, "true")) and not loopback:
            problems.append(f"{name}: plain {plain} on {address or 'every address'}")
    tls_ports = [int(v) for k, v in turn if k == "tls-listening-port" and v.isdigit()]
    if any(k == "no-tls" for k, _ in turn):
        problems.append("TURN over TLS switched off (no-tls)")
    elif not set(tls_ports) & set(ports):
        shown = ", ".join(map(str, tls_ports)) or "5349 (default) without a certificate"
        problems.append(f"TURN over TLS on {shown}, not on {' or '.join(map(str, ports))}")
    if not any(k == "cert" for k, _ in turn):
        problems.append("coturn has no certificate (cert)")
    return problems


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def _range(text: str) -> tuple[int, int] | None:
    first, _, last = text.partition("-")
    try:
        a = ipaddress.ip_address(first.strip())
        b = ipaddress.ip_address((last or first).strip())
    except ValueError:
        return None
    return (int(a), int(b)) if a.version == 4 and b.version == 4 else None


def judge_relay(turn: list[tuple[str, str]], required: list[str]) -> tuple[list[str], str]:
    keys = {k for k, _ in turn}
    problems = []
    if "no-auth" in keys or not keys & {"use-auth-secret", "lt-cred-mech"}:
        problems.append("TURN allocations without credentials (no use-auth-secret/lt-cred-mech)")
    if "allow-loopback-peers" in keys:
        problems.append("loopback peers allowed (allow-loopback-peers)")
    denied = [r for k, v in turn if k == "denied-peer-ip" and (r := _range(v))]
    for net in required:
        want = _range(net)
        if want and not any(lo <= want[0] and want[1] <= hi for lo, hi in denied):
            problems.append(f"private range {net} not denied as a peer")
    allowed = [v for k, v in turn if k == "allowed-peer-ip"]
    shown = "shared-secret credentials; private ranges denied as peers"
    return problems, shown + (f" (allowed: {', '.join(allowed)})" if allowed else "")


@control("VC-01")
def room_creation(ctx: Context, p: Params) -> Outcome:
    """Nobody creates a room without the meeting application's key (A14)."""
    janus = _read_janus(ctx)
    if janus is None:
        return Outcome.skipped("no Janus configuration on this host")
    return Outcome.of(*judge_room_creation(janus))


@control("VC-02")
def rooms_protected(ctx: Context, p: Params) -> Outcome:
    """Every session needs a token from the application (A14)."""
    janus = _read_janus(ctx)
    if janus is None:
        return Outcome.skipped("no Janus configuration on this host")
    return Outcome.of(*judge_protection(janus))


@control("VC-03")
def signalling_tls(ctx: Context, p: Params) -> Outcome:
    """Janus' plain transports only on loopback (nginx serves TLS); TURN over TLS (A11)."""
    janus = _read_janus(ctx)
    turn = _read_turn(ctx, str(p["turn_config"]))
    if janus is None or turn is None:
        return Outcome.skipped("no Janus or coturn configuration on this host")
    ports = [int(x) for x in as_list(p["turn_tls_ports"])]
    return Outcome.of(
        judge_transport(janus, turn, ports), "Janus behind TLS only; TURN over TLS offered"
    )


@control("VC-04")
def turn_not_open(ctx: Context, p: Params) -> Outcome:
    """The TURN server is no open relay into the administration's networks (A10)."""
    turn = _read_turn(ctx, str(p["turn_config"]))
    if turn is None:
        return Outcome.skipped(f"no {p['turn_config']} on this host (no coturn)")
    return Outcome.of(*judge_relay(turn, [str(x) for x in as_list(p["denied_ranges"])]))


@control("VC-05")
def recording_off(ctx: Context, p: Params) -> Outcome:
    """No room records unless asked, with every participant's consent (A14, A3)."""
    janus = _read_janus(ctx)
    if janus is None:
        return Outcome.skipped("no Janus configuration on this host")
    return Outcome.of(*judge_recording(janus))
