"""Readings of what a managed laptop answers, for the LAP controls: file listings, dconf
profiles, keyfiles and locks, ``modprobe --showconfig``, LibreOffice's .xcd registry
files, browser policies (JSON), APT sources, passwd and group, dpkg and ``apt-get -s``.

A host's answer is not trusted: any text gives a value or a ControlError (the control is
then an ``error``, never a pass), never another exception. XML is read by expat with no
DOCTYPE (so no entity of any kind) and a cap on its size and depth; JSON with a cap on
its size, its depth caught. Numbers are ASCII digits only. Nothing here makes text
printable: the results model does that for every report (toolkit.audit.results)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from xml.parsers import expat

from toolkit.audit.model import ControlError
from toolkit.controls.linux_parsers import ascii_int

#: Bytes of one file a control reads (XML, JSON, keyfiles); a bigger one is not judged.
MAX_FILE_BYTES = 256 * 1024
#: Characters no file name judged here may hold (line breaks of any kind, controls).
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

# --- find -printf '%T@ %s %p\n' ----------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """A file a listing named: its path, modification time (whole seconds) and size."""

    path: str
    mtime: int
    size: int


_LISTED = re.compile(r"([0-9]{1,12})(?:\.[0-9]{1,12})? ([0-9]{1,15}) (/.+)")


def listing(text: str, starts: tuple[str, ...]) -> list[Listed]:
    """``MTIME SIZE PATH`` lines of ``find -printf``, each PATH one of ``starts`` or a file
    directly in one; ControlError on any other line (a name with a line break included)."""
    found = []
    for line in text.split("\n"):
        if not line:
            continue
        m = _LISTED.fullmatch(line)
        path = m.group(3) if m else ""
        inside = any(path == s or path.rpartition("/")[0] == s for s in starts)
        if m is None or not inside or CONTROL_CHARS.search(path):
            raise ControlError(f"unexpected line where files were listed: {line[:120]!r}")
        found.append(Listed(path, int(m.group(1)), int(m.group(2))))
    return found


# --- dconf -----------------------------------------------------------------------------

_DB_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def dconf_system_dbs(text: str) -> list[str]:
    """The system databases a dconf profile names (``system-db:NAME``), in the profile's
    order (the first one the highest); a name that is not a plain file name is left out."""
    names = []
    for raw in text.splitlines():
        kind, _, name = raw.split("#", 1)[0].strip().partition(":")
        if kind == "system-db" and _DB_NAME.fullmatch(name) and name not in names:
            names.append(name)
    return names


def keyfile(text: str) -> dict[str, str]:
    """A dconf keyfile (GKeyFile: ``[path]`` groups of ``key=value``): full key path
    (``/org/gnome/desktop/session/idle-delay``) -> value as written (GVariant text).
    Lines that are neither are skipped, as are localised keys (``key[fr]``)."""
    values: dict[str, str] = {}
    group = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip().strip("/")
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if sep and group and key and "[" not in key and "/" not in key:
            values[f"/{group}/{key}"] = value.strip()
    return values


def locks(text: str) -> set[str]:
    """The key paths of a dconf locks file (one ``/path/key`` a line, ``#`` comments)."""
    return {ln.strip() for ln in text.splitlines() if ln.strip().startswith("/")}


_GV_INT = re.compile(r"(?:u?int(?:16|32|64)|byte)?\s*([0-9]{1,18})")


def gvariant_int(value: str) -> int | None:
    """``uint32 900`` or ``900`` as 900; None for anything else."""
    m = _GV_INT.fullmatch(value.strip())
    return int(m.group(1)) if m else None


def gvariant_bool(value: str) -> bool | None:
    """``true``/``false``; None for anything else."""
    return {"true": True, "false": False}.get(value.strip())


# --- modprobe --showconfig ---------------------------------------------------------------


@dataclass
class ModuleRules:
    """What the module configuration says of one module."""

    blacklisted: bool = False
    install: str | None = None  # the install command, when there is one


def module_rules(text: str) -> dict[str, ModuleRules]:
    """``blacklist`` and ``install`` lines by module name, ``-`` read as ``_`` (kmod treats
    ``usb-storage`` and ``usb_storage`` as one module)."""
    rules: dict[str, ModuleRules] = {}
    for raw in text.splitlines():
        words = raw.split(None, 2)
        if len(words) < 2 or words[0] not in ("blacklist", "install"):
            continue
        rule = rules.setdefault(words[1].replace("-", "_"), ModuleRules())
        if words[0] == "blacklist":
            rule.blacklisted = True
        else:
            rule.install = words[2].strip() if len(words) > 2 else ""
    return rules


def install_refuses(command: str | None) -> bool:
    """Whether an install command loads nothing: ``/bin/false`` or ``/bin/true`` (any
    directory), and nothing else."""
    words = (command or "").split()
    return len(words) == 1 and words[0].rpartition("/")[2] in ("false", "true")


# --- LibreOffice .xcd ------------------------------------------------------------------------

_OOR = "http://openoffice.org/2001/registry"
_MAX_DEPTH = 64
#: /org.openoffice.Office.Common/Security/Scripting, as the nodes of a component-data.
_SCRIPTING = ("component-data org.openoffice.Office Common", "node Security", "node Scripting")
MACRO_PROPS = ("MacroSecurityLevel", "DisableMacrosExecution")


@dataclass(frozen=True)
class OfficeSetting:
    """A value an .xcd file gives to a property of Office.Common/Security/Scripting."""

    name: str
    value: str
    finalized: bool


class _RefusedError(Exception):
    """What an .xcd holds that is not read (a DOCTYPE, entities, too deep)."""


def _macro_reader() -> tuple[Any, list[OfficeSetting]]:
    found: list[OfficeSetting] = []
    stack: list[tuple[str, bool]] = []  # (element as "kind name", finalized)
    prop: list[str] = []  # name of the macro property being read, then its value's text

    def start(tag: str, attrs: dict[str, str]) -> None:
        if len(stack) >= _MAX_DEPTH:
            raise _RefusedError(f"elements nested deeper than {_MAX_DEPTH}")
        name = attrs.get(f"{_OOR}|name", "")
        final = attrs.get(f"{_OOR}|finalized") == "true" or (stack[-1][1] if stack else False)
        if tag == f"{_OOR}|component-data":
            entry = f"component-data {attrs.get(f'{_OOR}|package', '')} {name}"
        else:
            entry = f"{tag} {name}"
        path = tuple(e for e, _ in stack if not e.startswith(f"{_OOR}|data"))
        if tag == "prop" and name in MACRO_PROPS and path == _SCRIPTING:
            prop[:] = [name, ""]
        stack.append((entry, final))

    def text(data: str) -> None:
        if prop and stack and stack[-1][0] == "value " and len(prop[1]) < 100:
            prop[1] += data

    def end(tag: str) -> None:
        _, final = stack.pop()
        if tag == "prop" and prop:
            found.append(OfficeSetting(prop[0], prop[1].strip(), final))
            prop.clear()

    def refuse(*_: object) -> None:
        raise _RefusedError("a DOCTYPE or an entity declaration")

    parser = expat.ParserCreate(namespace_separator="|")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    return parser, found


def office_settings(text: str) -> list[OfficeSetting]:
    """The MacroSecurityLevel and DisableMacrosExecution values an .xcd file sets in
    /org.openoffice.Office.Common/Security/Scripting (in the file's order), finalized when
    the property or a node above it is. ControlError when the file is not XML, is over
    MAX_FILE_BYTES, nests too deep or declares a DOCTYPE or entities."""
    data = text.encode("utf-8", errors="replace")
    if len(data) > MAX_FILE_BYTES:
        raise ControlError(f"over {MAX_FILE_BYTES} bytes: not read")
    parser, found = _macro_reader()
    try:
        parser.Parse(data, True)
    except _RefusedError as exc:
        raise ControlError(f"not read: {exc}") from exc
    except (expat.ExpatError, ValueError, RecursionError) as exc:
        raise ControlError(f"not XML LibreOffice reads: {exc}") from exc
    return found


# --- JSON policies ---------------------------------------------------------------------------


def json_object(text: str) -> dict[str, Any]:
    """A JSON document that must be an object (a browser's policy file); ControlError when
    it is over MAX_FILE_BYTES, not JSON or not an object."""
    if len(text) > MAX_FILE_BYTES:
        raise ControlError(f"over {MAX_FILE_BYTES} bytes: not read")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, too many digits, depth
        raise ControlError(f"not JSON: {str(exc)[:100]}") from exc
    if not isinstance(data, dict):
        raise ControlError(f"JSON {type(data).__name__}, not an object")
    return data


def firefox_extensions(policy: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(problems, extension IDs allowed) of a Firefox policies.json: ExtensionSettings
    must block every extension (``"*"``: installation_mode blocked) but those it lists."""
    policies = policy.get("policies")
    if not isinstance(policies, dict):
        return ['no "policies" object'], []
    settings = policies.get("ExtensionSettings")
    if not isinstance(settings, dict):
        return ["no ExtensionSettings object: every extension may be installed"], []
    default = settings.get("*")
    mode = default.get("installation_mode") if isinstance(default, dict) else None
    problems = []
    if mode != "blocked":
        shown = str(mode)[:40] if mode is not None else "not set"
        problems.append(f'ExtensionSettings "*" installation_mode is {shown}, not blocked')
    allowed = [
        str(k)[:80]
        for k, v in settings.items()
        if k != "*"
        and isinstance(v, dict)
        and v.get("installation_mode") in ("allowed", "normal_installed", "force_installed")
    ]
    return problems, allowed


def chromium_blocks_all(policy: dict[str, Any]) -> bool:
    """Whether a Chromium managed policy blocks every extension but its allow-list
    (ExtensionInstallBlocklist, or the older ExtensionInstallBlacklist, holds ``*``)."""
    for key in ("ExtensionInstallBlocklist", "ExtensionInstallBlacklist"):
        value = policy.get(key)
        if isinstance(value, list) and "*" in value:
            return True
    return False


# --- APT sources ---------------------------------------------------------------------------


def source_uris(text: str, deb822: bool) -> list[str]:
    """The repository URIs of an APT sources file: one-line ``deb [options] URI suite
    components`` entries, or deb822 stanzas' ``URIs:`` (a stanza with ``Enabled: no``
    left out)."""
    if not deb822:
        uris = []
        for raw in text.splitlines():
            words = raw.split("#", 1)[0].split()
            if not words or words[0] not in ("deb", "deb-src"):
                continue
            rest = words[1:]
            if rest and rest[0].startswith("["):
                while rest and not rest[0].endswith("]"):
                    rest = rest[1:]
                rest = rest[1:]
            if rest:
                uris.append(rest[0])
        return uris
    uris = []
    for stanza in re.split(r"\n[ \t]*\n", text):
        fields: dict[str, str] = {}
        last = ""
        for raw in stanza.splitlines():
            if raw.startswith("#"):
                continue
            if raw[:1] in (" ", "\t") and last:
                fields[last] += " " + raw.strip()
                continue
            key, sep, value = raw.partition(":")
            if sep and key.strip():
                last = key.strip().lower()
                fields[last] = value.strip()
        if fields.get("enabled", "yes").lower() != "no":
            uris += fields.get("uris", "").split()
    return uris


def uri_host(uri: str) -> str:
    """The host a repository URI downloads from (lowercase), "" for a local one (file:,
    cdrom:, copy:) or one that is not a URI."""
    try:
        return (urlsplit(uri).hostname or "").lower()
    except ValueError:
        return ""


# --- accounts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    shell: str


def passwd(text: str) -> list[Account]:
    """The accounts of ``getent passwd``; a line without seven fields or numeric IDs is
    skipped."""
    found = []
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) != 7:
            continue
        uid, gid = ascii_int(fields[2]), ascii_int(fields[3])
        if uid is not None and gid is not None and fields[0]:
            found.append(Account(fields[0], uid, gid, fields[6].strip()))
    return found


def groups(text: str) -> dict[str, tuple[int | None, set[str]]]:
    """``getent group``: group name -> (GID, member names)."""
    found: dict[str, tuple[int | None, set[str]]] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) == 4 and fields[0]:
            members = {m.strip() for m in fields[3].split(",") if m.strip()}
            found[fields[0]] = (ascii_int(fields[2]), members)
    return found


# --- dpkg and apt ----------------------------------------------------------------------------


def installed_packages(text: str) -> dict[str, str]:
    """``dpkg-query -W -f='${Package} ${db:Status-Abbrev} ${Version}\\n'``: package ->
    version of those on the disk (not "not installed", not "config-files" only)."""
    found = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and len(words[1]) >= 2 and words[1][1] not in "nc":
            found[words[0]] = words[2] if len(words) > 2 else ""
    return found
