"""BCK-01 to BCK-05 (A5, A9) on canned host answers: each passes on what roles/backup and
``toolkit backup drill`` leave, and fails on the weakness it names. BCK-02's reading of a
repository's encryption runs on real borg repositories made here."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.audit.conftest import Answer, fake_context
from tests.backup.samples import NOW, drill, status
from tests.backup.test_continuity import plan as continuity_plan
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import ControlError, Outcome, Status
from toolkit.audit.registry import implementations
from toolkit.backup import continuity
from toolkit.controls import backup

IMPL = implementations()
CLOCK = int(NOW.timestamp())
INVENTORY = {
    "directory": frozenset({"servers", "directory_servers"}),
    "mail": frozenset({"servers", "mail_servers"}),
    "collab": frozenset({"servers", "collaboration_servers"}),
    "backup": frozenset({"servers", "backup_servers"}),
}
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOhE2hEucYLiLtYDa9JqMUW4uOJfdAE2Iq3i+6WHnOMJ"


def file_answer(data: dict[str, Any] | None, clock: int = CLOCK) -> Answer:
    if data is None:
        return Answer(44, f"{clock}\n")
    return Answer(0, f"{clock}\n{json.dumps(data)}")


def run(
    catalogue: Catalogue,
    control: str,
    answers: dict[str, Answer | str],
    host: str = "directory",
    **over: Any,
) -> Outcome:
    ctx = fake_context(answers, inventory=INVENTORY)
    ctx.name = host
    params = {**catalogue.controls[control].spec.params, **over}
    return IMPL[control].check(ctx, params)


def status_answers(data: dict[str, Any] | None) -> dict[str, Answer | str]:
    return {r"status\.json": file_answer(data)}


def test_bck01_passes_when_every_source_is_within_its_rpo(catalogue: Catalogue) -> None:
    outcome = run(catalogue, "BCK-01", status_answers(status(hours_ago=3)))
    assert outcome.status is Status.PASS
    assert outcome.summary.endswith("directory 3.0 h (RPO 24 h), system 3.0 h (RPO 24 h)")


def test_bck01_fails_late_failed_and_never_backed_up_hosts(catalogue: Catalogue) -> None:
    late = run(catalogue, "BCK-01", status_answers(status(hours_ago=25)))
    assert late.status is Status.FAIL
    assert late.summary.startswith("directory: late (last success 25.0 h ago, RPO 24 h)")
    failed = run(catalogue, "BCK-01", status_answers(status(result="failed", error="disk full")))
    assert failed.status is Status.FAIL and "last attempt failed: disk full" in failed.summary
    never = run(catalogue, "BCK-01", status_answers(None))
    assert never.status is Status.FAIL
    assert never.summary == "never backed up: no /var/lib/telework-backup/status.json"


def test_bck01_skips_the_backup_server_and_errs_on_a_hostile_status(
    catalogue: Catalogue,
) -> None:
    skipped = run(catalogue, "BCK-01", {}, host="backup")
    assert skipped.status is Status.SKIPPED
    with pytest.raises(ControlError, match=r"status\.json:1: result: Input should be"):
        run(catalogue, "BCK-01", status_answers(status(result="\x1b[31mok")))


def test_bck03_passes_for_an_append_only_copy_on_the_backup_server(catalogue: Catalogue) -> None:
    outcome = run(catalogue, "BCK-03", status_answers(status()))
    assert outcome.status is Status.PASS
    assert outcome.summary == "copied to backup, append-only"


def test_bck03_fails_a_copy_on_the_host_itself_or_not_append_only(catalogue: Catalogue) -> None:
    local = status(
        repository="ssh://borg@localhost/srv/backup/directory", backup_server="directory"
    )
    outcome = run(catalogue, "BCK-03", status_answers(local))
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "repository ssh://borg@localhost/srv/backup/directory is on the host itself; "
        "backup server directory is not another host of backup_servers (backup)"
    )
    writable = run(catalogue, "BCK-03", status_answers(status(append_only=False)))
    assert writable.summary == "the client's key is not restricted to append-only"


def test_bck04_passes_a_recent_verified_drill(catalogue: Catalogue) -> None:
    outcome = run(catalogue, "BCK-04", {r"last-drill\.json": file_answer(drill(days_ago=3))})
    assert outcome.status is Status.PASS
    assert outcome.summary == (
        "drill of directory-2026-11-20T02:00:00 passed 2 days ago: 57 files verified, RTO 42 s"
    )


def test_bck04_fails_an_old_a_failed_and_a_missing_drill(catalogue: Catalogue) -> None:
    old = run(catalogue, "BCK-04", {r"last-drill": file_answer(drill(days_ago=120))})
    assert old.status is Status.FAIL and old.summary == "last drill 119 days ago (at most 90)"
    bad = drill(
        result="failed",
        checks=[{"name": "directory: LDAP", "passed": False, "detail": "11 of 12"}],
        mismatches=["/etc/ldap/ldap.conf: sha256 differs from the manifest"],
    )
    failed = run(catalogue, "BCK-04", {r"last-drill": file_answer(bad)})
    assert failed.summary == ("last drill failed: directory: LDAP; 57 files verified, 1 differ")
    missing = run(catalogue, "BCK-04", {r"last-drill": file_answer(None)})
    assert missing.status is Status.FAIL and "toolkit backup drill directory" in missing.summary


FORCED = 'command="borg serve --append-only --restrict-to-repository /srv/backup/{h}",restrict'


def keys(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_bck02_key_lines_are_judged_one_by_one() -> None:
    good = keys(
        "# managed by roles/backup",
        f"{FORCED.format(h='directory')} {KEY} telework-backup:directory",
        f"{FORCED.format(h='mail')} {KEY} telework-backup:mail",
    )
    assert backup.key_problems(good, "/srv/backup") == (
        [],
        ["/srv/backup/directory", "/srv/backup/mail"],
    )
    bad = keys(
        f"{KEY} admin@laptop",
        f'command="borg serve --restrict-to-repository /srv/backup/a",restrict {KEY} a',
        f'command="borg serve --append-only --restrict-to-path /",restrict {KEY} b',
        f'command="borg serve --append-only --restrict-to-repository /srv/backup/c" {KEY} c',
        f"{FORCED.format(h='directory')} {KEY} d",
        f"{FORCED.format(h='directory')} {KEY} e",
    )
    problems, _ = backup.key_problems(bad, "/srv/backup")
    assert problems == [
        "line 1 (admin@laptop): key with no forced command",
        "line 2 (a): borg serve without --append-only",
        "line 3 (b): not restricted to one repository under /srv/backup",
        "line 4 (c): no 'restrict' option (forwarding, pty allowed)",
        "line 6 (e): /srv/backup/directory shared with another key",
    ]


@pytest.fixture(scope="module")
def repositories(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real borg repositories: two encrypted, one plain, one authenticated only."""
    if shutil.which("borg") is None:
        pytest.skip("borgbackup is not installed (./run setup)")
    root = tmp_path_factory.mktemp("srv-backup")
    data = root.parent / "data"
    data.mkdir(exist_ok=True)
    (data / "f").write_text("x\n")
    env = {
        "BORG_PASSPHRASE": "test",
        "BORG_BASE_DIR": str(root.parent / "home"),
        "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "yes",
        "PATH": "/usr/bin:/bin",
    }
    modes = {
        "directory": "repokey-blake2",
        "mail": "repokey",
        "collab": "none",
        "visio": "authenticated-blake2",
    }
    for name, mode in modes.items():
        repo = str(root / name)
        for argv in (["borg", "init", "-e", mode, repo], ["borg", "create", f"{repo}::a", "."]):
            subprocess.run(argv, env=env, cwd=data, check=True, capture_output=True, timeout=60)
    return root


def test_bck02_reads_each_repositorys_encryption_from_its_stored_objects(
    repositories: Path,
) -> None:
    listing = subprocess.run(
        ["sh", "-c", backup._repositories_command(str(repositories))],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert backup.repository_types(listing) == {
        "collab": "none",
        "directory": "repokey-blake2",
        "mail": "repokey",
        "visio": "authenticated-blake2",
    }


def bck02_answers(listing: str, authorized: str) -> dict[str, Answer | str]:
    return {
        r"getent passwd borg": "/srv/backup\n",
        r"authorized_keys": authorized,
        r"for d in": listing,
    }


def test_bck02_passes_forced_keys_and_encrypted_repositories(catalogue: Catalogue) -> None:
    listing = "seg directory " + " ".join(["0"] * 33 + ["5"]) + "\nrepo directory\n"
    authorized = keys(f"{FORCED.format(h='directory')} {KEY} telework-backup:directory")
    outcome = run(catalogue, "BCK-02", bck02_answers(listing, authorized), host="backup")
    assert outcome.status is Status.PASS
    assert outcome.summary == (
        "1 client keys append-only, each on its own repository; 1 repositories encrypted"
    )


def test_bck02_fails_a_plain_repository_and_an_unforced_key(catalogue: Catalogue) -> None:
    listing = "seg collab " + " ".join(["0"] * 33 + ["2"]) + "\nrepo collab\nrepo empty\n"
    authorized = keys(f"{KEY} admin@laptop")
    outcome = run(catalogue, "BCK-02", bck02_answers(listing, authorized), host="backup")
    assert outcome.status is Status.FAIL
    assert outcome.summary == (
        "line 1 (admin@laptop): key with no forced command; "
        "no client key in /srv/backup/.ssh/authorized_keys; "
        "repository collab: none, not encrypted; repository empty: unknown, not encrypted"
    )


def test_bck05_passes_a_complete_recent_plan_and_fails_an_incomplete_or_old_one(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backup, "work_dir", lambda: tmp_path)
    folder = tmp_path / "reports" / "continuity" / "lab"
    inventory = str(tmp_path / "inventories" / "lab")

    def judged(plan: continuity.Continuity, days_ago: int) -> Outcome:
        shutil.rmtree(folder, ignore_errors=True)
        plan.generated_at = datetime.now(UTC) - timedelta(days=days_ago)
        continuity.write(plan, folder)
        return run(catalogue, "BCK-05", {}, host="backup", inventory_path=inventory)

    missing = run(catalogue, "BCK-05", {}, host="backup", inventory_path=inventory)
    assert missing.status is Status.FAIL and missing.summary.startswith("no continuity plan")
    plan = continuity_plan()
    incomplete = judged(plan, 1)
    assert incomplete.status is Status.FAIL
    assert "collaboration_servers: missing owner (continuity_owner)" in incomplete.summary
    for p in plan.platforms:
        p.state, p.missing = ("repositories" if p.platform == "backup_servers" else "ok"), []
    complete = judged(plan, 1)
    assert complete.status is Status.PASS
    assert complete.summary.startswith("4 platforms with owner, RPO and measured RTO")
    stale = judged(plan, 40)
    assert stale.status is Status.FAIL and stale.summary == "the plan is 40 days old (at most 31)"
    plan.platforms = plan.platforms[1:]
    dropped = judged(plan, 1)
    assert dropped.summary == "backup_servers: not in the plan"
