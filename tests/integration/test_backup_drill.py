"""The restore drill's container half (A5, A9) on real tools: a client's tree (an LDIF of
the directory, a PostgreSQL custom dump made by a real server, a Maildir message, /etc
files) with its MANIFEST.json, archived by borg (repokey-blake2, zstd) as the backup role
does; the repository copied into a scratch container of the lab image, where the drill
restores the latest archive, verifies every file, loads the LDIF into a scratch slapd and
the dump into a scratch cluster, and reads the message. A changed file and a wrong
passphrase fail loudly.

Needs podman, the lab image and root; run it alone (it starts a container):

    .venv/bin/pytest tests/integration/test_backup_drill.py
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.audit.test_database_controls import _as_owner, _bin, cluster, running
from toolkit.adapters.podman import Podman, podman_env
from toolkit.backup import checks
from toolkit.backup.drill import BORG_ENV, REPO_DIR, Limits, Run, latest_archive, restore
from toolkit.backup.manifest import compare
from toolkit.backup.scratch import Scratch
from toolkit.errors import ToolkitError
from toolkit.lab.image import image_ref

pytestmark = pytest.mark.lab
__all__ = ["cluster"]  # the PostgreSQL fixture, shared with LOG-02's test

PASSPHRASE = "drill-test-passphrase"
LDIF = """\
dn: dc=lab,dc=telework,dc=test
objectClass: top
objectClass: dcObject
objectClass: organization
o: lab
dc: lab

dn: ou=people,dc=lab,dc=telework,dc=test
objectClass: organizationalUnit
ou: people

dn: uid=amina.benali,ou=people,dc=lab,dc=telework,dc=test
objectClass: inetOrgPerson
uid: amina.benali
cn:: 2KPZhdmK2YbYqSDYqNmG2LnZhNmK
sn: Benali
mail: amina.benali@lab.telework.test

"""
MESSAGE = (
    "Return-Path: <youssef@lab.telework.test>\nFrom: youssef@lab.telework.test\n"
    "To: amina.benali@lab.telework.test\nSubject: rapport\n\nBonjour\n"
)


def pg_dump(top: Path) -> bytes:
    bindir = _bin()
    assert bindir is not None
    with running(top) as port:
        psql = [str(bindir / "psql"), "-h", str(top), "-p", str(port), "-d", "postgres", "-c"]
        for sql in (
            "create table events (id serial primary key, title text)",
            "insert into events (title) select 'event ' || n from generate_series(1, 25) n",
            "create table folders (name text)",
            "insert into folders values ('Calendar'), ('Contacts')",
        ):
            done = _as_owner(*psql, sql)
            assert done.returncode == 0, done.stderr
        dump = subprocess.run(
            [
                *("runuser", "-u", "nobody", "--", str(bindir / "pg_dump"), "-h", str(top)),
                *("-p", str(port), "--format=custom", "postgres"),
            ],
            capture_output=True,
            timeout=60,
            check=True,
        )
    return dump.stdout


def client_tree(root: Path, dump: bytes) -> list[str]:
    """The client's files and MANIFEST.json, as the backup wrapper leaves them."""
    files = {
        "/var/backups/telework/dumps/directory/directory.ldif": LDIF.encode(),
        "/var/backups/telework/dumps/collaboration/sogo.pgdump": dump,
        "/var/vmail/lab.telework.test/amina/Maildir/cur/1700000000.M1.mail:2,S": MESSAGE.encode(),
        "/etc/telework/backup-sources.d/directory.yml": b"name: directory\n",
        "/etc/hostname": b"directory\n",
    }
    for path, data in files.items():
        (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / path.lstrip("/")).write_bytes(data)
    manifest = {
        "host": "directory",
        "created": "2026-11-25T01:30:00Z",
        "sources": [
            {"name": "directory", "rpo_hours": 24, "dumps": ["directory.ldif"], "paths": []},
            {"name": "collaboration", "rpo_hours": 24, "dumps": ["sogo.pgdump"], "paths": []},
            {"name": "mail", "rpo_hours": 24, "dumps": [], "paths": ["/var/vmail"]},
            {"name": "system", "rpo_hours": 24, "dumps": [], "paths": ["/etc"]},
        ],
        "files": [
            {"path": p, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
            for p, d in sorted(files.items())
        ],
    }
    (root / "var/backups/telework/dumps/MANIFEST.json").write_text(json.dumps(manifest))
    return sorted(files)


def borg_repository(work: Path, tree: Path) -> Path:
    env = {**os.environ, "BORG_PASSPHRASE": PASSPHRASE, "BORG_BASE_DIR": str(work / "home")}
    repo = work / "repo"
    for argv in (
        ["borg", "init", "--encryption", "repokey-blake2", str(repo)],
        ["borg", "create", "--compression", "zstd,3", f"{repo}::directory-1", "var", "etc"],
        ["borg", "create", "--compression", "zstd,3", f"{repo}::directory-2", "var", "etc"],
    ):
        subprocess.run(argv, cwd=tree, env=env, check=True, capture_output=True, timeout=120)
    return repo


def copy_in(repo: Path, scratch: Scratch) -> None:
    scratch.sh('mkdir -p "$1" /drill/borg && chmod 700 /drill', REPO_DIR)
    tar = subprocess.Popen(["tar", "-C", str(repo), "-cf", "-", "."], stdout=subprocess.PIPE)
    subprocess.run(
        ["podman", "exec", "-i", scratch.name, "tar", "-xf", "-", "-C", REPO_DIR],
        stdin=tar.stdout,
        env=podman_env(),
        check=True,
        timeout=300,
    )
    assert tar.wait(timeout=60) == 0


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    if shutil.which("podman") is None or shutil.which("borg") is None:
        pytest.skip("needs podman and borgbackup")
    if Podman().image_labels(image_ref("bookworm")) is None:
        pytest.skip("the lab image is not built (toolkit lab up builds it)")
    box = Scratch(f"telework-drill-test-{os.getpid()}", "directory")
    try:
        box.start()
        box.install()
        yield box
    finally:
        box.remove()


def test_a_restored_archive_verifies_and_its_dumps_load_into_scratch_servers(
    scratch: Scratch, cluster: Path, tmp_path: Path
) -> None:
    tree = tmp_path / "client"
    paths = client_tree(tree, pg_dump(cluster))
    copy_in(borg_repository(tmp_path, tree), scratch)
    state = Run(datetime.now(UTC))
    steps: list[str] = []
    restore(scratch, PASSPHRASE, Limits(step=600), steps.append, state)
    assert state.archive == "directory-2"
    assert (state.verified, state.mismatches) == (len(paths), [])
    assert [(c.passed, c.detail) for c in state.checks] == [
        (True, "3 entries read back, LDIF has 3"),
        (True, "2 tables restored of 2 in the dump; 27 rows counted"),
        (True, f"{paths[-1]}: mail headers found"),
    ]
    assert steps[-1] == "load the dumps into scratch servers"

    # A restored file that differs from the manifest is named.
    scratch.sh('printf changed > "$1"', f"{checks.RESTORE}/etc/hostname")
    manifest = checks.read_manifest(scratch)
    found = checks.hash_restored(scratch, manifest, 60)
    assert compare(manifest, found) == (len(paths) - 1, ["/etc/hostname: size 7, manifest 10"])

    # A wrong passphrase fails loudly.
    scratch.sh('umask 077; printf wrong > "$1"', "/drill/passphrase")
    with pytest.raises(ToolkitError, match="passphrase"):
        latest_archive(scratch)
    assert BORG_ENV["BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK"] == "no"
