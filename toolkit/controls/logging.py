"""Logging (journalisation): LOG-04 (docs/controls.md)."""

from __future__ import annotations

import re

from toolkit.audit.context import Context
from toolkit.audit.model import Outcome, Params, as_list
from toolkit.audit.registry import control

_RSYSLOG_FILES = (
    "for f in /etc/rsyslog.conf /etc/rsyslog.d/*.conf; do "
    '[ -f "$f" ] && sed -e "s|^|$f: |" "$f"; done; true'
)
_ACTION = re.compile(r"action\s*\(", re.I)
_OMFWD_TYPE = re.compile(r'type\s*=\s*"omfwd"', re.I)
_LEGACY_FWD = re.compile(r"^\S+\s+@@?\(?[\w\[\]:.-]+", re.M)
_TLS = re.compile(
    r'(StreamDriver\s*=\s*"(gtls|ossl)"|\$DefaultNetstreamDriver\s+(gtls|ossl)|'
    r"\$ActionSendStreamDriverMode\s+1|StreamDriverMode\s*=\s*\"1\")",
    re.I,
)


def _has_omfwd(text: str) -> bool:
    """Whether an ``action(...)`` has ``type="omfwd"``. Each action is read once up to its
    ``)``: a regex with ``[^)]*`` would take quadratic time on a hostile configuration."""
    pos = 0
    while (start := _ACTION.search(text, pos)) is not None:
        end = text.find(")", start.end())
        if end < 0:
            return False
        if _OMFWD_TYPE.search(text, start.end(), end):
            return True
        pos = end + 1
    return False


def _strip(text: str) -> str:
    """rsyslog configuration without comments (keeping the ``FILE: `` prefixes)."""
    lines = []
    for line in text.splitlines():
        where, _, body = line.partition(": ")
        body = body.split("#", 1)[0].rstrip()
        if body.strip():
            lines.append(f"{where}: {body}")
    return "\n".join(lines)


def world_readable_files_command(root: str) -> str:
    """Files under ``root`` that everyone can read: readable by others, and reached through
    directories others may enter (a 0644 file in a 0750 directory, as Debian lays out
    /var/log/sogo, is not readable by everyone, so the directory is not descended)."""
    return f"find {root} -xdev -type d ! -perm -o+x -prune -o -type f -perm -o+r -print"


@control("LOG-04")
def logs_off_host(ctx: Context, p: Params) -> Outcome:
    """rsyslog runs and forwards to a remote collector (over TLS when required); no file
    under /var/log is readable by everyone."""
    problems: list[str] = []
    warnings: list[str] = []
    if p["require_forwarding"]:
        state = ctx.run("systemctl is-active rsyslog.service").stdout.strip()
        config = _strip(ctx.output(_RSYSLOG_FILES, grep=r"omfwd|@|StreamDriver|Netstream"))
        bodies = "\n".join(line.partition(": ")[2] for line in config.splitlines())
        forwards = _has_omfwd(bodies) or bool(_LEGACY_FWD.search(bodies))
        if state != "active":
            problems.append(f"rsyslog is {state or 'missing'}")
        if not forwards:
            problems.append("no forwarding to a log collector (omfwd or @@host)")
        elif not _TLS.search(bodies):
            (problems if p["require_tls"] else warnings).append("logs are forwarded without TLS")
    allowed = {str(x) for x in as_list(p["world_readable_allowed"])}
    found = ctx.output(world_readable_files_command("/var/log"), sudo=True).splitlines()
    readable = [f for f in found if f and f not in allowed]
    if readable:
        shown = ", ".join(readable[:8]) + (f" (+{len(readable) - 8})" if len(readable) > 8 else "")
        problems.append(f"world-readable logs: {shown}")
    return Outcome.of(
        problems, "logs forwarded off the host, files not world-readable", warnings=warnings
    )
