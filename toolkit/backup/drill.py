"""``toolkit backup drill HOST`` (A5, A9): restore HOST's latest archive into a scratch
container, verify it, load its dumps, measure the restore time (RTO) and keep the evidence.

How the repository is reached: the drill logs in to the backup server named by HOST's
status.json (as the inventory's admin account, like the audit) and streams HOST's
repository folder, locked with ``borg with-lock`` while it is read, into the scratch
container (toolkit.backup.scratch.stream_repository). borg runs only in the container,
with HOST's passphrase given there on stdin (the vault's ``backup_passphrases[HOST]``,
else the inventory's .credentials/backup/HOST.passphrase). The passphrase never goes to
the backup server and no new key is accepted by the repositories' account: the backup
server gives out encrypted segments only, and the drill needs no write access to them.

The RTO is measured from the start of the repository's copy to the end of the last sanity
check (the data is usable); getting the scratch container and its packages ready is
measured apart (``prepare_seconds``): a standby machine would have them.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from toolkit import osrelease
from toolkit.adapters.ansible import InventoryHost, load_inventory
from toolkit.backup import checks
from toolkit.backup.manifest import MAX_LISTED, compare, plan_checks
from toolkit.backup.remote import Session, Target, UnreachableError, target_of, with_session
from toolkit.backup.scratch import Scratch, stream_repository
from toolkit.backup.status import (
    DRILL_FILE,
    MAX_BYTES,
    STATUS_FILE,
    BackupStatus,
    DrillCheck,
    DrillEvidence,
    parse_status,
)
from toolkit.errors import ToolkitError
from toolkit.lab.image import RELEASES
from toolkit.paths import work_dir
from toolkit.report.pages import write_atomically
from toolkit.secrets import read_secret
from toolkit.text import printable

log = logging.getLogger(__name__)

REPO_DIR = "/drill/repo"
PASSPHRASE = "/drill/passphrase"  # noqa: S105 (a file name)
BORG_ENV = {
    "BORG_PASSCOMMAND": f"cat {PASSPHRASE}",
    "BORG_BASE_DIR": "/drill/borg",
    "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes",
    "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "no",
}
_REPO_URL = re.compile(r"^ssh://[^/@\s]+@[^/\s]+(?::\d+)?(/[A-Za-z0-9._/-]{1,255})$")
_ROOT = re.compile(r"^/[A-Za-z0-9._/-]{0,200}$")
#: The backup role's backup_repository_root default.
DEFAULT_ROOT = "/srv/backup"
_ARCHIVE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,200}$")


@dataclass(frozen=True)
class Limits:
    connect: float = 15.0
    #: Each small command on a host (its status read, the evidence written): sudo and a
    #: session's opening can take seconds on a loaded host.
    command: float = 60.0
    copy: float = 3600.0
    max_bytes: int = 50 * 1024**3
    step: float = 1800.0
    prepare: float = 900.0


Progress = Callable[[str], None]


def drills_dir() -> Path:
    return work_dir() / "reports" / "backup" / "drills"


def repository_path(status: BackupStatus) -> str:
    """The repository's folder on the backup server, from status.json's URL."""
    m = _REPO_URL.match(status.repository)
    if m is None or ".." in m[1].split("/"):
        raise ToolkitError(
            f"{status.host}:{STATUS_FILE}: repository: not ssh://user@host/path: "
            f"{status.repository}"
        )
    return m[1]


def passphrase(target: Target, inventory: Path) -> str:
    """The vault's ``backup_passphrases[host]``, else the generated credentials file."""
    vaulted = target.vars.get("backup_passphrases")
    if isinstance(vaulted, dict) and isinstance(vaulted.get(target.name), str):
        return str(vaulted[target.name])
    path = inventory / ".credentials" / "backup" / f"{target.name}.passphrase"
    if not path.is_file():
        raise ToolkitError(
            f"no passphrase for {target.name}: neither backup_passphrases[{target.name}] in "
            f"the vault nor {path}"
        )
    return read_secret(path).decode("utf-8").strip()


def latest_archive(scratch: checks.Runner) -> str:
    proc = scratch.sh(
        'exec borg list --last 1 --format "{archive}{NL}" "$1"',
        REPO_DIR,
        env=BORG_ENV,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise ToolkitError(
            f"borg list of the copied repository failed: {proc.stderr.strip()[-300:]}"
        )
    names = proc.stdout.split()
    if not names or not _ARCHIVE.match(names[-1]):
        raise ToolkitError("the repository holds no archive to restore")
    return names[-1]


def _read_status(session: Session) -> BackupStatus:
    raw = session.read(STATUS_FILE, MAX_BYTES)
    if raw is None:
        raise ToolkitError(f"{session.target.name} was never backed up (no {STATUS_FILE})")
    return parse_status(raw, session.target.name)


def evidence_result(checks_done: list[DrillCheck], verified: int, mismatches: list[str]) -> str:
    """passed only when files were verified, none differs and every check passed."""
    ok = verified > 0 and not mismatches and all(c.passed for c in checks_done)
    return "passed" if ok else "failed"


def write_evidence(evidence: DrillEvidence, folder: Path, extra: dict[str, Any]) -> Path:
    """``<folder>/<host>-<UTC stamp>.json`` (0644): the evidence plus the drill's details."""
    body = {**evidence.model_dump(mode="json"), **extra}
    stamp = evidence.started.strftime("%Y%m%dT%H%M%SZ")
    import json  # noqa: PLC0415 (json of the evidence only here)

    text = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    return write_atomically(folder / f"{evidence.host}-{stamp}.json", text, 0o644)


class ArchiveReleaseError(Exception):
    """The archive comes from another Debian release than the scratch container runs (a
    host that could not be asked its own): the drill runs again on the archive's."""

    def __init__(self, release: str) -> None:
        super().__init__(release)
        self.release = release


#: /etc/debian_version's major version (a regular file of every backup of /etc; os-release
#: is a symbolic link into /usr) -> the release the drill has an image for.
DEBIAN_VERSIONS = {version: release for release, version in RELEASES.items()}


def archive_release(scratch: checks.Runner) -> str | None:
    """The release of the restored tree's /etc/debian_version, None when it has none (or
    names a release the drill has no image for)."""
    done = scratch.sh('head -c 64 "$1"/etc/debian_version', checks.RESTORE, check=False)
    major = done.stdout.strip().split(".", 1)[0] if done.returncode == 0 else ""
    return DEBIAN_VERSIONS.get(major)


def run_drill(
    inventory: Path,
    host: str,
    *,
    limits: Limits = Limits(),
    progress: Progress = lambda _step: None,
    keep: bool = False,
    release: str | None = None,
) -> tuple[DrillEvidence, Path]:
    """Run the drill; the evidence and where it was written. Raises ToolkitError when the
    drill cannot run (no status, no passphrase, the copy fails); a restore that runs but
    does not verify is a ``failed`` evidence, written like a passed one."""
    hosts = load_inventory(inventory, with_roster=False)
    if host not in hosts or "servers" not in hosts[host].groups:
        raise ToolkitError(f"{host} is not a server of the inventory {inventory}")
    target = target_of(hosts[host], inventory)
    server_name, repo, alive, found_release = locate(target, hosts, limits, progress)
    # the host's own release when it could be read; else what the archive shows (below)
    guessed = not alive and release is None
    release = release or found_release
    if server_name not in hosts or "backup_servers" not in hosts[server_name].groups:
        raise ToolkitError(f"{host}'s backup server {server_name!r} is not in backup_servers")
    server = target_of(hosts[server_name], inventory)
    secret = passphrase(target, inventory)
    stamp = datetime.now(UTC)
    scratch = Scratch(f"telework-drill-{host}-{stamp:%Y%m%d%H%M%S}", host)
    clock = time.monotonic()
    state = Run(stamp)
    archive_release_found: str | None = None
    try:
        progress("starting the scratch container")
        scratch.start(release)
        progress("installing borgbackup, slapd and PostgreSQL in it")
        scratch.install(timeout=limits.prepare)
        state.prepare_seconds = time.monotonic() - clock
        state.started, clock = datetime.now(UTC), time.monotonic()
        state.step = f"copy {server_name}:{repo} into the scratch container"
        progress(state.step)
        scratch.sh('mkdir -p "$1" /drill/borg && chmod 700 /drill', REPO_DIR)
        state.copied = with_session(
            server,
            limits.connect,
            lambda s: stream_repository(
                s, repo, scratch, REPO_DIR, timeout=limits.copy, max_bytes=limits.max_bytes
            ),
        )
        restore(
            scratch, secret, limits, progress, state, check_release=release if guessed else None
        )
    except ArchiveReleaseError as exc:
        archive_release_found = exc.release
    except ToolkitError as exc:
        state.failure = DrillCheck(name=state.step, passed=False, detail=str(exc)[:600])
    finally:
        if not keep:
            scratch.remove()
    if archive_release_found is not None:  # once: the next run is given the release
        progress(f"the archive comes from Debian {archive_release_found}, not {release}: "
                 f"again on {archive_release_found}")  # fmt: skip
        return run_drill(inventory, host, limits=limits, progress=progress, keep=keep,
                         release=archive_release_found)  # fmt: skip
    if state.started is None:  # the scratch container never got ready: no drill ran
        why = state.failure.detail if state.failure else "?"
        raise ToolkitError(f"the scratch container could not be prepared: {why}")
    evidence = _evidence(host, state, state.started, clock)
    path = write_evidence(
        evidence, drills_dir() / inventory.name, _details(state, server_name, alive)
    )
    if not alive:
        progress(f"{host} cannot be reached: the evidence stays in {path}")
        return evidence, path
    progress(f"copying the evidence to {host}:{DRILL_FILE}")
    data = evidence.model_dump_json(indent=2).encode() + b"\n"
    with_session(
        target,
        limits.connect,
        lambda s: s.write(DRILL_FILE, data),
        command_timeout=limits.command,
    )
    return evidence, path


def _evidence(host: str, state: Run, started: datetime, clock: float) -> DrillEvidence:
    """The evidence of a drill that ran (its restore timed from ``clock``)."""
    done = state.checks + ([state.failure] if state.failure else [])
    return DrillEvidence(
        host=host,
        archive=state.archive,
        started=started,
        finished=datetime.now(UTC),
        rto_seconds=round(time.monotonic() - clock, 1) if state.failure is None else None,
        result=evidence_result(done, state.verified, state.mismatches),  # type: ignore[arg-type]
        checks=done,
        files_verified=state.verified,
        mismatches=state.mismatches[:MAX_LISTED],
    )


def _details(state: Run, server_name: str, alive: bool) -> dict[str, Any]:
    """What the evidence file says beyond the evidence itself."""
    return {
        "mismatch_count": len(state.mismatches),
        "prepare_seconds": round(state.prepare_seconds, 1),
        "repository_bytes": state.copied,
        "backup_server": server_name,
        "manifest_created": state.manifest_created,
        "host_reachable": alive,
    }


def locate(
    target: Target, hosts: Mapping[str, InventoryHost], limits: Limits, progress: Progress
) -> tuple[str, str, bool, str]:
    """The host's backup server and repository folder, from its status.json; from the
    inventory when the host cannot be reached (the disaster a backup is for); whether it
    could be reached; and the Debian release its restore runs on (drill_release)."""
    progress(f"reading {target.name}'s backup status")
    try:
        status, os_release = with_session(
            target, limits.connect, _read_status_and_release, command_timeout=limits.command
        )
    except UnreachableError as exc:
        server, repo = inventory_location(target, hosts)
        progress(f"{target.name} cannot be reached ({exc}): {server}:{repo} from the inventory")
        return server, repo, False, drill_release(target.name, None, target.vars)
    release = drill_release(target.name, os_release, target.vars)
    return status.backup_server, repository_path(status), True, release


def _read_status_and_release(session: Session) -> tuple[BackupStatus, bytes | None]:
    return _read_status(session), session.read("/etc/os-release", 4096)


def drill_release(host: str, os_release: bytes | None, host_vars: Mapping[str, Any]) -> str:
    """The Debian release of the scratch container: the host's own (its /etc/os-release),
    as the machine that would replace it runs it and a dump restores only into the server
    version that wrote it or a newer one (PostgreSQL 17 on Debian 13, 15 on Debian 12).
    A host that cannot be read, or runs a release the drill has no image for: its
    ``backup_drill_release``, else its ``lab_release`` (a lab host), else bookworm for a
    host that could not be read. A release named that the drill does not know, or a host on
    an unknown release with none named, is an error that says which."""
    named: dict[str, str] = {}
    for name in ("backup_drill_release", "lab_release"):
        value = host_vars.get(name)
        if value is None:
            continue
        if not (isinstance(value, str) and value in RELEASES):
            raise ToolkitError(
                f"{host}: {name} {printable(str(value))[:40]!r} is not a release the drill "
                f"has an image for ({', '.join(RELEASES)})"
            )
        named[name] = value
    codename = osrelease.parse((os_release or b"").decode("utf-8", "replace")).get(
        "VERSION_CODENAME", ""
    )
    if codename in RELEASES:
        return codename
    if named:  # in the order above: backup_drill_release first
        return next(iter(named.values()))
    if codename:
        raise ToolkitError(
            f"{host} runs Debian {printable(codename)[:40]!r}, the drill has images for "
            f"{', '.join(RELEASES)} only: set backup_drill_release in its host variables"
        )
    return "bookworm"


def inventory_location(target: Target, hosts: Mapping[str, InventoryHost]) -> tuple[str, str]:
    """Where a host that cannot be reached is backed up, as the backup role decides it
    from the inventory: its ``backup_server`` (default: the one host of backup_servers) and
    ``<backup_repository_root>/<host>`` (default /srv/backup)."""
    servers = [name for name, h in hosts.items() if "backup_servers" in h.groups]
    chosen = target.vars.get("backup_server")
    if not (isinstance(chosen, str) and chosen in servers):
        if len(servers) != 1:
            raise ToolkitError(
                f"{target.name} cannot be reached and the inventory has {len(servers)} backup "
                "servers: set backup_server in its host variables to say which holds it"
            )
        chosen = servers[0]
    root = target.vars.get("backup_repository_root", DEFAULT_ROOT)
    if not (isinstance(root, str) and _ROOT.match(root) and ".." not in root.split("/")):
        raise ToolkitError(f"{target.name}: backup_repository_root: not an absolute path: {root}")
    return chosen, f"{root.rstrip('/')}/{target.name}"


@dataclass
class Run:
    """What a drill has done so far (the evidence of a drill stopped half-way)."""

    stamp: datetime
    step: str = "prepare the scratch container"
    started: datetime | None = None
    prepare_seconds: float = 0.0
    archive: str = ""
    copied: int = 0
    verified: int = 0
    mismatches: list[str] = field(default_factory=list)
    checks: list[DrillCheck] = field(default_factory=list)
    manifest_created: str = ""
    failure: DrillCheck | None = None


def restore(
    scratch: checks.Runner,
    secret: str,
    limits: Limits,
    progress: Progress,
    state: Run,
    *,
    check_release: str | None = None,
) -> None:
    """From a repository copied to REPO_DIR of the scratch container: its latest archive
    extracted, verified against its manifest, its dumps loaded (``state`` says how far
    it went). ``check_release``: the release the scratch container was guessed to need;
    ArchiveReleaseError when the archive shows another (a dump loads only into the server
    version that wrote it or a newer one)."""

    def step(name: str) -> None:
        state.step = name
        progress(name)

    scratch.sh('umask 077; cat > "$1"', PASSPHRASE, stdin=secret)
    step("find the latest archive")
    state.archive = latest_archive(scratch)
    step(f"extract {state.archive}")
    extract = scratch.sh(
        'mkdir -p "$2" && cd "$2" && exec borg extract "$1"',
        f"{REPO_DIR}::{state.archive}",
        checks.RESTORE,
        env=BORG_ENV,
        timeout=limits.step,
        check=False,
    )
    if extract.returncode != 0:
        raise ToolkitError(f"borg extract failed: {extract.stderr.strip()[-300:]}")
    if check_release is not None:
        shown = archive_release(scratch)
        if shown is not None and shown != check_release:
            raise ArchiveReleaseError(shown)
    step("verify every file against MANIFEST.json")
    manifest = checks.read_manifest(scratch)
    state.manifest_created = manifest.created
    state.verified, state.mismatches = compare(
        manifest, checks.hash_restored(scratch, manifest, limits.step)
    )
    step("load the dumps into scratch servers")
    state.checks = checks.run_checks(scratch, plan_checks(manifest), limits.step)
