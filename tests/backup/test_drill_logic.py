"""The restore drill's judgement (A5, A9) on canned answers of a scratch container: the
restored files against MANIFEST.json, the sanity checks a manifest calls for and their
verdicts, the evidence written for BCK-04 and the continuity report."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.backup.samples import NOW
from toolkit.adapters.ansible import InventoryHost
from toolkit.adapters.ssh import Endpoint
from toolkit.backup import checks, drill, scratch
from toolkit.backup.drill import (
    evidence_result,
    inventory_location,
    repository_path,
    write_evidence,
)
from toolkit.backup.manifest import (
    HASH_SCRIPT,
    Manifest,
    ManifestFile,
    Restored,
    compare,
    count_ldif_entries,
    plan_checks,
)
from toolkit.backup.remote import Target, UnreachableError
from toolkit.backup.status import BackupStatus, DrillCheck, DrillEvidence, parse_drill
from toolkit.errors import ToolkitError

LDIF = "/var/backups/telework/dumps/directory/directory.ldif"
PGDUMP = "/var/backups/telework/dumps/collaboration/sogo.pgdump"
MESSAGE = "/var/vmail/lab.telework.test/amina/Maildir/cur/1700000000.M1.mail:2,S"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest(*files: tuple[str, bytes]) -> Manifest:
    return Manifest.model_validate(
        {
            "host": "directory",
            "created": "2026-11-25T01:30:00Z",
            "sources": [
                {"name": "directory", "dumps": ["directory.ldif"], "paths": ["/etc/ldap"]},
                {"name": "collaboration", "dumps": ["sogo.pgdump"], "paths": ["/etc/sogo"]},
                {"name": "mail", "dumps": [], "paths": ["/var/vmail"]},
            ],
            "files": [{"path": p, "sha256": sha(d), "size": len(d)} for p, d in files],
        }
    )


def test_identical_restored_files_are_all_verified() -> None:
    m = manifest(("/etc/ldap/ldap.conf", b"BASE dc=lab\n"), (LDIF, b"dn: dc=lab\n"))
    restored = [Restored(path=f.path, sha256=f.sha256, size=f.size) for f in m.files]
    assert compare(m, restored) == (2, [])


def test_a_changed_a_truncated_and_a_missing_file_are_each_named() -> None:
    m = manifest(("/etc/a", b"one"), ("/etc/b", b"two"), ("/etc/c", b"three"))
    restored = [
        Restored(path="/etc/a", sha256=sha(b"onE"), size=3),
        Restored(path="/etc/b", sha256=sha(b"tw"), size=2),
        Restored(path="/etc/c"),
    ]
    assert compare(m, restored) == (
        0,
        [
            "/etc/a: sha256 differs from the manifest",
            "/etc/b: size 2, manifest 3",
            "/etc/c: missing from the restored archive",
        ],
    )
    assert compare(m, [])[1][0] == "/etc/a: missing from the restored archive"


def test_a_manifest_path_must_be_absolute_and_its_digest_hex() -> None:
    with pytest.raises(ValueError, match="path"):
        ManifestFile(path="etc/passwd", sha256="0" * 64, size=1)
    with pytest.raises(ValueError, match="sha256"):
        ManifestFile(path="/etc/passwd", sha256="not-a-digest", size=1)


def test_the_hash_script_hashes_what_is_inside_the_restored_tree_and_nothing_outside(
    tmp_path: Path,
) -> None:
    root = tmp_path / "restore"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hosts").write_bytes(b"127.0.0.1 localhost\n")
    (root / "etc" / "escape").symlink_to("/etc/hostname")
    paths = ["/etc/hosts", "/etc/escape", "/../../etc/hostname", "/etc/none"]
    proc = subprocess.run(
        ["python3", "-c", HASH_SCRIPT, str(root)],
        input=json.dumps(paths),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    found = [Restored.model_validate_json(line) for line in proc.stdout.splitlines()]
    assert found[0] == Restored(path="/etc/hosts", sha256=sha(b"127.0.0.1 localhost\n"), size=20)
    assert [f.sha256 for f in found[1:]] == [None, None, None]


def test_a_manifest_calls_for_ldap_postgresql_and_mail_checks() -> None:
    m = manifest((LDIF, b"x"), (PGDUMP, b"y"), (MESSAGE, b"z"), ("/etc/sogo/sogo.conf", b"c"))
    assert [(p.kind, p.source, p.path) for p in plan_checks(m)] == [
        ("ldap", "directory", LDIF),
        ("postgresql", "collaboration", PGDUMP),
        ("mail", "mail", MESSAGE),
    ]


def test_ldif_entries_are_counted_by_their_dn_lines_plain_or_base64() -> None:
    text = "dn: dc=lab\nobjectClass: top\n\ndn:: dWlkPWFtaW5h\ncn: x\n description: dn: no\n"
    assert count_ldif_entries(text) == 2


class FakeScratch:
    """Answers ``sh`` scripts by the first regex matching the script or its arguments."""

    def __init__(self, answers: dict[str, tuple[int, str, str]]) -> None:
        self.answers = [(re.compile(k, re.S), v) for k, v in answers.items()]
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def sh(
        self,
        script: str,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 120.0,
        check: bool = True,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        self.calls.append((script, args))
        text = " ".join((script, *args))
        for pattern, (rc, out, err) in self.answers:
            if pattern.search(text):
                return subprocess.CompletedProcess([script], rc, out, err)
        return subprocess.CompletedProcess([script], 127, "", "not found")


def run_checks(answers: dict[str, tuple[int, str, str]]) -> list[DrillCheck]:
    m = manifest((LDIF, b"x"), (PGDUMP, b"y"), (MESSAGE, b"z"))
    return checks.run_checks(FakeScratch(answers), plan_checks(m), 60)


TOC = "215; 1259 16390 TABLE public sogo_folder_info sogo\n216; 1259 16391 TABLE public sogo_acl sogo\n3400; 0 16390 TABLE DATA public sogo_folder_info sogo\n"


def test_dumps_that_load_completely_and_a_readable_message_pass() -> None:
    done = run_checks(
        {
            r"^grep -c": (0, "12\n", ""),
            r"slapadd": (0, "12\n", ""),
            r"pg_restore --list": (0, TOC, ""),
            r"createdb": (0, "2\n57\n", ""),
            r"head -c 8192": (0, "Return-Path: <a@lab>\nSubject: test\n\nbody", ""),
        }
    )
    assert [(c.passed, c.detail) for c in done] == [
        (True, "12 entries read back, LDIF has 12"),
        (True, "2 tables restored of 2 in the dump; 57 rows counted"),
        (True, f"{MESSAGE}: mail headers found"),
    ]


def test_a_partial_load_a_failed_restore_and_a_garbled_message_fail() -> None:
    done = run_checks(
        {
            r"^grep -c": (0, "12\n", ""),
            r"slapadd": (0, "11\n", ""),
            r"pg_restore --list": (0, TOC, ""),
            r"createdb": (3, "", 'pg_restore: error: could not execute query: relation "x"'),
            r"head -c 8192": (0, "\x00\x01binary", ""),
        }
    )
    assert [c.passed for c in done] == [False, False, False]
    assert done[0].detail == "11 entries read back, LDIF has 12"
    assert done[1].detail.startswith("pg_restore failed: pg_restore: error: could not execute")
    assert done[2].detail == f"{MESSAGE}: no mail header in its first lines"


def test_an_empty_ldif_never_passes_even_when_nothing_is_loaded_from_it() -> None:
    done = run_checks({r"^grep -c": (1, "0\n", ""), r"slapadd": (0, "0\n", "")})
    assert not done[0].passed


def test_an_archive_without_its_manifest_stops_the_drill_with_a_clear_error() -> None:
    with pytest.raises(ToolkitError, match=r"holds no /var/backups/telework/dumps/MANIFEST\.json"):
        checks.read_manifest(FakeScratch({r"head -c": (44, "", "")}))
    bad = FakeScratch({r"head -c": (0, '{"host": "x", "files": 3}', "")})
    with pytest.raises(ToolkitError, match=r"MANIFEST\.json: created: Field required"):
        checks.read_manifest(bad)


def test_a_drill_passes_only_with_files_verified_none_differing_and_every_check_passed() -> None:
    good = [DrillCheck(name="ldap", passed=True)]
    assert evidence_result(good, 10, []) == "passed"
    assert evidence_result(good, 0, []) == "failed"
    assert evidence_result(good, 10, ["/etc/a: sha256 differs"]) == "failed"
    assert evidence_result([*good, DrillCheck(name="pg", passed=False)], 10, []) == "failed"


def test_the_repository_folder_comes_from_the_status_url_and_nothing_else() -> None:
    def status(url: str) -> BackupStatus:
        return BackupStatus.model_validate(
            {
                "host": "mail",
                "repository": url,
                "backup_server": "backup",
                "last_attempt": "2026-11-25T01:30:00Z",
                "result": "ok",
                "sources": [],
                "append_only": True,
                "encryption": "repokey-blake2",
            }
        )

    assert repository_path(status("ssh://borg@backup/srv/backup/mail")) == "/srv/backup/mail"
    assert repository_path(status("ssh://borg@backup:2222/srv/backup/mail")) == "/srv/backup/mail"
    for bad in ("/srv/backup/mail", "ssh://borg@backup/srv/../etc", "ssh://borg@b/x;rm -rf /"):
        with pytest.raises(ToolkitError, match="repository: not ssh://"):
            repository_path(status(bad))


def test_the_evidence_is_written_as_the_contract_says_and_reads_back(tmp_path: Path) -> None:
    evidence = DrillEvidence(
        host="directory",
        archive="directory-2026-11-25T01:30:00",
        started=NOW,
        finished=NOW,
        rto_seconds=41.2,
        result="passed",
        checks=[DrillCheck(name="directory: LDAP", passed=True, detail="12 of 12")],
        files_verified=57,
        mismatches=[],
    )
    path = write_evidence(evidence, tmp_path, {"prepare_seconds": 80.0})
    assert path.name == "directory-20261125T200000Z.json"
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) >= {
        "host",
        "archive",
        "started",
        "finished",
        "rto_seconds",
        "result",
        "checks",
        "files_verified",
        "mismatches",
        "prepare_seconds",
    }
    assert parse_drill(path.read_bytes(), str(path)) == evidence


class FakeChannel:
    """What the backup server's tar prints, in chunks; then end of file."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def recv(self, size: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


def sink_into(path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sh", "-c", 'cat > "$1"', "sink", str(path)], stdin=subprocess.PIPE)


def test_the_repository_stream_is_fed_whole_to_the_container_and_capped(tmp_path: Path) -> None:
    out = tmp_path / "repo.tar"
    sink = sink_into(out)
    copied = scratch._pump(FakeChannel([b"a" * 10, b"b" * 5]), sink, time.monotonic() + 30, 100)  # type: ignore[arg-type]
    assert sink.stdin is not None
    sink.stdin.close()
    assert sink.wait(timeout=10) == 0
    assert (copied, out.read_bytes()) == (15, b"a" * 10 + b"b" * 5)
    big = sink_into(tmp_path / "big.tar")
    with pytest.raises(ToolkitError, match="repository larger than 12 bytes"):
        scratch._pump(FakeChannel([b"a" * 10, b"b" * 5]), big, time.monotonic() + 30, 12)  # type: ignore[arg-type]
    big.kill()
    late = sink_into(tmp_path / "late.tar")
    with pytest.raises(ToolkitError, match="not finished in time"):
        scratch._pump(FakeChannel([b"a"]), late, time.monotonic() - 1, 12)  # type: ignore[arg-type]
    late.kill()


def _hosts(*backup_servers: str) -> dict[str, InventoryHost]:
    found = {
        "directory": InventoryHost("directory", {}, frozenset({"servers", "directory_servers"}))
    }
    for name in backup_servers:
        found[name] = InventoryHost(name, {}, frozenset({"servers", "backup_servers"}))
    return found


def _target(**host_vars: object) -> Target:
    return Target("directory", frozenset({"servers"}), Endpoint("directory"), dict(host_vars))


def test_an_unreachable_host_is_found_on_the_inventorys_one_backup_server() -> None:
    assert inventory_location(_target(), _hosts("backup")) == ("backup", "/srv/backup/directory")
    moved = _target(backup_repository_root="/data/borg/", backup_server="b2")
    assert inventory_location(moved, _hosts("b1", "b2")) == ("b2", "/data/borg/directory")


def test_with_several_backup_servers_and_none_named_or_a_hostile_root_the_drill_stops() -> None:
    with pytest.raises(ToolkitError, match="2 backup servers: set backup_server"):
        inventory_location(_target(), _hosts("b1", "b2"))
    for root in ("../../etc", "/srv/../etc", "/srv/backup; rm -rf /", "relative"):
        with pytest.raises(ToolkitError, match="backup_repository_root"):
            inventory_location(_target(backup_repository_root=root), _hosts("backup"))


def test_a_host_that_cannot_be_reached_is_drilled_from_the_inventory_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def gone(target: Target, timeout: float, action: object, **_: object) -> object:
        raise UnreachableError("directory (admin@127.0.0.1:2202): cannot connect")

    monkeypatch.setattr(drill, "with_session", gone)
    said: list[str] = []
    found = drill.locate(_target(), _hosts("backup"), drill.Limits(), said.append)
    assert found == ("backup", "/srv/backup/directory", False, "bookworm")
    assert "directory cannot be reached (directory (admin@127.0.0.1:2202): cannot" in said[-1]


def test_the_restore_runs_on_the_release_the_host_runs() -> None:
    """A PostgreSQL 17 dump (Debian 13) does not restore into PostgreSQL 15 (Debian 12)."""
    trixie = b'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nVERSION_CODENAME=trixie\nID=debian\n'
    assert drill.drill_release("collab", trixie, {}) == "trixie"
    assert drill.drill_release(
        "collab", b"VERSION_CODENAME=bookworm\n", {"lab_release": "trixie"}
    ) == ("bookworm")


def test_a_host_that_cannot_be_read_is_restored_on_the_release_its_inventory_names() -> None:
    assert drill.drill_release("collab", None, {"backup_drill_release": "trixie"}) == "trixie"
    assert drill.drill_release("collab", None, {"lab_release": "trixie"}) == "trixie"
    assert drill.drill_release("collab", None, {}) == "bookworm"
    on_sid = {"backup_drill_release": "trixie"}
    assert drill.drill_release("collab", b"VERSION_CODENAME=sid\n", on_sid) == "trixie"


def test_a_release_the_drill_has_no_image_for_is_an_error_naming_host_and_field() -> None:
    with pytest.raises(ToolkitError, match=r"collab: backup_drill_release 'sid; rm -rf /' is"):
        drill.drill_release("collab", None, {"backup_drill_release": "sid; rm -rf /"})
    with pytest.raises(ToolkitError, match=r"collab: lab_release '12' is not a release"):
        drill.drill_release("collab", None, {"lab_release": 12})


def test_a_host_on_an_unknown_release_with_none_named_is_an_error_not_a_guess() -> None:
    with pytest.raises(ToolkitError, match=r"collab runs Debian 'forky'.*backup_drill_release"):
        drill.drill_release("collab", b"VERSION_CODENAME=forky\n", {})


def test_the_archive_s_debian_version_names_the_release_of_a_host_that_could_not_be_read() -> None:
    """A host that cannot be reached is restored first on a guessed release; its archive's
    /etc/debian_version (a regular file: os-release is a symbolic link into /usr) names
    the one its dumps need (PostgreSQL 17's dump does not load into 15)."""
    assert drill.archive_release(FakeScratch({r"debian_version": (0, "13.2\n", "")})) == "trixie"
    assert drill.archive_release(FakeScratch({r"debian_version": (0, "12.12\n", "")})) == "bookworm"
    for answer in ((0, "14.0\n", ""), (0, "trixie/sid\n", ""), (1, "", "No such file")):
        assert drill.archive_release(FakeScratch({r"debian_version": answer})) is None


def test_a_restore_on_a_guessed_release_stops_as_soon_as_the_archive_shows_another() -> None:
    scratch = FakeScratch(
        {
            r"borg list": (0, "collab-2026-11-27T08:48:47\n", ""),
            r"borg extract": (0, "", ""),
            r"debian_version": (0, "13.2\n", ""),
        }
    )
    state = drill.Run(NOW)
    with pytest.raises(drill.ArchiveReleaseError) as caught:
        drill.restore(scratch, "secret", drill.Limits(), lambda _s: None, state,
                      check_release="bookworm")  # fmt: skip
    assert caught.value.release == "trixie"
    assert not any("MANIFEST" in script for script, _ in scratch.calls)  # nothing loaded


def test_a_drill_on_a_guessed_release_runs_once_more_on_the_archive_s_after_removing_its_container(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The directory host is gone: its drill starts on bookworm, its archive shows trixie,
    the bookworm container is removed, then one more drill runs on trixie (never a third)."""
    events: list[str] = []

    class Container:
        def __init__(self, name: str, host: str) -> None:
            self.release = ""

        def start(self, release: str = "bookworm", boot_timeout: float = 90.0) -> None:
            self.release = release
            events.append(f"start {release}")

        def install(self, timeout: float) -> None:
            pass

        def sh(self, *_: object, **__: object) -> None:
            pass

        def remove(self) -> None:
            events.append(f"remove {self.release}")

    def restore(
        scratch: Container, secret: str, limits: object, progress: object, state: drill.Run,
        *, check_release: str | None = None,
    ) -> None:  # fmt: skip
        if check_release is not None and check_release != "trixie":
            raise drill.ArchiveReleaseError("trixie")
        state.archive, state.verified = "directory-2026-11-27T08:48:47", 3
        events.append(f"restored on {scratch.release}")

    monkeypatch.setattr(drill, "load_inventory", lambda *_, **__: _hosts("backup"))
    monkeypatch.setattr(drill, "locate", lambda *_: ("backup", "/srv/backup/directory", False,
                                                    "bookworm"))  # fmt: skip
    monkeypatch.setattr(drill, "passphrase", lambda *_: "secret")
    monkeypatch.setattr(drill, "Scratch", Container)
    monkeypatch.setattr(drill, "with_session", lambda *_, **__: 0)
    monkeypatch.setattr(drill, "restore", restore)
    monkeypatch.setattr(drill, "drills_dir", lambda: tmp_path)
    said: list[str] = []
    evidence, path = drill.run_drill(tmp_path / "inv", "directory", progress=said.append)
    assert events == ["start bookworm", "remove bookworm", "start trixie",
                      "restored on trixie", "remove trixie"]  # fmt: skip
    assert "the archive comes from Debian trixie, not bookworm: again on trixie" in said
    assert evidence.files_verified == 3 and path.is_file()
