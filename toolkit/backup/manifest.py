"""What a restore drill proves from a restored archive: every file of MANIFEST.json is
back with its sha256 and size, and each dump loads into a scratch server.

MANIFEST.json (docs/backup.md, contract 1) is written by the client's wrapper before borg
runs, at /var/backups/telework/dumps/MANIFEST.json, and goes into the archive::

    {"host": "directory", "created": "2026-11-25T01:30:00Z",
     "sources": [{"name": "directory", "rpo_hours": 24, "dumps": ["directory.ldif"],
                  "paths": ["/etc/ldap"]}],
     "files": [{"path": "/var/backups/telework/dumps/directory/directory.ldif",
                "sha256": "...", "size": 1234}, ...]}

The restored tree is hashed inside the scratch container (:data:`HASH_SCRIPT`); the
comparison and the sanity checks' verdicts are judged here, apart from any container, so
tests can give them canned answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from toolkit.backup.status import DrillCheck, safe

MANIFEST = "/var/backups/telework/dumps/MANIFEST.json"
DUMPS_DIR = "/var/backups/telework/dumps"
#: Largest MANIFEST.json read back from the scratch container.
MAX_MANIFEST_BYTES = 32 * 1024 * 1024
#: Mismatches listed in the evidence (the count is always complete).
MAX_LISTED = 200
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ManifestFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    path: str = Field(min_length=2, max_length=4096, pattern=r"^/")
    sha256: str = Field(pattern=_SHA256.pattern)
    size: int = Field(ge=0)


class ManifestSource(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=64)
    rpo_hours: float | None = None
    dumps: list[str] = []
    paths: list[str] = []


class Manifest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    host: str
    created: str
    sources: list[ManifestSource]
    files: list[ManifestFile]


class Restored(BaseModel):
    """One manifest path as found in the restored tree (None: missing or not a file)."""

    path: str
    sha256: str | None = None
    size: int | None = None


def compare(manifest: Manifest, restored: list[Restored]) -> tuple[int, list[str]]:
    """(files verified, mismatches): every manifest file must be restored with the same
    size and sha256. A file the hash script did not report counts as missing."""
    found = {r.path: r for r in restored}
    verified, mismatches = 0, []
    for entry in manifest.files:
        got = found.get(entry.path)
        if got is None or got.sha256 is None:
            mismatches.append(f"{safe(entry.path)}: missing from the restored archive")
        elif got.size != entry.size:
            mismatches.append(f"{safe(entry.path)}: size {got.size}, manifest {entry.size}")
        elif got.sha256 != entry.sha256:
            mismatches.append(f"{safe(entry.path)}: sha256 differs from the manifest")
        else:
            verified += 1
    return verified, mismatches


CheckKind = Literal["ldap", "postgresql", "mail"]


@dataclass(frozen=True)
class Planned:
    kind: CheckKind
    source: str
    path: str  # the dump file, or a message file of a mail store


_MESSAGE = re.compile(r"/(cur|new)/[^/]+$|^/var/mail/[^/]+$|^/var/spool/mail/[^/]+$")


def plan_checks(manifest: Manifest) -> list[Planned]:
    """The sanity checks a manifest calls for: each LDIF dump into a scratch slapd, each
    PostgreSQL dump (custom format: ``*.pgdump``, ``*.dump``) into a scratch cluster, and
    one message of each source whose paths hold a mail store (Maildir ``cur/``/``new/``
    or an mbox under /var/mail)."""
    planned: list[Planned] = []
    paths = [f.path for f in manifest.files]
    for source in manifest.sources:
        for dump in source.dumps:
            path = f"{DUMPS_DIR}/{source.name}/{dump}"
            if dump.endswith(".ldif"):
                planned.append(Planned("ldap", source.name, path))
            elif dump.endswith((".pgdump", ".dump")):
                planned.append(Planned("postgresql", source.name, path))
        roots = tuple(p.rstrip("/") + "/" for p in source.paths)
        messages = [p for p in paths if p.startswith(roots) and _MESSAGE.search(p)]
        if messages:
            planned.append(Planned("mail", source.name, sorted(messages)[0]))
    return planned


def count_ldif_entries(text: str) -> int:
    """Entries of an LDIF (slapcat's output): its ``dn:`` (or base64 ``dn::``) lines."""
    return sum(1 for line in text.splitlines() if line.startswith(("dn:", "dn::")))


def judge_ldap(source: str, in_ldif: int, loaded: int | None, error: str = "") -> DrillCheck:
    """The LDIF loaded into a scratch slapd: as many entries read back as the LDIF has."""
    name = f"{source}: LDAP entries loaded into a scratch slapd"
    if loaded is None:
        return DrillCheck(name=name, passed=False, detail=f"slapadd failed: {error}"[:600])
    ok = in_ldif > 0 and loaded == in_ldif
    return DrillCheck(
        name=name, passed=ok, detail=f"{loaded} entries read back, LDIF has {in_ldif}"
    )


def judge_postgresql(
    source: str, in_dump: int, restored: int | None, rows: int | None, error: str = ""
) -> DrillCheck:
    """The dump restored into a scratch cluster: every table of the dump's table of contents
    is there and a query over them answers."""
    name = f"{source}: PostgreSQL dump restored into a scratch cluster"
    if restored is None or rows is None:
        return DrillCheck(name=name, passed=False, detail=f"pg_restore failed: {error}"[:600])
    ok = in_dump > 0 and restored == in_dump
    return DrillCheck(
        name=name,
        passed=ok,
        detail=f"{restored} tables restored of {in_dump} in the dump; {rows} rows counted",
    )


_HEADER = re.compile(r"^(From|Received|Subject|Date|Message-ID|Return-Path):", re.I | re.M)


def judge_message(source: str, path: str, head: str | None) -> DrillCheck:
    """A restored message of a mail store is readable and has mail headers."""
    name = f"{source}: a restored message is readable"
    if head is None:
        return DrillCheck(name=name, passed=False, detail=f"{safe(path)}: not readable")
    ok = bool(_HEADER.search(head))
    seen = "mail headers found" if ok else "no mail header in its first lines"
    return DrillCheck(name=name, passed=ok, detail=f"{safe(path)}: {seen}")


#: Run in the scratch container with python3: reads the manifest paths (a JSON list on
#: stdin), hashes each one found as a regular file under the restored root (no link is
#: followed out of it) and prints one JSON object a line.
HASH_SCRIPT = r"""
import hashlib, json, os, sys
root = os.path.realpath(sys.argv[1])
for path in json.load(sys.stdin):
    joined = os.path.join(root, path.lstrip("/"))
    full = os.path.realpath(joined)
    item = {"path": path}
    if full.startswith(root + "/") and os.path.isfile(full) and not os.path.islink(joined):
        digest = hashlib.sha256()
        with open(full, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        item.update(sha256=digest.hexdigest(), size=os.path.getsize(full))
    print(json.dumps(item))
"""
