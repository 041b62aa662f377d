#!/usr/bin/python3
"""What a teleworker does on the VPN gateway's portal, as a browser and an authenticator
application would do it: the pages' forms are read and sent back (CSRF token included), the
TOTP code is computed from the secret the enrolment page shows (RFC 6238), cookies are kept
in a file between steps. Prints one JSON object: the HTTP status, the page's message (its
``role="alert"`` paragraph) and what the step found (secret, recovery codes, session end).

    portal_client.py URL enrol  --user ID --password-file F --state S
    portal_client.py URL login  --user ID --password-file F --state S [--code C | --wrong-code]
    portal_client.py URL start|end|home --state S

The state file keeps the cookies, the TOTP secret and the last code used: a second login
waits for the next code unless --code repeats one (the replay test)."""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.cookiejar
import json
import re
import ssl
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

STEP = 30
CAP = 256 * 1024


class Page(HTMLParser):
    """The parts of a portal page the steps need."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, str] = {}
        self.forms: list[str] = []
        self.alert = ""
        self.secret = ""
        self.codes: list[str] = []
        self.times: list[str] = []
        self._in: list[str] = []
        self._codes = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("name"):
            self.inputs.setdefault(a["name"], a.get("value", ""))
        if tag == "form":
            self.forms.append(a.get("action", ""))
        if tag == "time" and a.get("datetime"):
            self.times.append(a["datetime"])
        cls = a.get("class", "").split()
        if tag == "p" and a.get("role") == "alert":
            self._in.append("alert")
        elif tag == "code" and "secret" in cls:
            self._in.append("secret")
        elif tag == "ol" and "codes" in cls:
            self._codes = True
            self._in.append("")
        elif tag in ("p", "code", "ol"):
            self._in.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "ol":
            self._codes = False
        if tag in ("p", "code", "ol") and self._in:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if self._codes and data.strip():
            self.codes.append(data.strip())
        where = self._in[-1] if self._in else ""
        if where == "alert":
            self.alert += data
        elif where == "secret":
            self.secret += data.strip()


def totp(secret: str, at: float) -> tuple[str, int]:
    plain = secret.replace(" ", "").upper()
    key = base64.b32decode(plain + "=" * (-len(plain) % 8))
    step = int(at // STEP)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}", step


class Client:
    def __init__(self, url: str, state: Path) -> None:
        if not url.startswith("https://"):
            raise SystemExit(f"the portal is reached over HTTPS only, not {url!r}")
        self.url = url.rstrip("/")
        self.state_path = state
        self.state: dict[str, Any] = json.loads(state.read_text()) if state.exists() else {}
        self.jar = http.cookiejar.LWPCookieJar(str(state) + ".cookies")
        if Path(self.jar.filename or "").exists():
            self.jar.load(ignore_discard=True, ignore_expires=True)
        context = ssl.create_default_context(cafile="/usr/local/share/telework-portal-ca.crt")
        context.check_hostname = False  # reached by address: through the tunnel or not
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context),
            urllib.request.HTTPCookieProcessor(self.jar),
        )

    def save(self) -> None:
        self.state_path.write_text(json.dumps(self.state))
        self.jar.save(ignore_discard=True, ignore_expires=True)

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[int, Page]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.url + path, data=data)  # noqa: S310 (https only)
        req.add_header("Accept-Language", "fr")
        try:
            with self.opener.open(req, timeout=10) as resp:
                status, body = resp.status, resp.read(CAP)
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read(CAP)
        page = Page()
        page.feed(body.decode("utf-8", "replace"))
        return status, page

    def csrf(self) -> str:
        _, page = self.request("/")
        return page.inputs.get("csrf", "")

    def login(self, user: str, password: str, code: str) -> tuple[int, Page]:
        return self.request(
            "/login",
            {"csrf": self.csrf(), "username": user, "password": password, "code": code},
        )

    def fresh_code(self) -> str:
        """The current code, once the last one used has gone (a person waits for it)."""
        secret = self.state["secret"]
        code, step = totp(secret, time.time())
        if step <= self.state.get("last_step", -1):
            time.sleep(STEP - time.time() % STEP + 0.5)
            code, step = totp(secret, time.time())
        self.state["last_step"], self.state["last_code"] = step, code
        return code


def result(status: int, page: Page, **extra: Any) -> dict[str, Any]:
    return {"status": status, "alert": re.sub(r"\s+", " ", page.alert).strip(), **extra}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("action", choices=["enrol", "login", "start", "end", "home"])
    parser.add_argument("--user", default="")
    parser.add_argument("--password-file", default="")
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--code", default="")
    parser.add_argument("--wrong-code", action="store_true")
    args = parser.parse_args(argv)
    client = Client(args.url, args.state)
    password = Path(args.password_file).read_text().strip() if args.password_file else ""
    if args.action == "enrol":
        status, page = client.login(args.user, password, "")
        if not page.secret:
            print(json.dumps(result(status, page, enrolled=False)))
            return 0
        client.state["secret"] = page.secret
        # The code that has just gone (the portal accepts one step either side, as a person
        # typing it as it changes): the login that follows need not wait for a new one.
        code, step = totp(page.secret, time.time() - STEP)
        client.state["last_step"], client.state["last_code"] = step, code
        status, page = client.request("/enrol", {"csrf": page.inputs.get("csrf", ""), "code": code})
        out = result(status, page, enrolled=bool(page.codes), codes=len(page.codes))
        client.state["recovery"] = page.codes
    elif args.action == "login":
        if args.code:
            code = args.code
        elif args.wrong_code:
            right, _ = totp(client.state["secret"], time.time())
            code = f"{(int(right) + 500_000) % 1_000_000:06d}"
        elif "secret" in client.state:
            code = client.fresh_code()
        else:
            code = ""
        status, page = client.login(args.user, password, code)
        out = result(status, page, code=code, logged_in="/start" in page.forms)
    else:
        path = {"home": "/", "start": "/start", "end": "/end"}[args.action]
        form = None if args.action == "home" else {"csrf": client.csrf()}
        status, page = client.request(path, form)
        out = result(status, page, ends=page.times, forms=page.forms)
    client.save()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
