"""What teleworkers (and strangers) get from the meeting service, with real clients on the
controller through the ports published on 127.0.0.1: plain requests to the Janus API and
the application (refusals), a TURN allocation over TLS without, with forged and with real
credentials, and two headless Chromium pages (Playwright driving Debian's chromium, fake
camera) that log in as two directory users and meet in one room, directly and relay-only
through TURN over TLS. In the direct meeting, recording with every participant's consent
(A14): start refused while B has not consented (French and Arabic messages on the pages),
then started once both have; the recording folder on the host is read twice while it runs
and twice after the stop (--recordings-probe, a command listing its .mjr files). Prints
one JSON object of observations; verify.yml asserts on them."""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import socket
import ssl
import struct
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

TIMEOUT = 20
#: Seconds B waits for its first decoded frame of A's video (VC-06).
FRAMES_WAIT = 90
CHROMIUM = "/usr/bin/chromium"
PLUGIN = "janus.plugin.videoroom"
STATS = """async () => {
  const v = window.visio || {};
  const out = {joined: !!v.joined, errors: v.errors || [], feeds: v.feeds || [], subs: []};
  for (const [key, pc] of Object.entries(v.pcs || {})) {
    if (!key.startsWith("sub-")) continue;
    const stats = await pc.getStats();
    const by = {};
    stats.forEach((s) => { by[s.id] = s; });
    let frames = 0, bytes = 0, pair = null;
    stats.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") {
        frames += s.framesDecoded || 0; bytes += s.bytesReceived || 0;
      }
      if (s.type === "transport" && s.selectedCandidatePairId) pair = by[s.selectedCandidatePairId];
    });
    const cand = (id) => {
      const c = by[id];
      return c ? {type: c.candidateType, address: c.address || c.ip, port: c.port,
                  protocol: c.protocol, relayProtocol: c.relayProtocol || null} : null;
    };
    out.subs.push({feed: key, frames: frames, bytes: bytes, state: pc.iceConnectionState,
                   local: pair ? cand(pair.localCandidateId) : null,
                   remote: pair ? cand(pair.remoteCandidateId) : null});
  }
  return out;
}"""


def pin_name(name: str) -> None:
    """``name`` resolves to 127.0.0.1 in this process (the published ports)."""
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == name else host, *args, **kwargs)

    socket.getaddrinfo = fake  # type: ignore[assignment]


def session(ca: str) -> requests.Session:
    s = requests.Session()
    s.verify = ca
    s.trust_env = False
    return s


def token(secret: str, expiry: int, plugin: str = PLUGIN) -> str:
    data = f"{expiry},janus,{plugin}"
    sig = hmac.new(secret.encode(), data.encode(), hashlib.sha1).digest()
    return f"{data}:{base64.b64encode(sig).decode()}"


def janus(s: requests.Session, url: str, body: dict[str, Any], tok: str | None) -> dict[str, Any]:
    body = {**body, "transaction": uuid.uuid4().hex}
    if tok is not None:
        body["token"] = tok
    answer: dict[str, Any] = s.post(url, json=body, timeout=TIMEOUT).json()
    return answer


def janus_refusals(a: argparse.Namespace, base: str) -> dict[str, Any]:
    """Token-less, forged, expired and wrong-plugin tokens; room creation without the key."""
    seen: dict[str, Any] = {}
    s = session(a.ca)
    url = f"{base}/janus"
    secret = Path(a.token_secret).read_text().strip()
    now = int(time.time())
    cases = {
        "no_token": None,
        "forged_token": token("pas-le-bon-secret", now + 600),
        "expired_token": token(secret, now - 60),
        "wrong_plugin_token": token(secret, now + 600, "janus.plugin.echotest"),
        "valid_token": token(secret, now + 600),
    }
    for name, tok in cases.items():
        answer = janus(s, url, {"janus": "create"}, tok)
        seen[name] = [answer.get("janus"), answer.get("error", {}).get("code")]
        if name == "wrong_plugin_token" and answer.get("janus") == "success":
            sid = answer["data"]["id"]
            att = janus(s, f"{url}/{sid}", {"janus": "attach", "plugin": PLUGIN}, tok)
            seen["wrong_plugin_attach"] = [att.get("janus"), att.get("error", {}).get("code")]
    good = cases["valid_token"]
    sid = janus(s, url, {"janus": "create"}, good)["data"]["id"]
    hid = janus(s, f"{url}/{sid}", {"janus": "attach", "plugin": PLUGIN}, good)["data"]["id"]
    room = f"anonyme-{uuid.uuid4().hex[:6]}"
    for name, extra in (("create_without_key", {}), ("create_wrong_key", {"admin_key": "x"})):
        body = {"request": "create", "room": room, **extra}
        answer = janus(s, f"{url}/{sid}/{hid}", {"janus": "message", "body": body}, good)
        data = answer.get("plugindata", {}).get("data", {})
        seen[name] = [data.get("videoroom"), data.get("error_code")]
    exists = janus(
        s,
        f"{url}/{sid}/{hid}",
        {"janus": "message", "body": {"request": "exists", "room": room}},
        good,
    )
    seen["anonymous_room_exists"] = exists.get("plugindata", {}).get("data", {}).get("exists")
    listed = janus(s, f"{url}/{sid}/{hid}", {"janus": "message", "body": {"request": "list"}}, good)
    seen["rooms_listed"] = [r.get("room") for r in listed["plugindata"]["data"].get("list", [])]
    janus(s, f"{url}/{sid}", {"janus": "destroy"}, good)
    info = s.get(f"{url}/info", timeout=TIMEOUT).json()
    seen["plugins"] = sorted(info.get("plugins", {}))
    seen["transports"] = sorted(info.get("transports", {}))
    seen["events"] = sorted(info.get("events", {}))
    seen["admin_api"] = s.post(f"{base}/admin", json={}, timeout=TIMEOUT).status_code
    return seen


def app_refusals(a: argparse.Namespace, base: str, pw: dict[str, str]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    s = session(a.ca)
    seen["join_without_login"] = s.post(
        f"{base}/api/join", json={"room": "budget"}, timeout=TIMEOUT
    ).status_code
    for name, user, password in (
        ("wrong_password", a.user_a, "pas-le-bon"),
        ("revoked", a.revoked, a.revoked_password),
    ):
        r = s.post(
            f"{base}/login",
            data={"username": user, "password": password},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        seen[name] = [r.status_code, "Set-Cookie" in r.headers]
    r = s.post(
        f"{base}/login",
        data={"username": a.user_a, "password": pw[a.user_a]},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    seen["login"] = r.status_code
    grant = s.post(f"{base}/api/join", json={"room": "verification"}, timeout=TIMEOUT)
    seen["grant"] = grant.status_code
    # A let in but without consent: refused (A14)
    rec = s.post(
        f"{base}/api/recording", json={"room": "verification", "record": True}, timeout=TIMEOUT
    )
    seen["recording"] = [rec.status_code, rec.json().get("code")]
    plain = requests.get(f"http://127.0.0.1:{a.http_port}/", allow_redirects=False, timeout=TIMEOUT)
    seen["http_redirect"] = [plain.status_code, plain.headers.get("Location", "")]
    seen["hsts"] = s.get(f"{base}/", timeout=TIMEOUT).headers.get("Strict-Transport-Security", "")
    seen["turn"] = turn_probe(a, grant.json()["iceServers"][0])
    return seen


# --- TURN over TLS (RFC 5766), just enough to allocate and ask for a permission ---------

MAGIC = 0x2112A442


def stun(kind: int, attrs: list[tuple[int, bytes]], key: bytes | None = None) -> bytes:
    tid = os.urandom(12)
    body = b"".join(
        struct.pack("!HH", t, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4) for t, v in attrs
    )
    if key is not None:  # MESSAGE-INTEGRITY over the message with its own length counted
        head = struct.pack("!HHI", kind, len(body) + 24, MAGIC) + tid
        mac = hmac.new(key, head + body, hashlib.sha1).digest()
        body += struct.pack("!HH", 0x0008, 20) + mac
    return struct.pack("!HHI", kind, len(body), MAGIC) + tid + body


def read_stun(tls: ssl.SSLSocket) -> tuple[int, dict[int, bytes]]:
    head = b""
    while len(head) < 20:
        chunk = tls.recv(20 - len(head))
        if not chunk:
            raise ConnectionError("TURN server closed the connection")
        head += chunk
    kind, length = struct.unpack("!HH", head[:4])
    body = b""
    while len(body) < min(length, 4096):
        chunk = tls.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    attrs: dict[int, bytes] = {}
    i = 0
    while i + 4 <= len(body):
        t, n = struct.unpack("!HH", body[i : i + 4])
        attrs[t] = body[i + 4 : i + 4 + n]
        i += 4 + n + (4 - n % 4) % 4
    return kind, attrs


def error_code(attrs: dict[int, bytes]) -> int | None:
    v = attrs.get(0x0009)
    return v[2] * 100 + v[3] if v and len(v) >= 4 else None


def allocate(a: argparse.Namespace, user: str | None, password: str | None) -> dict[str, Any]:
    context = ssl.create_default_context(cafile=a.ca)
    transport = [(0x0019, bytes([17, 0, 0, 0]))]  # REQUESTED-TRANSPORT: UDP
    with (
        socket.create_connection(("127.0.0.1", a.turn_port), timeout=TIMEOUT) as raw,
        context.wrap_socket(raw, server_hostname=a.host) as tls,
    ):
        tls.sendall(stun(0x0003, transport))
        kind, attrs = read_stun(tls)
        out: dict[str, Any] = {"anonymous": [hex(kind), error_code(attrs)]}
        if user is None or password is None:
            return out
        realm, nonce = attrs.get(0x0014, b""), attrs.get(0x0015, b"")
        key = hashlib.md5(f"{user}:{realm.decode()}:{password}".encode()).digest()  # noqa: S324
        creds = [(0x0006, user.encode()), (0x0014, realm), (0x0015, nonce)]
        tls.sendall(stun(0x0003, transport + creds, key))
        kind, attrs = read_stun(tls)
        out["authenticated"] = [hex(kind), error_code(attrs)]
        if kind == 0x0103:  # allocated: ask to reach a private peer (10.0.0.1) and a loopback one
            for name, addr in (("private_peer", "10.0.0.1"), ("allowed_peer", "127.0.0.1")):
                ip = struct.unpack("!I", socket.inet_aton(addr))[0] ^ MAGIC
                peer = struct.pack("!BBHI", 0, 1, 3478 ^ (MAGIC >> 16), ip)
                tls.sendall(stun(0x0008, [(0x0012, peer), *creds], key))
                kind, attrs = read_stun(tls)
                out[name] = [hex(kind), error_code(attrs)]
    return out


def turn_probe(a: argparse.Namespace, ice: dict[str, Any]) -> dict[str, Any]:
    """No credentials, forged ones, then the application's (VC-04)."""
    return {
        "none": allocate(a, None, None),
        "forged": allocate(a, f"{int(time.time()) + 600}:{a.user_a}", "bWF1dmFpcw=="),
        "expired": allocate(
            a,
            f"{int(time.time()) - 60}:{a.user_a}",
            base64.b64encode(
                hmac.new(
                    Path(a.turn_secret).read_text().strip().encode(),
                    f"{int(time.time()) - 60}:{a.user_a}".encode(),
                    hashlib.sha1,
                ).digest()
            ).decode(),
        ),
        "granted": allocate(a, ice["username"], ice["credential"]),
    }


# --- two browsers ---------------------------------------------------------------------


def spki_hash(host: str, port: int, ca: str) -> str:
    context = ssl.create_default_context(cafile=ca)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True) or b""
    key = x509.load_der_x509_certificate(der).public_key()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def recordings(probe: list[str]) -> dict[str, int]:
    """The recording folder's .mjr files on the host: name -> size (``size name`` lines)."""
    out = subprocess.run(probe, capture_output=True, text=True, timeout=TIMEOUT, check=True)
    found = {}
    for line in out.stdout.splitlines():
        size, _, name = line.partition(" ")
        found[name] = int(size)
    return found


def recording(page_a: Any, page_b: Any, probe: list[str], shots: str) -> dict[str, Any]:
    """A consents and asks to record: refused while B has not consented (A14); B asks too:
    refused, in Arabic; B consents; A starts it; both pages show it; the files on the host
    grow; A stops it; both pages show that; the files grow no more."""
    seen: dict[str, Any] = {"folder_before": recordings(probe)}
    refused = "() => window.visio.recError !== null"
    page_a.click("#consent")
    page_a.wait_for_function("() => window.visio.consented")
    page_a.click("#record-start")
    page_a.wait_for_function(refused)
    seen["refused_a"] = [page_a.evaluate("window.visio.recError"), page_a.inner_text("#rec-error")]
    page_b.click("#record-start")
    page_b.wait_for_function(refused)
    seen["refused_b"] = [page_b.evaluate("window.visio.recError"), page_b.inner_text("#rec-error")]
    page_b.click("#consent")
    page_b.wait_for_function("() => window.visio.consented")
    started = time.monotonic()
    page_a.click("#record-start")
    page_a.wait_for_function("() => window.visio.recording")
    shown = "() => !document.getElementById('rec-indicator').hidden"
    page_b.wait_for_function(shown, timeout=10_000)  # B's page polls every 2 s
    seen["indicator"] = [page_a.inner_text("#rec-indicator"), page_b.inner_text("#rec-indicator")]
    seen["shown_after_seconds"] = round(time.monotonic() - started, 1)
    time.sleep(2)
    first = recordings(probe)
    time.sleep(3)
    second = recordings(probe)
    seen["while_recording"] = [first, second]
    for who, page in (("a", page_a), ("b", page_b)):
        page.screenshot(path=f"{shots}/recording-{who}.png", full_page=True)
    page_a.click("#record-stop")
    page_a.wait_for_function("() => !window.visio.recording")
    page_b.wait_for_function(
        "() => document.getElementById('rec-indicator').hidden", timeout=10_000
    )
    time.sleep(1)
    stopped = recordings(probe)
    time.sleep(2)
    seen["after_stop"] = [stopped, recordings(probe)]
    seen["page_recording_after_stop"] = [
        page_a.evaluate("window.visio.recording"),
        page_b.evaluate("window.visio.recording"),
    ]
    return seen


def log_in(page: Any, url: str, who: str, password: str, seen: dict[str, Any]) -> None:
    """Log in on the page; a login Chromium once cancelled (nginx logs 499) is tried again,
    and the retry is kept in the observations."""
    for attempt in range(2):
        page.fill("input[name=username]", who)
        page.fill("input[name=password]", password)
        page.click("#login button")
        try:
            page.wait_for_selector("#join", timeout=15_000)
            return
        except PlaywrightTimeout:
            seen.setdefault("login_retries", []).append(who)
            if attempt:
                raise
            page.goto(url)


def meeting(a: argparse.Namespace, pw: dict[str, str], mode: str) -> dict[str, Any]:
    """A publishes, B subscribes (and publishes): B must decode A's video."""
    pin = spki_hash(a.host, a.port, a.ca)
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--host-resolver-rules=MAP {a.host} 127.0.0.1",
        f"--ignore-certificate-errors-spki-list={pin}",
    ]
    if mode == "relay":
        # Chromium's TURN-over-TLS client ignores the SPKI pin above; the TURN certificate
        # is checked against the CA and name by allocate() instead.
        args.append("--ignore-certificate-errors")
    room = f"reunion-{mode}-{uuid.uuid4().hex[:6]}"
    seen: dict[str, Any] = {"room": room, "page_errors": []}
    query = "?ice=relay" if mode == "relay" else ""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            pages = {}
            for who, locale in ((a.user_a, "fr-FR"), (a.user_b, "ar-MA")):
                context = browser.new_context(locale=locale, permissions=["camera", "microphone"])
                page = context.new_page()
                page.set_default_timeout(30_000)
                page.on("pageerror", lambda e, who=who: seen["page_errors"].append(f"{who}: {e}"))
                page.goto(f"https://{a.host}:{a.port}/{query}")
                seen[f"login_dir_{who}"] = page.get_attribute("html", "dir")
                log_in(page, f"https://{a.host}:{a.port}/", who, pw[who], seen)
                if query:  # the login's redirect lands on "/": ask for the relay again
                    page.goto(f"https://{a.host}:{a.port}/{query}")
                page.fill("input[name=room]", room)
                page.fill("input[name=pin]", "2468")
                page.click("#join button")
                page.wait_for_function("() => window.visio && window.visio.joined", timeout=30_000)
                pages[who] = page
            page_b = pages[a.user_b]
            # up to 90 s for B's first decoded frame: on 2 cores that another lane keeps busy,
            # the relayed ICE over TLS and two software encoders can take most of a minute
            deadline = time.monotonic() + FRAMES_WAIT
            stats: dict[str, Any] = {}
            while time.monotonic() < deadline:
                stats = page_b.evaluate(STATS)
                subs = stats.get("subs", [])
                if subs and subs[0]["frames"] > 0 and subs[0]["local"]:
                    break
                time.sleep(1)
            seen["b"] = stats
            seen["a"] = pages[a.user_a].evaluate(STATS)
            if mode == "direct" and a.recordings_probe:
                probe = json.loads(a.recordings_probe)
                seen["recording"] = recording(pages[a.user_a], page_b, probe, a.screenshots)
            for who, page in pages.items():
                page.screenshot(path=f"{a.screenshots}/{mode}-{who}.png", full_page=True)
                page.goto("about:blank")  # pagehide: the application logs the leave
        finally:
            browser.close()
    return seen


def main() -> None:
    ap = argparse.ArgumentParser()
    for name in (
        "host",
        "ca",
        "passwords",
        "user-a",
        "user-b",
        "revoked",
        "revoked-password",
        "token-secret",
        "turn-secret",
        "screenshots",
        "recordings-probe",
    ):
        ap.add_argument(f"--{name}", default="")
    ap.add_argument("--modes", default="direct,relay")
    for name in ("port", "http-port", "turn-port"):
        ap.add_argument(f"--{name}", type=int, default=0)
    a = ap.parse_args()
    pin_name(a.host)
    pw = json.loads(Path(a.passwords).read_text())
    base = f"https://{a.host}:{a.port}"
    seen: dict[str, Any] = {"janus": janus_refusals(a, base), "app": app_refusals(a, base, pw)}
    for mode in a.modes.split(","):
        seen[mode] = meeting(a, pw, mode)
    print(json.dumps(seen, ensure_ascii=False))


if __name__ == "__main__":
    main()
