"""Readings of what a Linux host answers, for the LNX controls: ``sshd -T``, ``ss``,
``nft -j``, PAM stacks and their conf files, ``apt-get -s``, ``auditctl -l``, sudoers,
os-release.

A host's answer is not trusted: any text (any JSON for ``nft -j``) gives a value or a
ControlError (the control is then an ``error``, never a pass), never another exception.
Numbers are ASCII digits only (``"²".isdigit()`` is true and ``int("²")`` fails; the tools
that read these files read ASCII). Nothing here makes text printable: the results model
does that for every report (toolkit.audit.results)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from toolkit import osrelease
from toolkit.audit.model import ControlError

_INT = re.compile(r"[+-]?[0-9]{1,18}")


def ascii_int(text: str) -> int | None:
    """``text`` (spaces around allowed) as an integer, or None when it is not one."""
    stripped = text.strip()
    return int(stripped) if _INT.fullmatch(stripped) else None


# --- sshd -T ---------------------------------------------------------------------------


def sshd_settings(text: str) -> dict[str, list[str]]:
    """``sshd -T``: every effective setting (lowercase key -> values, in order)."""
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            settings.setdefault(key.lower(), []).append(value)
    return settings


# --- ss -Hlntup --------------------------------------------------------------------------


@dataclass(frozen=True)
class Listener:
    proto: str
    address: str
    port: int
    process: str


_PROCESS = re.compile(r'users:\(\("([^"]+)"')


def listeners(text: str) -> list[Listener]:
    """Every listening socket of ``ss -Hlntup``; a line without ``ADDRESS:PORT`` in its
    fifth column is skipped."""
    found = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 5:
            continue
        address, _, port = words[4].rpartition(":")
        number = int(port) if re.fullmatch(r"[0-9]{1,5}", port) else None
        if number is None or number > 65535:
            continue
        process = _PROCESS.search(line)
        found.append(
            Listener(words[0], address.strip("[]"), number, process.group(1) if process else "?")
        )
    return found


# --- nft -j list ruleset ---------------------------------------------------------------------


@dataclass(frozen=True)
class InputChain:
    """A base chain of the input hook."""

    family: str
    table: str
    name: str
    prio: str
    policy: str  # "accept" when the ruleset does not say


def input_chains(text: str) -> list[InputChain]:
    """The input base chains of ``nft -j list ruleset``; ControlError when the answer is
    not the JSON nft prints (no ``nftables`` list, a chain that is not an object, an
    input chain without family, table, name or policy as text)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, too many digits, depth
        raise ControlError(f"nft -j printed no JSON: {exc}") from exc
    items = data.get("nftables") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ControlError("nft -j printed no nftables list")
    chains = []
    for item in items:
        if not isinstance(item, dict) or "chain" not in item:
            continue
        chain = item["chain"]
        if not isinstance(chain, dict):
            raise ControlError(f"nft -j: a chain that is not an object: {str(chain)[:100]}")
        if chain.get("hook") != "input":
            continue
        names = (chain.get("family"), chain.get("table"), chain.get("name"))
        policy = chain.get("policy", "accept")
        if not all(isinstance(v, str) for v in names) or not isinstance(policy, str):
            raise ControlError(f"nft -j: an input chain without its names: {str(chain)[:200]}")
        family, table, name = (str(v) for v in names)
        chains.append(InputChain(family, table, name, str(chain.get("prio")), policy))
    return chains


# --- PAM and its conf files ------------------------------------------------------------------


def conf_values(text: str) -> dict[str, str]:
    """``key = value`` lines (``#`` comments); a key alone is ``"true"``."""
    values = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        values[key.strip()] = value.strip() if sep else "true"
    return values


def pam_args(stack: str, module: str) -> tuple[bool, dict[str, str]]:
    """Whether ``module`` is in a PAM stack and the key=value arguments it is given."""
    present, args = False, {}
    for raw in stack.splitlines():
        words = raw.split("#", 1)[0].split()
        for i, word in enumerate(words):
            if word.endswith(f"{module}.so"):
                present = True
                for arg in words[i + 1 :]:
                    key, _, value = arg.partition("=")
                    args[key] = value or "true"
    return present, args


def conf_int(values: dict[str, str], key: str, default: int) -> int:
    """``values[key]`` as an integer (``default`` when absent); ControlError when the
    host set it to something that is not one."""
    if key not in values:
        return default
    number = ascii_int(values[key])
    if number is None:
        raise ControlError(f"{key}={values[key][:50]} is not a number")
    return number


# --- apt -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    """A package an upgrade would install (``apt-get -s``)."""

    package: str
    current: str
    candidate: str
    security: bool


_INST = re.compile(r"^Inst (\S+) (?:\[(\S+)\] )?\((\S+) (.*?) \[")


def pending_upgrades(simulation: str) -> list[Pending]:
    """Every package an ``apt-get -s`` run would install or upgrade, and whether it comes
    from a security suite."""
    found = []
    for line in simulation.splitlines():
        m = _INST.match(line)
        if m:
            security = "security" in m.group(4).lower()
            found.append(Pending(m.group(1), m.group(2) or "-", m.group(3), security))
    return found


def pending_security(simulation: str) -> list[str]:
    """Packages an ``apt-get -s`` run would upgrade from a security suite."""
    upgrades = pending_upgrades(simulation)
    return [f"{u.package} {u.current} -> {u.candidate}" for u in upgrades if u.security]


def ages(text: str) -> list[int]:
    """``SECONDS PATH`` lines (the age of each file); ControlError on any other line."""
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        number = ascii_int(line.split(maxsplit=1)[0])
        if number is None:
            raise ControlError(f"unexpected line where file ages were printed: {line[:100]}")
        found.append(number)
    return found


# --- auditd, sudoers, os-release ---------------------------------------------------------------


def audit_paths(rules: str) -> set[str]:
    """The paths ``auditctl -l`` rules watch (``-w PATH``, ``-F path=``/``dir=``)."""
    paths = set()
    for line in rules.splitlines():
        m = re.search(r"-w (\S+)", line)
        if m:
            paths.add(m.group(1).rstrip("/"))
        for m in re.finditer(r"-F (?:path|dir)=(\S+)", line):
            paths.add(m.group(1).rstrip("/"))
    return paths


def sudoers_nopasswd_all(text: str) -> list[tuple[str, str]]:
    """(who, line) for each rule granting every command without a password."""
    found = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#include") else ""
        if re.search(r"NOPASSWD:\s*ALL\s*$", line):
            found.append((line.split()[0], line))
    return found


def os_release(text: str) -> dict[str, str]:
    """/etc/os-release as a dict (quotes removed): toolkit.osrelease, shared with the drills."""
    return osrelease.parse(text)
