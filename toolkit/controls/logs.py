"""The log collector: LOG-01 and LOG-03 (docs/controls.md), judged on the collector.

Role log_collector files each sender's messages under ``<dir>/<sender>/<YYYY-MM-DD>.log``
(``log_collector_dir``, default /var/log/remote; the folder is the name the sender's
client certificate proves, role baseline's ``baseline_log_client_name``: its inventory
name) and deletes files older than ``log_collector_retention_days`` with the daily
``telework-log-retention`` timer (``find <dir> -type f -name '*.log' -mtime +N -delete``).

One listing of that folder (as root: it is 0750 root:adm) serves both controls: the
collector's clock, the folder's birth time, the host folders and every day file's mtime.
LOG-01 learns which hosts must send from the audit's inventory (Context.inventory), not
from the collector: a host that never sent anything has no folder to be found by.
"""

from __future__ import annotations

import logging
import re
import shlex
from dataclasses import dataclass, field

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params, as_list
from toolkit.audit.registry import control
from toolkit.controls import linux_parsers as parsers

log = logging.getLogger(__name__)

DAY = 86400
HOUR = 3600


@dataclass
class Collected:
    """What the collector's folder holds, as its clock sees it."""

    now: int
    exists: bool = False
    born: int | None = None  # the folder's birth time, when the file system keeps it
    folders: set[str] = field(default_factory=set)
    newest: dict[str, int] = field(default_factory=dict)  # host -> newest file's mtime
    oldest: dict[str, int] = field(default_factory=dict)  # host -> oldest file's mtime
    files: int = 0


def _listing_command(folder: str) -> str:
    d = shlex.quote(folder)
    return (
        f'echo "now $(date +%s)"; [ -d {d} ] || {{ echo missing; exit 0; }}; '
        f'echo "born $(stat -c %W {d})"; '
        f"find {d} -mindepth 1 -maxdepth 1 -type d -printf 'dir %P\\n'; "
        f"find {d} -mindepth 2 -maxdepth 2 -type f -name '*.log' -printf 'file %T@ %P\\n'"
    )


def parse_listing(text: str) -> Collected:
    """The listing's lines; ControlError on any line it does not print."""
    lines = text.splitlines()
    now = parsers.ascii_int(lines[0].removeprefix("now ")) if lines else None
    if not lines or not lines[0].startswith("now ") or now is None:
        raise ControlError(f"the collector's clock was not read: {text[:100]!r}")
    seen = Collected(now=now, exists=True)
    for line in lines[1:]:
        kind, _, rest = line.partition(" ")
        if line == "missing":
            seen.exists = False
        elif kind == "born":
            born = parsers.ascii_int(rest)
            seen.born = born if born else None  # 0 or "-": the file system does not keep it
        elif kind == "dir" and rest:
            seen.folders.add(rest)
        elif kind == "file" and "/" in rest:
            stamp, _, path = rest.partition(" ")
            mtime = parsers.ascii_int(stamp.split(".", 1)[0])
            host = path.split("/", 1)[0]
            if mtime is None or not host:
                raise ControlError(f"unexpected line in the collector's listing: {line[:100]}")
            seen.files += 1
            seen.newest[host] = max(seen.newest.get(host, mtime), mtime)
            seen.oldest[host] = min(seen.oldest.get(host, mtime), mtime)
        elif line.strip():
            raise ControlError(f"unexpected line in the collector's listing: {line[:100]}")
    return seen


def collected(ctx: Context, folder: str) -> Collected:
    """The collector's folder (listed once per host, shared by LOG-01 and LOG-03)."""
    text = ctx.output(_listing_command(folder), sudo=True, record=False)
    seen = parse_listing(text)
    ctx.note(
        f"{ctx.sudo} find {folder} (host folders, day files and their mtime)",
        f"{len(seen.folders)} host folders, {seen.files} day files"
        if seen.exists
        else f"{folder} does not exist",
    )
    return seen


def _age(seconds: int) -> str:
    if seconds < 2 * DAY:
        return f"{max(seconds, 0) // HOUR} h"
    return f"{seconds // DAY} days"


@control("LOG-01")
def hosts_sent_logs(ctx: Context, p: Params) -> Outcome:
    """Every in-scope host of the inventory (``groups`` less ``exclude_groups``) has a day
    file on the collector written within the last ``hours`` (M13)."""
    if not ctx.inventory:
        raise ControlError("the inventory's hosts are unknown to this audit run")
    groups = {str(g) for g in as_list(p["groups"])}
    excluded = {str(g) for g in as_list(p["exclude_groups"])}
    scope = sorted(h for h, g in ctx.inventory.items() if g & groups and not g & excluded)
    if not scope:
        return Outcome.skipped(f"no host of the inventory is in {', '.join(sorted(groups))}")
    folder, hours = str(p["dir"]), int(p["hours"])
    seen = collected(ctx, folder)
    if not seen.exists:
        return Outcome.failed(f"no folder {folder}: no host's logs are collected here")
    silent, heard = [], []
    for host in scope:
        if host not in seen.folders:
            silent.append(f"{host}: no folder {folder}/{host} (never sent)")
        elif host not in seen.newest:
            silent.append(f"{host}: no day file in {folder}/{host}")
        elif seen.now - seen.newest[host] > hours * HOUR:
            silent.append(f"{host}: last written {_age(seen.now - seen.newest[host])} ago")
        else:
            heard.append(f"{host}: last written {_age(seen.now - seen.newest[host])} ago")
    ctx.note(f"newest day file per in-scope host (window {hours} h)", "\n".join(heard + silent))
    if silent:
        names = ", ".join(line.split(":", 1)[0] for line in silent)
        return Outcome.failed(
            f"{len(silent)} of {len(scope)} hosts sent nothing in the last {hours} h: {names}",
            *silent,
        )
    return Outcome.passed(f"all {len(scope)} in-scope hosts sent events in the last {hours} h")


# --- LOG-03 retention ---------------------------------------------------------------------

_FIND_AGE = re.compile(r"-(mtime|ctime|atime|mmin|cmin|amin)\s+([+-]?)([0-9]{1,9})\b")
_TMPFILES_AGE = re.compile(r"^([0-9]{1,9})(d|w|h|m|min|s|)$")
_ROTATE = re.compile(r"^\s*(rotate|maxage)\s+([0-9]{1,9})\s*$", re.M)
_FREQUENCY = {"daily": 1, "weekly": 7, "monthly": 30, "yearly": 365}


def _find_keeps(line: str) -> float | None:
    """Days a ``find ... -delete`` (or ``-exec rm``) line keeps a file; None when the
    line deletes no file (no delete, or only empty folders)."""
    if "-delete" not in line and not re.search(r"-exec\s+\S*rm\b", line):
        return None
    if re.search(r"-type\s+d\b", line) and "-empty" in line:
        return None
    ages = _FIND_AGE.findall(line)
    if not ages:
        return 0.0  # deletes whatever it finds
    kept = []
    for unit, sign, number in ages:
        value = int(number) / (1440 if unit.endswith("min") else 1)
        # -mtime +N matches whole days > N: a file is kept N + 1 days; -N or N: fewer
        kept.append(value + (1 if sign == "+" and not unit.endswith("min") else 0))
        if sign == "-":
            kept[-1] = 0.0  # deletes the young files
    return max(kept)


def _tmpfiles_keeps(line: str) -> float | None:
    fields = line.split()
    # TYPE PATH MODE USER GROUP AGE [ARGUMENT]
    if len(fields) < 6 or len(fields[0]) > 2 or fields[5] == "-":
        return None
    m = _TMPFILES_AGE.match(fields[5].lstrip("~"))
    if not m:
        return None
    per_day = {"d": 1, "w": 1 / 7, "h": 24, "m": 1440, "min": 1440, "s": 86400, "": 86400}
    return int(m.group(1)) / per_day[m.group(2)]


def _logrotate_keeps(text: str) -> float | None:
    found = {k: int(v) for k, v in _ROTATE.findall(text)}
    frequency = max(
        (d for w, d in _FREQUENCY.items() if re.search(rf"^\s*{w}\b", text, re.M)), default=1
    )
    kept = [float(found["maxage"])] if "maxage" in found else []
    if "rotate" in found:
        kept.append(float(found["rotate"] * frequency))
    return min(kept) if kept else None


def retention_settings(ctx: Context, folder: str, service: str) -> list[tuple[str, float]]:
    """(where, days kept) of every mechanism that deletes the collected files."""
    found: list[tuple[str, float]] = []
    unit = ctx.run(f"systemctl cat {shlex.quote(service)}", grep=r"ExecStart|^# /")
    for line in unit.stdout.splitlines() if unit.rc == 0 else []:
        if line.strip().startswith("ExecStart") and folder in line:
            days = _find_keeps(line)
            if days is not None:
                found.append((f"{service}: {line.strip()}", days))
    d = shlex.quote(folder)
    others = ctx.output(
        f"grep -rsH -- {d} /etc/tmpfiles.d /usr/lib/tmpfiles.d /run/tmpfiles.d "
        "/etc/crontab /etc/cron.d /etc/cron.daily /etc/cron.weekly /etc/logrotate.conf "
        "/etc/logrotate.d; true",
        sudo=True,
    )
    rotated = set()
    for line in others.splitlines():
        where, _, body = line.partition(":")
        if body.lstrip().startswith("#"):
            continue
        if "tmpfiles.d" in where:
            days = _tmpfiles_keeps(body)
        elif "logrotate" in where:
            rotated.add(where)
            continue
        else:
            days = _find_keeps(body)
        if days is not None:
            found.append((f"{where}: {body.strip()}", days))
    for where in sorted(rotated):
        days = _logrotate_keeps(ctx.output(f"cat {shlex.quote(where)}", sudo=True))
        if days is not None:
            found.append((f"{where} (logrotate)", days))
    return found


@control("LOG-03")
def retention(ctx: Context, p: Params) -> Outcome:
    """Collected logs are kept at least ``days`` (M13, A3): every deletion the collector
    runs keeps them that long, it is scheduled, and no file younger has gone."""
    days, folder = int(p["days"]), str(p["dir"])
    settings = retention_settings(ctx, folder, str(p["service"]))
    problems: list[str] = []
    warnings: list[str] = []
    for where, kept in settings:
        if kept < days:
            problems.append(f"{where} keeps files {kept:g} days (at least {days})")
    if not settings:
        warnings.append(f"nothing deletes old files in {folder}: personal data kept without limit")
    else:
        timer = str(p["timer"])
        state = ctx.run(f"systemctl is-enabled {shlex.quote(timer)}").stdout.strip()
        if any(str(p["service"]) in w for w, _ in settings) and state != "enabled":
            warnings.append(f"{timer} is {state or 'missing'}: the retention job never runs")
    seen = collected(ctx, folder)
    oldest = min(seen.oldest.values(), default=None)
    collecting = max(
        seen.now - seen.born if seen.born else 0, seen.now - oldest if oldest is not None else 0
    )
    ctx.note(
        f"oldest day file per host in {folder}",
        "\n".join(f"{h}: {_age(seen.now - t)}" for h, t in sorted(seen.oldest.items()))
        or "no day file",
    )
    if collecting >= days * DAY:
        if oldest is None or seen.now - oldest < days * DAY:
            problems.append(
                f"the collector has run {collecting // DAY} days but keeps no file older than "
                f"{_age(seen.now - oldest) if oldest is not None else '0 days'}: files younger "
                f"than {days} days were deleted"
            )
        young = [h for h, t in sorted(seen.oldest.items()) if seen.now - t < days * DAY]
        if young:
            warnings.append(
                f"oldest file younger than {days} days for {', '.join(young)} "
                "(hosts added since, or their older files deleted)"
            )
    shortest = min((k for _, k in settings), default=None)
    kept_text = f"kept {shortest:g} days" if shortest is not None else "never deleted"
    return Outcome.of(
        problems,
        f"collected logs {kept_text} (at least {days}); collecting for "
        f"{collecting // DAY} days, oldest file {_age(seen.now - oldest) if oldest else '-'}",
        warnings=warnings,
    )
