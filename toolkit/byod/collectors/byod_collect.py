#!/usr/bin/env python3
"""Telework: facts of a personal computer for the security unit (Linux, macOS).

Gathers what the security unit checks before a personal computer may join the telework
VPN (OS, updates, antivirus, browsers, hacking tools, work documents, Wi-Fi, screen lock,
administrator account) into a report sealed with the one-time token it gave you. Run
``python3 byod_collect.py`` beside enrolment.json; it asks for the token, changes
nothing and sends nothing. Only what the checks need is reported (names of hacking tools
and paths of work documents found, not your files or your software list). Python 3.9+.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import gzip
import hashlib
import hmac
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Callable

FACTS_FORMAT = "telework-byod-facts/1"
REPORT_FORMAT = "telework-byod-report/1"
ENROLMENT_FORMAT = "telework-byod-enrolment/1"
COLLECTOR = "byod_collect.py 1"
TIMEOUT = 60.0
MAX_OUTPUT = 4 << 20
ADMIN_GROUPS = {"sudo", "wheel", "admin"}
OFFICE_XML = re.compile(r"^(word/document|xl/sharedStrings|ppt/slides/slide\d+|content)\.xml$")
TAG = re.compile(r"<[^>]{0,2000}>")
VERSION = re.compile(r"(\d+(?:\.\d+)+)")

Runner = Callable[[list[str]], tuple[int, str]]
Facts = dict[str, Any]


def run_command(argv: list[str]) -> tuple[int, str]:
    """stdout and stderr of a program (C locale, bounded time and size); 127 when absent."""
    if shutil.which(argv[0]) is None:
        return 127, ""
    env = dict(os.environ, LC_ALL="C", LANG="C")
    try:
        done = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, check=False, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 126, str(exc)
    out = done.stdout[:MAX_OUTPUT] + done.stderr[:MAX_OUTPUT]
    return done.returncode, out.decode("utf-8", "replace")


class Collector:
    """Gathers the facts; every outside call goes through ``run``, ``home`` and
    ``path_dirs``, so each parser is tested on recorded outputs."""

    def __init__(
        self,
        search: dict[str, Any],
        *,
        system: str,
        run: Runner = run_command,
        home: Path | None = None,
        path_dirs: list[str] | None = None,
        root: Path = Path("/"),
    ) -> None:
        self.search, self.system, self.run = search, system, run
        self.home = home or Path.home()
        self.path_dirs = path_dirs if path_dirs is not None else program_folders()
        self.root = root
        self.problems: list[dict[str, str]] = []

    def out(self, *argv: str) -> str | None:
        rc, text = self.run(list(argv))
        return text if rc == 0 else None

    def gather(self, name: str, func: Callable[[], Any]) -> Any:
        try:
            return func()
        except (OSError, ValueError, KeyError, IndexError) as exc:
            self.problems.append({"fact": name, "message": f"{type(exc).__name__}: {exc}"[:500]})
            return None

    def facts(self) -> Facts:
        mac = self.system == "Darwin"
        found: Facts = {
            "os": self.gather("os", self.os_macos if mac else self.os_linux),
            "last_update": self.gather(
                "last_update", self.update_macos if mac else self.update_linux
            ),
            "antivirus": self.gather("antivirus", self.av_macos if mac else self.av_linux),
            "browsers": self.gather("browsers", self.browsers),
            "tools": self.gather("tools", self.tools),
            "work_data": self.gather("work_data", self.work_data),
            "wifi": self.gather("wifi", self.wifi_macos if mac else self.wifi_linux),
            "session": self.gather("session", self.session),
        }
        found["problems"] = self.problems
        return found

    def os_linux(self) -> Facts:
        text = (self.root / "etc/os-release").read_text(encoding="utf-8", errors="replace")
        info: dict[str, str] = dict(re.findall(r'^([A-Z_]+)="?([^"\n]*)"?$', text, re.M))
        return os_facts("linux", info["ID"], info.get("NAME", ""), info.get("VERSION_ID", ""))

    def os_macos(self) -> Facts:
        info = dict(re.findall(r"^(\w+):\s*(.+?)\s*$", self.out("sw_vers") or "", re.M))
        return os_facts(
            "macos",
            "macos",
            info["ProductName"],
            info["ProductVersion"],
            info.get("BuildVersion", ""),
        )

    def update_linux(self) -> str | None:
        days = []
        for path in sorted((self.root / "var/log").glob("dpkg.log*")):
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rb") as f:
                text = f.read(MAX_OUTPUT).decode("utf-8", "replace")
            days += re.findall(r"^(\d{4}-\d\d-\d\d) [\d:]+ upgrade ", text, re.M)
        if days or (self.root / "var/lib/dpkg").is_dir():
            return max(days) if days else None
        rpm = self.out("rpm", "-qa", "--last")
        if rpm is None:
            raise ValueError("neither dpkg's log nor rpm's database could be read")
        stamps = [parse_day(m) for m in re.findall(r"\s{2,}(\w{3} \d\d? \w{3} \d{4})", rpm)]
        return max(stamps) if stamps else None

    def history_macos(self) -> list[tuple[str, str]]:
        """(name, YYYY-MM-DD) of every install ``softwareupdate --history`` lists."""
        text = self.out("softwareupdate", "--history")
        if text is None:
            raise ValueError("softwareupdate --history failed")
        rows = re.findall(r"^(\S.*?)\s{2,}.*?(\d\d)/(\d\d)/(\d{4}),", text, re.M)
        return [(name, f"{y}-{m}-{d}") for name, m, d, y in rows]

    def update_macos(self) -> str | None:
        os_rows = re.compile(r"macOS|Security|Background Security", re.I)
        days = [day for name, day in self.history_macos() if os_rows.search(name)]
        return max(days) if days else None

    # --- antivirus (BYOD-03) ------------------------------------------------------
    def av_linux(self) -> list[Facts]:
        text = self.out("clamscan", "--version") or self.out("clamdscan", "--version")
        if text is None:
            return []
        stamp = re.search(r"/\d+/\w{3} (\w{3}) +(\d+) [\d:]+ (\d{4})", text)
        day = (
            parse_day(f"Mon {stamp.group(2)} {stamp.group(1)} {stamp.group(3)}") if stamp else None
        )
        active = any(
            (self.out("systemctl", "is-active", unit) or "").strip() == "active"
            for unit in ("clamav-daemon", "clamd@scan", "clamav-freshclam")
        )
        return [antivirus(f"ClamAV {text.split('/')[0].split()[-1]}", active, day)]

    def av_macos(self) -> list[Facts]:
        days = [day for name, day in self.history_macos() if name.startswith("XProtect")]
        status = self.out("spctl", "--status") or ""
        return [antivirus("XProtect", "assessments enabled" in status, max(days, default=None))]

    # --- browsers (BYOD-04) ------------------------------------------------------
    def browsers(self) -> list[Facts]:
        found: dict[str, str] = {}
        if self.system == "Darwin":
            apps = {
                "safari": "Safari",
                "chrome": "Google Chrome",
                "firefox": "Firefox",
                "edge": "Microsoft Edge",
                "brave": "Brave Browser",
                "opera": "Opera",
                "chromium": "Chromium",
            }
            for name, app in apps.items():
                plist = f"/Applications/{app}.app/Contents/Info.plist"
                match = VERSION.search(
                    self.out("defaults", "read", plist, "CFBundleShortVersionString") or ""
                )
                if match:
                    found[name] = match.group(1)
        else:
            programs = [
                ("firefox", "firefox"),
                ("chrome", "google-chrome"),
                ("chromium", "chromium"),
                ("chromium", "chromium-browser"),
                ("edge", "microsoft-edge"),
                ("brave", "brave-browser"),
                ("opera", "opera"),
            ]
            for name, program in programs:
                text = self.out(program, "--version") if name not in found else None
                match = VERSION.search(text or "")
                if match:
                    found[name] = match.group(1)
        return [{"name": n, "version": v} for n, v in sorted(found.items())]

    # --- hacking tools (BYOD-05) -------------------------------------------------
    def tools(self) -> Facts:
        names = [str(n) for n in self.search["tools"]]
        found = []
        for name in names:
            for folder in self.path_dirs:
                candidate = Path(folder) / name
                if folder and candidate.is_file() and os.access(candidate, os.X_OK):
                    found.append({"name": name, "path": str(candidate)})
                    break
        # exits 1 when a name is not a package: its lines for the others still count
        _, listed = self.run(["dpkg-query", "-W", "-f=${Package} ${Status}\\n", *names])
        for line in listed.splitlines():
            if line.endswith(" install ok installed"):
                found.append({"name": line.split()[0], "path": "dpkg"})
        for app in Path("/Applications").glob("*.app") if self.system == "Darwin" else []:
            if app.stem.lower() in names:
                found.append({"name": app.stem.lower(), "path": str(app)})
        return {"searched": names, "found": found}

    # --- work data (BYOD-06) -----------------------------------------------------
    def work_data(self) -> Facts:
        spec = self.search
        markers = [str(m) for m in spec["markers"]]
        folded = [m.casefold() for m in markers]
        found, scanned, complete = [], 0, True
        for place in spec["places"]:
            top = self.home if place == "." else self.home / place
            depth = 0 if place == "." else int(spec["max_depth"])
            for path in walk(top, depth):
                if path.suffix.lower() not in spec["extensions"]:
                    continue
                if scanned >= int(spec["max_files"]):
                    complete = False
                    break
                scanned += 1
                text = read_document(path, int(spec["max_bytes"])).casefold()
                hit = next((m for m, f in zip(markers, folded) if f in text), None)
                if hit is not None:
                    found.append({"path": str(path.relative_to(self.home)), "marker": hit})
        return {
            "markers": markers,
            "places": [str(p) for p in spec["places"]],
            "scanned": scanned,
            "complete": complete,
            "found": found,
        }

    # --- Wi-Fi (BYOD-07) and session (BYOD-08) -----------------------------------
    def wifi_linux(self) -> Facts:
        text = self.out("nmcli", "-t", "-f", "ACTIVE,SSID,SECURITY", "device", "wifi")
        if text is None and not list((self.root / "sys/class/net").glob("*/wireless")):
            return {"connected": False, "security": "", "cipher": ""}  # no Wi-Fi interface
        if text is None:
            raise ValueError("nmcli could not list Wi-Fi networks")
        for line in text.splitlines():
            fields = re.split(r"(?<!\\):", line)
            if fields[0] == "yes":
                return {"connected": True, "security": fields[-1] or "open", "cipher": ""}
        return {"connected": False, "security": "", "cipher": ""}

    def wifi_macos(self) -> Facts:
        text = self.out("system_profiler", "SPAirPortDataType") or ""
        current = text.split("Current Network Information:", 1)
        if len(current) < 2:
            return {"connected": False, "security": "", "cipher": ""}
        security = re.search(r"^\s*Security:\s*(.+?)\s*$", current[1], re.M)
        return {"connected": True, "security": security.group(1) if security else "", "cipher": ""}

    def session(self) -> Facts:
        groups = set((self.out("id", "-Gn") or "").split())
        root = (self.out("id", "-u") or "").strip() == "0"
        admin = root or bool(groups & ADMIN_GROUPS) if groups else None
        lock, after = self.lock_macos() if self.system == "Darwin" else self.lock_linux()
        return {
            "user": getpass.getuser(),
            "admin": admin,
            "lock_enabled": lock,
            "lock_after_s": after,
        }

    def lock_linux(self) -> tuple[bool | None, int | None]:
        def gsetting(schema: str, key: str) -> str | None:
            text = self.out("gsettings", "get", schema, key)
            return text.split()[-1] if text and text.split() else None

        enabled = gsetting("org.gnome.desktop.screensaver", "lock-enabled")
        idle = gsetting("org.gnome.desktop.session", "idle-delay")
        if enabled is None or idle is None:  # not GNOME: unknown
            return None, None
        delay = gsetting("org.gnome.desktop.screensaver", "lock-delay") or "0"
        if enabled != "true" or int(idle) == 0:
            return False, None
        return True, int(idle) + int(delay)

    def lock_macos(self) -> tuple[bool | None, int | None]:
        status = self.out("sysadminctl", "-screenLock", "status") or ""
        if "screenLock is off" in status:
            return False, None
        delay = re.search(r"screenLock delay is (immediate|\d+)", status)
        if delay is None:
            return None, None
        idle_text = self.out(
            "defaults", "-currentHost", "read", "com.apple.screensaver", "idleTime"
        )
        idle = int(idle_text.strip()) if idle_text and idle_text.strip().isdigit() else 1200
        after = 0 if delay.group(1) == "immediate" else int(delay.group(1))
        return (True, idle + after) if idle else (False, None)


def os_facts(family: str, os_id: str, name: str, version: str, build: str = "") -> Facts:
    return {
        "family": family,
        "id": os_id,
        "name": name,
        "version": version,
        "build": build,
        "genuine": None,
    }


def antivirus(name: str, running: bool, signatures: str | None) -> Facts:
    return {"name": name, "running": running, "signatures": signatures}


def program_folders() -> list[str]:
    extra = "/usr/local/bin:/usr/sbin:/opt/homebrew/bin:/snap/bin"
    return [*os.environ.get("PATH", "").split(os.pathsep), *extra.split(":")]


def parse_day(text: str) -> str:
    """``Thu 20 Nov 2026`` (rpm, ClamAV) as ``2026-11-20``."""
    return dt.datetime.strptime(" ".join(text.split()[1:4]), "%d %b %Y").date().isoformat()


def walk(top: Path, depth: int) -> list[Path]:
    """Regular files under ``top`` down to ``depth`` folders, hidden folders and symbolic
    links left out, in name order."""
    files: list[Path] = []
    try:
        entries = sorted(os.scandir(top), key=lambda e: e.name)
    except OSError:
        return files
    for entry in entries:
        if entry.is_symlink():
            continue
        if entry.is_file():
            files.append(Path(entry.path))
        elif entry.is_dir() and depth > 0 and not entry.name.startswith("."):
            files += walk(Path(entry.path), depth - 1)
    return files


def read_document(path: Path, limit: int) -> str:
    """The text of a document, at most ``limit`` bytes read: office files (zip of XML)
    by their text parts, others as they are."""
    try:
        if zipfile.is_zipfile(path):
            parts, size = [], 0
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if OFFICE_XML.match(info.filename) and size < limit:
                        with zf.open(info) as member:
                            data = member.read(limit - size)
                        size += len(data)
                        parts.append(TAG.sub(" ", data.decode("utf-8", "replace")))
            return " ".join(parts)
        with path.open("rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile, RuntimeError):
        return ""


def sealed_report(enrolment: dict[str, Any], token: str, facts: Facts, now: dt.datetime) -> str:
    """The report file's text: the facts as JSON text, sealed with HMAC-SHA256 keyed by
    the SHA-256 of the token."""
    body = json.dumps(
        {
            "format": FACTS_FORMAT,
            "teleworker": enrolment["teleworker"],
            "device": enrolment["device"],
            "token_id": enrolment["token_id"],
            "collected_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "collector": COLLECTOR,
            **facts,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    key = hashlib.sha256(token.encode("utf-8")).digest()
    message = f"{REPORT_FORMAT}\n{enrolment['token_id']}\n".encode() + body.encode("utf-8")
    mac = hmac.new(key, message, hashlib.sha256).hexdigest()
    envelope = {"format": REPORT_FORMAT, "token_id": enrolment["token_id"], "body": body}
    return json.dumps({**envelope, "hmac_sha256": mac}, indent=1) + "\n"


def say(text: str, *, error: bool = False) -> None:
    stream = sys.stderr if error else sys.stdout
    stream.write(text + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--enrolment", type=Path, default=Path(__file__).resolve().with_name("enrolment.json")
    )
    parser.add_argument("--output", type=Path, help="default: byod-report-DEVICE.json")
    parser.add_argument("--token", help="default: $TELEWORK_BYOD_TOKEN, else asked")
    args = parser.parse_args(argv)
    try:
        enrolment = json.loads(args.enrolment.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        say(f"cannot read {args.enrolment}: {exc}", error=True)
        return 2
    if enrolment.get("format") != ENROLMENT_FORMAT:
        say(f"{args.enrolment}: not an enrolment of the security unit", error=True)
        return 2
    token = args.token or os.environ.get("TELEWORK_BYOD_TOKEN") or getpass.getpass("Token: ")
    if token.strip().split(".")[0] != enrolment["token_id"]:
        say("this token is not the one of this enrolment: ask the security unit", error=True)
        return 2
    system = platform.system()
    if system not in ("Linux", "Darwin"):
        say(f"{system}: use byod_collect.ps1 on Windows", error=True)
        return 2
    facts = Collector(enrolment["search"], system=system).facts()
    output = args.output or Path(f"byod-report-{enrolment['device']}.json")
    now = dt.datetime.now(dt.timezone.utc)
    output.write_text(sealed_report(enrolment, token.strip(), facts, now), encoding="utf-8")
    say(f"report written to {output}: hand it to the security unit")
    for problem in facts["problems"]:
        say(f"not gathered: {problem['fact']}: {problem['message']}", error=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
