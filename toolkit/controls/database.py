"""Databases: LOG-02 (docs/controls.md), PostgreSQL's connection and DDL logging.

Every PostgreSQL server running on the host is found by its postmaster: a ``postgres``
process whose working directory is its data directory, where ``postmaster.pid`` gives its
port (line 4) and socket directory (line 5). Its effective settings are read from
``pg_settings`` by ``psql`` run as the data directory's owner (``runuser``, as root through
the audit's sudo): what the server applies, whatever file or ``ALTER SYSTEM`` set it.
"""

from __future__ import annotations

import logging
import re
import shlex
from dataclasses import dataclass

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params, as_list
from toolkit.audit.registry import control
from toolkit.controls import linux_parsers as parsers

log = logging.getLogger(__name__)

#: Seconds psql may take to connect and answer.
PSQL_TIMEOUT = 10
SETTINGS = ("log_connections", "log_disconnections", "log_statement", "log_line_prefix")
#: A constant query: nothing from the host or the parameters goes into it.
QUERY = (
    "SELECT name, setting FROM pg_settings WHERE name IN "
    "('log_connections', 'log_disconnections', 'log_statement', 'log_line_prefix') ORDER BY name"
)
_POSTMASTERS = (
    "for pid in $(pgrep -x postgres); do "
    'd=$(readlink "/proc/$pid/cwd") || continue; f="$d/postmaster.pid"; '
    '[ -f "$f" ] && [ "$(sed -n 1p "$f")" = "$pid" ] || continue; '
    'printf \'cluster\\t%s\\t%s\\t%s\\t%s\\t%s\\n\' "$pid" "$(stat -c %U "$d")" '
    '"$(sed -n 4p "$f")" "$(sed -n 5p "$f")" "$d"; done; true'
)
_USER = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")


@dataclass(frozen=True)
class Cluster:
    pid: int
    owner: str
    port: int
    socket_dir: str
    data_dir: str

    @property
    def label(self) -> str:
        return f"port {self.port} ({self.data_dir})"


def parse_clusters(text: str) -> list[Cluster]:
    """The postmasters listed; ControlError on a line that is not one."""
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        pid = parsers.ascii_int(fields[1]) if len(fields) == 6 else None
        port = parsers.ascii_int(fields[3]) if len(fields) == 6 else None
        if fields[0] != "cluster" or pid is None or port is None or not _USER.fullmatch(fields[2]):
            raise ControlError(
                f"unexpected line where PostgreSQL servers were listed: {line[:100]}"
            )
        found.append(Cluster(pid, fields[2], port, fields[4], fields[5]))
    return found


def effective_settings(ctx: Context, cluster: Cluster) -> dict[str, str]:
    """SETTINGS as the server applies them (pg_settings)."""
    host = cluster.socket_dir or "127.0.0.1"
    command = (
        f"timeout {PSQL_TIMEOUT} runuser -u {shlex.quote(cluster.owner)} -- "
        f"psql -X -w -h {shlex.quote(host)} -p {cluster.port} -d postgres -AtF '|' "
        f"-c {shlex.quote(QUERY)}"
    )
    settings = {}
    for line in ctx.output(command, sudo=True).splitlines():
        name, sep, value = line.partition("|")
        if sep and name in SETTINGS:
            settings[name] = value
    missing = [n for n in SETTINGS if n not in settings]
    if missing:
        raise ControlError(f"{cluster.label}: pg_settings gave no {', '.join(missing)}")
    return settings


def _connections_logged(value: str) -> bool:
    """``on`` (PostgreSQL 17 and older), or a list naming authorization (18)."""
    words = {w.strip().lower() for w in value.split(",")}
    return bool(words & {"on", "true", "1", "all", "authorization"})


def judge(
    label: str, settings: dict[str, str], statements: list[str]
) -> tuple[list[str], list[str]]:
    """(problems, warnings) of one server's settings."""
    problems, warnings = [], []
    if not _connections_logged(settings["log_connections"]):
        problems.append(f"{label}: log_connections = {settings['log_connections']}")
    if settings["log_disconnections"].lower() not in ("on", "true", "1"):
        problems.append(f"{label}: log_disconnections = {settings['log_disconnections']}")
    if settings["log_statement"].lower() not in statements:
        problems.append(
            f"{label}: log_statement = {settings['log_statement']}, DDL not logged "
            f"(needs {' or '.join(statements)})"
        )
    prefix = settings["log_line_prefix"]
    lacking = [
        what
        for what, escapes in (("user", ("%u",)), ("database", ("%d",)), ("client", ("%h", "%r")))
        if not any(e in prefix for e in escapes)
    ]
    if lacking:
        warnings.append(f"{label}: log_line_prefix '{prefix}' lacks the {', '.join(lacking)}")
    return problems, warnings


@control("LOG-02")
def database_logging(ctx: Context, p: Params) -> Outcome:
    """Every running PostgreSQL logs connections, disconnections and DDL (M13); its log
    lines say who, on which database, from where."""
    clusters = parse_clusters(ctx.output(_POSTMASTERS, sudo=True))
    only = {str(d).rstrip("/") for d in as_list(p["data_directories"]) if d}
    if only:
        clusters = [c for c in clusters if c.data_dir.rstrip("/") in only]
    if not clusters:
        return Outcome.skipped("no PostgreSQL server runs on this host")
    statements = [str(s).lower() for s in as_list(p["log_statement"])]
    problems: list[str] = []
    warnings: list[str] = []
    for cluster in clusters:
        found, warned = judge(cluster.label, effective_settings(ctx, cluster), statements)
        problems += found
        warnings += warned
    return Outcome.of(
        problems,
        f"{len(clusters)} PostgreSQL servers log connections, disconnections and DDL",
        warnings=warnings,
    )
