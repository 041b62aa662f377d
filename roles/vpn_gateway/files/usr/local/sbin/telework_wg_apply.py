#!/usr/bin/python3
# Installed by Ansible (role vpn_gateway) as /usr/local/sbin/telework-wg-apply: do not edit.
"""telework-wg-apply [--dry-run] INTERFACE: bring the running interface's peers to what
/etc/wireguard/INTERFACE.conf says, touching only the peers that differ.

`wg syncconf` hands the whole peer list to the device: with 5,000 peers and wireguard-go
that takes about 1.5 s for a one-peer change (bench/vpn.py). This reads the live peers
(`wg show INTERFACE dump`), compares them with the configuration file and sends one
`wg set` with the removed peers and the added or changed ones only (0.08 s). If the
interface's own key or port differ, it falls back to `wg syncconf`.
Prints one JSON line: {"changed": bool, "added": [...], "removed": [...], "updated": [...],
"interface_changed": bool}. Exit codes: 0 done, 1 a command failed, 2 usage.

telework-wg-apply --read-state [--state-file FILE] [--table NAME] INTERFACE changes nothing:
it prints in one JSON line what the role reads on the gateway before it writes the peers
(one round trip instead of five: with 5,000 peers each costs as much as the work):
{"allocation": base64 of FILE ("" when there is none), "private_key": the interface's key
file, "public_key": its public key, "interface_up": bool, "table_loaded": bool (the nft
table NAME of family inet is loaded)}.

telework-wg-apply --check FILE INTERFACE changes nothing: it exits 0 when FILE is a
configuration wg-quick and wg accept for INTERFACE, else 1 with each problem (line and key)
on stderr. Ansible's `validate` runs it before a configuration is installed: it reads the
file the way wg-quick and wg do (sections, Key = Value, wg-quick's own keys) and is
stricter than `wg-quick strip` (an unknown key, a key that is not 32 bytes of base64, an
address list that does not parse or a peer given twice are refused), in 0.1 s where
`wg-quick strip`'s shell loop takes 2.5 s on 5,000 peers.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 120
CONFIG_DIR = "/etc/wireguard"
# Preshared keys are written to a 0700 directory made here (tmpfs), never put on a command line.
RUN_DIR = "/run"
NONE = "(none)"

# Keys of wg-quick only: `wg` itself ignores them (what `wg-quick strip` removes).
WG_QUICK_ONLY = frozenset(
    {"address", "dns", "mtu", "table", "preup", "postup", "predown", "postdown", "saveconfig"}
)

#: The keys each section may hold, besides wg-quick's own ([Interface]).
INTERFACE_KEYS = frozenset({"privatekey", "listenport", "fwmark"}) | WG_QUICK_ONLY
PEER_KEYS = frozenset(
    {"publickey", "presharedkey", "allowedips", "endpoint", "persistentkeepalive"}
)
KEYS_OF_32_BYTES = frozenset({"privatekey", "publickey", "presharedkey"})
#: A configuration larger than this is refused unread (5,000 peers take about 1.2 MB).
MAX_CONFIG_BYTES = 64 * 1024 * 1024

log = logging.getLogger("telework-wg-apply")


@dataclass(frozen=True)
class Peer:
    """A peer as `wg show dump` shows it: "(none)" for no key or endpoint, "off" keepalive."""

    psk: str
    allowed: frozenset[str]
    keepalive: str
    endpoint: str

    def differs_from(self, other: Peer) -> bool:
        """What `wg set` would change (the endpoint is the client's to roam, not compared)."""
        return (self.psk, self.allowed, self.keepalive) != (
            other.psk,
            other.allowed,
            other.keepalive,
        )


@dataclass(frozen=True)
class Plan:
    added: list[str]
    removed: list[str]
    updated: list[str]
    interface_changed: bool

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.added or self.updated or self.interface_changed)

    def to_json(self) -> str:
        """The line the role reads (`changed`); key order kept for anyone reading it."""
        return json.dumps(
            {
                "changed": self.changed,
                "added": self.added,
                "removed": self.removed,
                "updated": self.updated,
                "interface_changed": self.interface_changed,
            }
        )


def parse_config(text: str) -> tuple[dict[str, str], dict[str, Peer]]:
    """Interface settings and peers of a configuration file, as wg reads them. Parsed here
    rather than through `wg-quick strip`, a shell loop that takes a second on 5,000 peers."""
    settings: dict[str, str] = {}
    sections: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.lower() == "[interface]":
            current = settings
            continue
        if line.lower() == "[peer]":
            current = {}
            sections.append(current)
            continue
        key, _, value = line.partition("=")
        key = key.strip().lower()
        if current is not None and key not in WG_QUICK_ONLY:
            current[key] = value.strip()
    peers: dict[str, Peer] = {}
    for section in sections:
        if "publickey" not in section:
            raise ValueError("a [Peer] section has no PublicKey")
        keepalive = section.get("persistentkeepalive", "0")
        peers[section["publickey"]] = Peer(
            psk=section.get("presharedkey", NONE),
            allowed=frozenset(
                a.strip() for a in section.get("allowedips", "").split(",") if a.strip()
            ),
            keepalive="off" if keepalive in ("0", "off") else keepalive,
            endpoint=section.get("endpoint", NONE),
        )
    return settings, peers


def _is_key(value: str) -> bool:
    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except ValueError:
        return False


def _value_problem(key: str, value: str) -> str | None:
    """Why VALUE is not a valid value of KEY (None when it is)."""
    if key in KEYS_OF_32_BYTES and not _is_key(value):
        return "not 32 bytes of base64"
    if key == "allowedips":
        for item in (a.strip() for a in value.split(",")):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                return f"{item!r} is not an address or network"
    if key == "listenport" and not (value.isdigit() and 0 < int(value) < 65536):
        return "not a port number"
    if key == "persistentkeepalive" and value != "off" and not value.isdigit():
        return "not a number of seconds or off"
    return None


def _line_problem(section: str, seen: set[str], peer_keys: dict[str, int], line: str) -> str | None:
    """Why one ``Key = Value`` line of SECTION is refused (None when it is not)."""
    key, equals, value = (part.strip() for part in line.partition("="))
    name = key.lower()
    allowed = INTERFACE_KEYS if section == "interface" else PEER_KEYS
    refusals = (
        (not section, f"{key!r} before any [Interface] or [Peer]"),
        (not equals or not value, f"{key!r} is not Key = Value"),
        (name not in allowed, f"{key!r} is not a key of [{section.title()}]"),
        (name in seen and name != "allowedips", f"{key} given twice in one section"),
    )
    for refused, why in refusals:
        if refused:
            return why
    if (problem := _value_problem(name, value)) is not None:
        return f"{key}: {problem}"
    if name == "publickey" and value in peer_keys:
        return f"peer {value} is already on line {peer_keys[value]}"
    return None


def check_config(text: str) -> list[str]:
    """Every problem that makes TEXT a configuration wg-quick or wg would refuse, each as
    "line N: ..."; an empty list when there is none."""
    problems: list[str] = []
    section = ""
    seen: set[str] = set()
    interfaces, private_key = 0, False
    peer_keys: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line.lower() in ("[interface]", "[peer]"):
            if section == "peer" and "publickey" not in seen:
                problems.append(f"line {number}: the [Peer] before has no PublicKey")
            section, seen = line.lower()[1:-1], set()
            interfaces += section == "interface"
        elif line:
            name, _, value = (part.strip() for part in line.partition("="))
            problem = _line_problem(section, seen, peer_keys, line)
            if problem is not None:
                problems.append(f"line {number}: {problem}")
            elif name.lower() == "publickey":
                peer_keys[value] = number
            private_key |= problem is None and name.lower() == "privatekey"
            seen.add(name.lower())
    if section == "peer" and "publickey" not in seen:
        problems.append("the last [Peer] has no PublicKey")
    if interfaces != 1:
        problems.append(f"{interfaces} [Interface] sections (one is needed)")
    elif not private_key:
        problems.append("no PrivateKey in [Interface]")
    return problems


def check_file(path: Path) -> list[str]:
    """:func:`check_config` of the file at PATH (at most MAX_CONFIG_BYTES of UTF-8)."""
    if path.stat().st_size > MAX_CONFIG_BYTES:
        return [f"larger than {MAX_CONFIG_BYTES} bytes"]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return ["not UTF-8 text"]
    return check_config(text)


def parse_dump(text: str) -> tuple[dict[str, str], dict[str, Peer]]:
    """Interface settings and peers of the running device (`wg show INTERFACE dump`)."""
    lines = text.splitlines()
    private_key, _public_key, port, _fwmark = lines[0].split("\t")
    peers: dict[str, Peer] = {}
    for line in lines[1:]:
        key, psk, endpoint, allowed, _handshake, _rx, _tx, keepalive = line.split("\t")
        peers[key] = Peer(
            psk=psk,
            allowed=frozenset(a for a in allowed.split(",") if a and a != NONE),
            keepalive=keepalive,
            endpoint=endpoint,
        )
    return {"privatekey": private_key, "listenport": port}, peers


def plan(
    want_settings: dict[str, str],
    want: dict[str, Peer],
    have_settings: dict[str, str],
    have: dict[str, Peer],
) -> Plan:
    """The peers to remove, add and update; whether the interface's own key or port differ."""
    port = have_settings["listenport"]
    return Plan(
        added=sorted(set(want) - set(have)),
        removed=sorted(set(have) - set(want)),
        updated=sorted(key for key in set(want) & set(have) if want[key].differs_from(have[key])),
        interface_changed=(
            want_settings.get("privatekey") != have_settings["privatekey"]
            or want_settings.get("listenport", port) != port
        ),
    )


def wg_set_argv(interface: str, todo: Plan, want: dict[str, Peer], folder: Path) -> list[str]:
    """One `wg set` for the whole change; each preshared key goes into a 0600 file of
    FOLDER (a 0700 directory) and the argv names the file."""
    argv = ["wg", "set", interface]
    for key in todo.removed:
        argv += ["peer", key, "remove"]
    for number, key in enumerate(todo.added + todo.updated):
        peer = want[key]
        psk_file = "/dev/null"
        if peer.psk != NONE:
            psk_file = str(folder / f"psk{number}")
            descriptor = os.open(psk_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as stream:
                stream.write(peer.psk + "\n")
        argv += ["peer", key, "preshared-key", psk_file]
        argv += ["allowed-ips", ",".join(sorted(peer.allowed))]
        argv += ["persistent-keepalive", "0" if peer.keepalive == "off" else peer.keepalive]
        if peer.endpoint != NONE:
            argv += ["endpoint", peer.endpoint]
    return argv


def run(argv: list[str], stdin: str | None = None) -> str:
    """Run a command (argv list, time limit), return its output; raise if it fails."""
    done = subprocess.run(
        argv, check=True, capture_output=True, text=True, timeout=TIMEOUT, input=stdin
    )
    return done.stdout


def apply(interface: str, *, dry_run: bool, config_dir: Path, run_dir: Path) -> Plan:
    text = (config_dir / f"{interface}.conf").read_text(encoding="utf-8")
    want_settings, want = parse_config(text)
    have_settings, have = parse_dump(run(["wg", "show", interface, "dump"]))
    todo = plan(want_settings, want, have_settings, have)
    if dry_run or not todo.changed:
        return todo
    if todo.interface_changed:
        stripped = run(["wg-quick", "strip", interface])
        run(["wg", "syncconf", interface, "/dev/stdin"], stdin=stripped)
        return todo
    with tempfile.TemporaryDirectory(prefix="telework-wg-", dir=run_dir) as folder:
        Path(folder).chmod(0o700)
        run(wg_set_argv(interface, todo, want, Path(folder)))
    return todo


def read_state(
    interface: str, *, config_dir: Path, state_file: Path | None, table: str | None
) -> dict[str, object]:
    """What the role reads before writing the peers (nothing is changed)."""
    allocation = b""
    if state_file is not None and state_file.exists():
        allocation = state_file.read_bytes()
    private_key = (config_dir / f"{interface}.key").read_text(encoding="ascii").strip()
    public_key = run(["wg", "pubkey"], stdin=private_key + "\n").strip()
    live = subprocess.run(
        ["wg", "show", interface, "listen-port"], capture_output=True, timeout=TIMEOUT, check=False
    )
    loaded = table is not None and (
        subprocess.run(
            ["nft", "list", "table", "inet", table],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        ).returncode
        == 0
    )
    return {
        "allocation": base64.b64encode(allocation).decode("ascii"),
        "private_key": private_key,
        "public_key": public_key,
        "interface_up": live.returncode == 0,
        "table_loaded": loaded,
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="telework-wg-apply", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--config-dir", type=Path, default=Path(CONFIG_DIR))
    parser.add_argument("--run-dir", type=Path, default=Path(RUN_DIR))
    parser.add_argument("--read-state", action="store_true", help="print the state, change nothing")
    parser.add_argument("--state-file", type=Path, help="with --read-state: the allocation file")
    parser.add_argument("--table", help="with --read-state: the nft table (inet) to look for")
    parser.add_argument(
        "--check", type=Path, metavar="FILE", help="check FILE as INTERFACE's configuration"
    )
    parser.add_argument("interface")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        if args.check is not None:
            problems = check_file(args.check)
            for problem in problems[:20]:
                log.error("%s: %s", args.check, problem)
            if len(problems) > 20:
                log.error("%s: %d more problems", args.check, len(problems) - 20)
            return 1 if problems else 0
        if args.read_state:
            state = read_state(
                args.interface,
                config_dir=args.config_dir,
                state_file=args.state_file,
                table=args.table,
            )
            sys.stdout.write(json.dumps(state, sort_keys=True) + "\n")
            return 0
        todo = apply(
            args.interface, dry_run=args.dry_run, config_dir=args.config_dir, run_dir=args.run_dir
        )
    except subprocess.CalledProcessError as error:
        log.error("%s: %s", " ".join(error.cmd[:3]), (error.stderr or "").strip())
        return 1
    except subprocess.TimeoutExpired as error:
        log.error("%s: no answer within %s s", " ".join(error.cmd[:3]), error.timeout)
        return 1
    except (OSError, ValueError) as error:
        log.error("%s: %s", args.interface, error)
        return 1
    sys.stdout.write(todo.to_json() + "\n")
    return 0


if __name__ == "__main__":
    logging.basicConfig(format="telework-wg-apply: %(message)s", level=logging.INFO)
    sys.exit(main(sys.argv[1:]))
