"""One real run of the Linux collector on this machine, with the system's own python3 in
isolated mode (no site packages: the standard library alone), its home folder a
temporary one: the report's verdicts are whatever this machine is; its structure and
seal are checked by the review."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.byod.test_review import enrol_now, review_now
from toolkit.audit.model import Status
from toolkit.audit.results import Verdict
from toolkit.byod.envelope import parse_facts, read_envelope, verify
from toolkit.byod.store import TokenState, load_token

PYTHON3 = shutil.which("python3")


@pytest.mark.skipif(PYTHON3 is None, reason="no python3 on PATH")
def test_the_collector_runs_here_and_its_sealed_report_is_reviewed(
    env_dir: Path, tmp_path: Path
) -> None:
    made = enrol_now(env_dir)
    work, home = tmp_path / "handout", tmp_path / "home"
    home.mkdir()
    with zipfile.ZipFile(made.handout) as zf:
        zf.extractall(work)
    env = {**os.environ, "HOME": str(home), "TELEWORK_BYOD_TOKEN": made.token}
    done = subprocess.run(
        [str(PYTHON3), "-I", str(work / "byod_collect.py"), "--output", str(tmp_path / "r.json")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "report written to" in done.stdout
    envelope = read_envelope(tmp_path / "r.json")
    verify(envelope, bytes.fromhex(made.record.key_sha256))
    facts = parse_facts(envelope)
    assert (facts.teleworker, facts.device, facts.token_id) == ("a3", "pc-3", made.record.token_id)
    assert facts.os is not None and facts.os.family == "linux"
    assert facts.work_data is not None and facts.work_data.scanned == 0
    review = review_now(env_dir, tmp_path / "r.json")
    results = review.report.hosts[0].results
    assert [r.control for r in results] == [f"BYOD-0{i}" for i in range(1, 9)]
    assert all(r.status in Status for r in results)
    assert review.report.verdict in (Verdict.GO, Verdict.NO_GO)
    assert load_token(env_dir, made.record.token_id).state is TokenState.USED
