"""Backups: BCK-01 to BCK-05 (docs/controls.md, docs/backup.md).

On each server that is a backup client (every server but the backup servers, which hold
the repositories): BCK-01 reads /var/lib/telework-backup/status.json (every source's last
success within its RPO), BCK-03 the same file (the repository is on another host, one of
the inventory's backup servers, reached append-only), BCK-04 the drill evidence the
restore drill left there (/var/lib/telework-backup/last-drill.json: passed, data verified,
within 90 days). Both files are read capped and parsed by toolkit.backup.status.

On each backup server: BCK-02 reads the repositories' account's authorized_keys (every
client key forced to ``borg serve --append-only --restrict-to-repository`` its own
repository, with ``restrict``) and the first object of each repository's segments, whose
type byte says how borg protects it: the server proves every repository is encrypted
without any passphrase. BCK-05 is judged on the control node from the newest continuity
report ``toolkit report continuity`` wrote for the inventory.
"""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

from toolkit.audit.context import Context
from toolkit.audit.model import ControlError, Outcome, Params, as_list
from toolkit.audit.registry import control
from toolkit.backup import continuity
from toolkit.backup.status import (
    DRILL_FILE,
    MAX_BYTES,
    STATUS_FILE,
    BackupStatus,
    DrillEvidence,
    judge,
    parse_drill,
    parse_status,
)
from toolkit.controls import linux_parsers as parsers
from toolkit.errors import InvalidInputError, ToolkitError
from toolkit.paths import work_dir

_MISSING = 44
#: borg 1.x key types (first byte of every stored object): encrypted ones.
ENCRYPTED_TYPES = {
    0x00: "keyfile",
    0x01: "passphrase",
    0x03: "repokey",
    0x04: "keyfile-blake2",
    0x05: "repokey-blake2",
}
CLEAR_TYPES = {0x02: "none", 0x06: "authenticated-blake2", 0x07: "authenticated"}


def _excluded(ctx: Context, p: Params) -> str | None:
    groups = ctx.inventory.get(ctx.name, frozenset())
    hit = sorted(groups & {str(g) for g in as_list(p["exclude_groups"])})
    return (
        f"{ctx.name} is in {', '.join(hit)}: it holds the repositories, not a client"
        if hit
        else None
    )


def _read(ctx: Context, path: str) -> tuple[int, bytes | None]:
    """(host clock, the file's bytes or None when absent)."""
    q = shlex.quote(path)
    res = ctx.run(f"date +%s; test -e {q} || exit {_MISSING}; head -c {MAX_BYTES + 1} {q}")
    first, _, rest = res.stdout.partition("\n")
    now = parsers.ascii_int(first.strip())
    if now is None:
        raise ControlError(f"the host's clock was not read: {first[:80]!r}")
    if res.rc == _MISSING:
        return now, None
    if res.rc != 0:
        raise ControlError(f"`{res.command}` exited {res.rc}: {res.stderr.strip()[:200]}")
    return now, rest.encode("utf-8")


def client_status(ctx: Context) -> tuple[datetime, BackupStatus | None]:
    """The host's clock and its status.json (shared by BCK-01 and BCK-03)."""

    def compute() -> tuple[datetime, BackupStatus | None]:
        now, raw = _read(ctx, STATUS_FILE)
        try:
            status = parse_status(raw, ctx.name) if raw is not None else None
        except InvalidInputError as exc:
            raise ControlError(str(exc)) from None
        return datetime.fromtimestamp(now, UTC), status

    return ctx.memo("backup-status", compute)


@control("BCK-01")
def backups_within_rpo(ctx: Context, p: Params) -> Outcome:
    """Every backup source of the host (its databases and system) has a last successful
    backup younger than its RPO, and the last run did not fail (A9)."""
    if why := _excluded(ctx, p):
        return Outcome.skipped(why)
    now, status = client_status(ctx)
    rows = judge(status, ctx.name, now)
    bad = [f"{r.source}: {r.state} ({r.note})" for r in rows if r.state != "ok"]
    if status is None:
        return Outcome.failed(f"never backed up: no {STATUS_FILE}")
    shown = ", ".join(
        f"{r.source} {r.age_hours:.1f} h (RPO {r.rpo_hours:g} h)"
        for r in rows
        if r.age_hours is not None and r.rpo_hours
    )
    return Outcome.of(bad, f"last backup {status.archive}: {shown}")


@control("BCK-03")
def copy_off_host(ctx: Context, p: Params) -> Outcome:
    """The host's backups go to another host, one of the inventory's backup servers, over
    SSH, into a repository it can only append to (A9)."""
    if why := _excluded(ctx, p):
        return Outcome.skipped(why)
    _, status = client_status(ctx)
    if status is None:
        return Outcome.failed(f"never backed up: no {STATUS_FILE}")
    servers = sorted(h for h, g in ctx.inventory.items() if str(p["server_group"]) in g)
    problems = []
    m = re.match(r"^ssh://[^@/]+@\[?([^/\]:]+)", status.repository)
    if m is None:
        problems.append(f"repository {status.repository} is not reached over SSH")
    elif m[1] in (ctx.name, "localhost", "127.0.0.1", "::1"):
        problems.append(f"repository {status.repository} is on the host itself")
    if status.backup_server == ctx.name or status.backup_server not in servers:
        problems.append(
            f"backup server {status.backup_server or '-'} is not another host of "
            f"{p['server_group']} ({', '.join(servers) or 'none'})"
        )
    if p["require_append_only"] and not status.append_only:
        problems.append("the client's key is not restricted to append-only")
    return Outcome.of(problems, f"copied to {status.backup_server}, append-only")


@control("BCK-04")
def restore_drilled(ctx: Context, p: Params) -> Outcome:
    """The host's last restore drill passed within ``max_age_days``: its files verified
    against the manifest, its dumps loaded, an RTO measured (A5, A9)."""
    if why := _excluded(ctx, p):
        return Outcome.skipped(why)
    now, raw = ctx.memo("backup-drill", lambda: _read(ctx, DRILL_FILE))
    if raw is None:
        return Outcome.failed(
            f"no restore drill: no {DRILL_FILE} (toolkit backup drill {ctx.name})"
        )
    try:
        evidence: DrillEvidence = parse_drill(raw, f"{ctx.name}:{DRILL_FILE}")
    except InvalidInputError as exc:
        raise ControlError(str(exc)) from None
    age = datetime.fromtimestamp(now, UTC) - evidence.finished
    problems = []
    if evidence.host != ctx.name:
        problems.append(f"the evidence is of {evidence.host}, not {ctx.name}")
    if age > timedelta(days=int(p["max_age_days"])):
        problems.append(f"last drill {age.days} days ago (at most {p['max_age_days']})")
    if evidence.result != "passed":
        failed = [c.name for c in evidence.checks if not c.passed]
        problems.append(f"last drill failed: {', '.join(failed) or 'see its evidence'}")
    if evidence.files_verified == 0 or evidence.mismatches:
        problems.append(
            f"{evidence.files_verified} files verified, {len(evidence.mismatches)} differ"
        )
    rto = f"{evidence.rto_seconds:.0f} s" if evidence.rto_seconds is not None else "none"
    return Outcome.of(
        problems,
        f"drill of {evidence.archive} passed {age.days} days ago: "
        f"{evidence.files_verified} files verified, RTO {rto}",
    )


# --- BCK-02 on the backup server ----------------------------------------------------------

_OPTION_COMMAND = re.compile(r'(?:^|,)command="((?:[^"\\]|\\.)*)"')


def _options(line: str) -> str:
    """The options field of an authorized_keys line: up to the first space outside quotes."""
    quoted, escaped = False, False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch in " \t" and not quoted:
            return line[:i]
    return line


def key_problems(text: str, root: str) -> tuple[list[str], list[str]]:
    """(problems, repositories) of an authorized_keys file of the repositories' account."""
    problems, repos = [], []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        label = line.rsplit(" ", 1)[-1][:60] if " " in line else f"line {number}"
        if line.startswith(("ssh-", "ecdsa-", "sk-")):
            problems.append(f"line {number} ({label}): key with no forced command")
            continue
        options = _options(line)
        m = _OPTION_COMMAND.search(options)
        args = shlex.split(m[1]) if m else []
        repo = ""
        if "--restrict-to-repository" in args[:-1]:
            repo = args[args.index("--restrict-to-repository") + 1]
        if args[:2] != ["borg", "serve"]:
            problems.append(f"line {number} ({label}): not forced to borg serve")
        elif "--append-only" not in args:
            problems.append(f"line {number} ({label}): borg serve without --append-only")
        elif not repo.startswith(root.rstrip("/") + "/") or ".." in repo.split("/"):
            problems.append(
                f"line {number} ({label}): not restricted to one repository under {root}"
            )
        elif not re.search(r"(^|,)restrict(,|$| )", options):
            problems.append(
                f"line {number} ({label}): no 'restrict' option (forwarding, pty allowed)"
            )
        if repo:
            if repo in repos:
                problems.append(f"line {number} ({label}): {repo} shared with another key")
            repos.append(repo)
    return problems, repos


def _repositories_command(root: str) -> str:
    r = shlex.quote(root.rstrip("/"))
    return (
        f'for d in {r}/*/; do [ -f "$d/config" ] || continue; n=$(basename "$d"); '
        "for s in $(find \"$d/data\" -type f -name '[0-9]*' -size +1c 2>/dev/null "
        "| awk -F/ '{print $NF, $0}' | sort -n | head -n 5 | cut -d' ' -f2-); do "
        "b=$(od -A n -t u1 -j 16 -N 34 \"$s\" | tr -s ' \\n' '  '); "
        'echo "seg $n $b"; done; echo "repo $n"; done; true'
    )


def repository_types(text: str) -> dict[str, str]:
    """repository -> borg key type name ("unknown" when no stored object was found)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        name, _, numbers = rest.partition(" ")
        if kind == "seg" and name not in found:
            values = [parsers.ascii_int(v) for v in numbers.split()]
            if len(values) == 34 and values[0] == 0 and values[33] is not None:
                code = values[33]
                found[name] = ENCRYPTED_TYPES.get(code) or CLEAR_TYPES.get(code) or f"type {code}"
        elif kind == "repo" and name:
            found.setdefault(name, "unknown")
    return found


@control("BCK-02")
def repositories_protected(ctx: Context, p: Params) -> Outcome:
    """On the backup server: every client key is forced to ``borg serve --append-only
    --restrict-to-repository`` its own repository (a compromised client cannot delete its
    history), and every repository is encrypted (its stored objects' key type) (A9)."""
    user, root = str(p["user"]), str(p["root"])
    home = ctx.output(f"getent passwd {shlex.quote(user)} | cut -d: -f6").strip()
    if not home:
        return Outcome.failed(f"no account {user}: no repository is served here")
    keys = ctx.run(f"cat {shlex.quote(home)}/.ssh/authorized_keys", sudo=True)
    problems, repos = key_problems(keys.stdout if keys.rc == 0 else "", root)
    if keys.rc != 0 or not repos:
        problems.append(f"no client key in {home}/.ssh/authorized_keys")
    types = repository_types(ctx.output(_repositories_command(root), sudo=True, record=False))
    ctx.note(
        f"{ctx.sudo} od of each repository's first stored object under {root}",
        "\n".join(f"{k}: {v}" for k, v in sorted(types.items())),
    )
    for name, kind in sorted(types.items()):
        if kind not in ENCRYPTED_TYPES.values():
            problems.append(f"repository {name}: {kind}, not encrypted")
    shown = f"{len(repos)} client keys append-only, each on its own repository"
    return Outcome.of(problems, f"{shown}; {len(types)} repositories encrypted")


@control("BCK-05", needs_ssh=False)
def continuity_plan(ctx: Context, p: Params) -> Outcome:
    """The newest continuity plan of the inventory (``toolkit report continuity``) is at
    most ``max_age_days`` old and lists every platform of servers with an owner, an RPO,
    a backup and an RTO measured by a passed drill (A5)."""
    inventory = Path(str(p["inventory_path"]))
    folder = work_dir() / "reports" / "continuity" / inventory.name
    try:
        found = continuity.latest(folder)
    except ToolkitError as exc:  # a damaged report: the control cannot judge it
        raise ControlError(str(exc)) from exc
    if found is None:
        return Outcome.failed(f"no continuity plan in {folder} (toolkit report continuity)")
    plan, day = found
    expected = sorted(
        {g for h, groups in ctx.inventory.items() if "servers" in groups for g in groups}
        - {"servers", "all", "ungrouped"}
    )
    listed = {x.platform: x for x in plan.platforms}
    problems = [f"{g}: not in the plan" for g in expected if g not in listed]
    problems += [
        f"{x.platform}: missing {'; '.join(x.missing)}"
        for x in plan.platforms
        if x.state == "incomplete"
    ]
    age = (ctx.day() - day).days
    if age > int(p["max_age_days"]):
        problems.append(f"the plan is {age} days old (at most {p['max_age_days']})")
    return Outcome.of(problems, f"{len(listed)} platforms with owner, RPO and measured RTO ({day})")
