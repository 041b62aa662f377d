"""`toolkit byod` on a real Linux computer (M9, M10; BYOD-05, BYOD-06): one container of
the lab image (localhost/telework-debian:12) stands for teleworker a3's personal computer
pc-3. Its user, khadija (a normal account with a home folder, no administrator), runs the
collector of a `toolkit byod enrol` handout, and `toolkit byod review` judges the report.

Clean (a personal document in Documents), the computer passes BYOD-05 and BYOD-06. Then
nmap and hydra are installed with apt-get and two work documents are saved in the home
folder; a new enrolment's report fails both controls, naming the tools and the
documents, withdraws the approval the computer had from an earlier check, and
`toolkit vpn bundle` refuses it.

Only BYOD-05 and BYOD-06 are asserted: the others judge what a container is (seen on
Debian 12: BYOD-01, BYOD-02 and BYOD-07 pass, a wired computer; BYOD-03 fails, no
antivirus; BYOD-04 warns, no browser; BYOD-08 is an error, no desktop to read the screen
lock from), so neither review approves; every control is judged, none crashes. The
refusal of an unapproved computer and of an expired, replayed or tampered report:
tests/byod/test_review.py.

Needs podman and the lab image (built first when it is missing and this runs as root, as
the Molecule scenarios do). The container mounts the machine's apt cache as the lab and
the Molecule scenarios do: after a first run apt-get downloads only its package lists.

    .venv/bin/pytest tests/integration/test_byod_container.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.byod.test_review import assert_no_bundle, inventory
from toolkit.adapters.podman import Podman, podman_env
from toolkit.adapters.process import run
from toolkit.audit.model import Status
from toolkit.audit.results import AuditReport, ControlResult
from toolkit.byod.envelope import parse_facts, read_envelope
from toolkit.byod.facts import Facts
from toolkit.byod.store import REVIEWS_DIR, Approval, current_approval, save_approval
from toolkit.cli.main import cli
from toolkit.exitcodes import ExitCode
from toolkit.lab.image import apt_cache_volumes, build_image, image_ref

pytestmark = pytest.mark.lab
__all__ = ["inventory"]  # the inventory fixture (roster and VPN gateway) of the review tests

RELEASE = "bookworm"
USER = "khadija"
HOME = f"/home/{USER}"
TOKEN_VARIABLE = "TELEWORK_BYOD_TOKEN"
#: The container ends by itself after this (and --rm removes it) should the teardown not run.
LIFETIME_S = 1800
INSTALL = (
    "export DEBIAN_FRONTEND=noninteractive; apt-get update -q >/dev/null && "
    "apt-get install -y -q --no-install-recommends nmap hydra >/dev/null"
)
PERSONAL = "Documents/recettes.docx"
#: Work documents: path in the home folder -> (their text, the marker BYOD-06 names).
WORK_DOCUMENTS = {
    "Documents/note-de-service.docx": (
        "Note de service n 12. DIFFUSION RESTREINTE",
        "DIFFUSION RESTREINTE",
    ),
    # the roster's mail domain is a marker too
    "compte-rendu.odt": ("Compte rendu pour khadija@example.gov.ma", "@example.gov.ma"),
}
CONTROLS = [f"BYOD-0{i}" for i in range(1, 9)]


class Computer:
    """The personal computer: a container where khadija has an account and a home folder.
    Every podman call has a time limit."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.podman = Podman(timeout=120.0)

    def start(self, image: str) -> None:
        volumes = [arg for v in apt_cache_volumes(RELEASE) for arg in ("--volume", v)]
        self.podman(
            *("run", "--detach", "--rm", "--name", self.name, "--hostname", "pc-3"),
            *("--label", "io.telework.test=byod", "--stop-signal", "KILL", *volumes),
            *(image, "sleep", str(LIFETIME_S)),
            timeout=60,
        )
        self.podman("exec", self.name, "useradd", "--create-home", USER, timeout=30)

    def as_user(
        self, *argv: str, workdir: str = HOME, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``argv`` run by khadija; ``env``'s values reach the container through podman's
        own environment (``--env NAME``), never its command line."""
        names = [arg for name in env or {} for arg in ("--env", name)]
        return run(
            ["podman", "exec", "--user", USER, "--workdir", workdir, *names, self.name, *argv],
            env={**podman_env(), **(env or {})},
            timeout=120,
        )

    def put(self, source: Path, relative: str) -> None:
        """Copy a host file into khadija's home folder, as hers."""
        target = f"{HOME}/{relative}"
        self.as_user("mkdir", "-p", str(Path(target).parent))
        self.podman("cp", str(source), f"{self.name}:{target}", timeout=60)
        self.podman("exec", self.name, "chown", f"{USER}:{USER}", target, timeout=30)

    def install_hacking_tools(self) -> None:
        self.podman("exec", self.name, "sh", "-c", INSTALL, timeout=600)

    def remove(self) -> None:
        self.podman.remove(self.name)


@pytest.fixture
def computer() -> Iterator[Computer]:
    if shutil.which("podman") is None:
        pytest.skip("needs podman (./run setup installs it)")
    image = image_ref(RELEASE)
    if os.geteuid() == 0:
        build_image(RELEASE)  # nothing to do when the image of its recipe exists
    elif Podman().image_labels(image) is None:
        pytest.skip(f"{image} is not built and building it needs root (toolkit lab up)")
    box = Computer(f"telework-byod-test-{os.getpid()}")
    try:
        box.start(image)
        yield box
    finally:
        box.remove()


def office_file(path: Path, text: str) -> Path:
    """A minimal .docx or .odt holding ``text`` in the XML part a word processor keeps its
    text in."""
    part = "content.xml" if path.suffix == ".odt" else "word/document.xml"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype" if path.suffix == ".odt" else "[Content_Types].xml", "x")
        zf.writestr(part, f"<doc><p>{text}</p></doc>")
    return path


def cli_run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@dataclass(frozen=True)
class CheckRun:
    """What one check of the computer gave: the report's facts, the review command's
    result and each control's result in the review's JSON report."""

    facts: Facts
    reviewed: Result
    results: dict[str, ControlResult]

    def status(self, control: str) -> Status:
        return self.results[control].status


def check(computer: Computer, inventory: Path, tmp_path: Path, run_name: str) -> CheckRun:
    """Enrol pc-3, run the collector of the handout as khadija, review the report."""
    enrolled = cli_run("byod", "enrol", "-i", str(inventory), "a3", "pc-3", "--by", "SSI")
    assert enrolled.exit_code == 0, enrolled.output
    token = re.search(r"^token: +(\S+)$", enrolled.stdout, re.M)
    handout = re.search(r"^collector: (.+\.zip)$", enrolled.stdout, re.M)
    assert token is not None and handout is not None, enrolled.stdout
    folder = f"{HOME}/byod-check-{run_name}"
    computer.put(Path(handout.group(1)), f"byod-check-{run_name}/handout.zip")
    computer.as_user("python3", "-m", "zipfile", "-e", "handout.zip", ".", workdir=folder)
    collected = computer.as_user(
        *("python3", "-I", "byod_collect.py", "--output", "report.json"),
        workdir=folder,
        env={TOKEN_VARIABLE: token.group(1)},
    )
    assert "report written to report.json" in collected.stdout, collected.stdout
    report = tmp_path / f"byod-report-{run_name}.json"
    report.write_text(computer.as_user("cat", "report.json", workdir=folder).stdout)
    reviewed = cli_run("byod", "review", "-i", str(inventory), str(report), "--by", "SSI")
    token_id = token.group(1).split(".")[0]
    json_report = inventory / REVIEWS_DIR / token_id / "report.json"
    assert json_report.is_file(), reviewed.output  # judged, not refused before
    judged = AuditReport.model_validate_json(json_report.read_text())
    results = {r.control: r for r in judged.hosts[0].results}
    facts = parse_facts(read_envelope(report))
    return CheckRun(facts, reviewed, results)


def test_clean_it_passes_byod_05_and_06_with_nmap_hydra_and_work_documents_it_fails_them_and_gets_no_vpn_bundle(
    computer: Computer,
    inventory: Path,
    tmp_path: Path,
) -> None:
    computer.put(office_file(tmp_path / "recettes.docx", "Tajine aux pruneaux"), PERSONAL)

    clean = check(computer, inventory, tmp_path, "clean")
    assert sorted(clean.results) == CONTROLS, clean.reviewed.output
    assert clean.facts.problems == [], clean.facts.problems  # every fact gathered
    assert clean.facts.tools is not None and clean.facts.tools.found == []
    assert clean.facts.work_data is not None and clean.facts.work_data.scanned == 1
    assert clean.status("BYOD-05") is Status.PASS, clean.reviewed.output
    assert clean.results["BYOD-05"].summary == "none of 21 hacking tools found"
    assert clean.status("BYOD-06") is Status.PASS, clean.reviewed.output
    assert clean.results["BYOD-06"].summary == "no work data in 1 documents"
    assert "internal error" not in clean.reviewed.output

    # The computer was approved at an earlier check (at the unit's desk, say).
    now = datetime.now(UTC).replace(microsecond=0)
    earlier = Approval(
        teleworker="a3",
        device="pc-3",
        approved_by="SSI",
        approved_at=now - timedelta(days=10),
        expires_at=now + timedelta(days=80),
        report_sha256="0" * 64,
        token_id="0" * 16,
        review="-",
    )
    save_approval(inventory, earlier)
    assert current_approval(inventory, "a3", "pc-3", now) is not None

    computer.install_hacking_tools()
    for relative, (text, _) in WORK_DOCUMENTS.items():
        computer.put(office_file(tmp_path / Path(relative).name, text), relative)

    dirty = check(computer, inventory, tmp_path, "dirty")
    assert dirty.facts.tools is not None
    assert {f.name for f in dirty.facts.tools.found} == {"nmap", "hydra"}
    tools = dirty.results["BYOD-05"]
    assert (tools.status, tools.blocking) == (Status.FAIL, True), dirty.reviewed.output
    assert tools.summary == "hacking tools installed: hydra, nmap"
    assert {"nmap: /usr/bin/nmap", "hydra: /usr/bin/hydra"} <= set(tools.details)
    assert dirty.facts.work_data is not None and dirty.facts.work_data.scanned == 3
    documents = dirty.results["BYOD-06"]
    assert (documents.status, documents.blocking) == (Status.FAIL, True), dirty.reviewed.output
    assert documents.summary == "work data on the computer: 2 documents"
    assert documents.details == [
        f"{path} ({marker})" for path, (_, marker) in WORK_DOCUMENTS.items()
    ]
    assert "internal error" not in dirty.reviewed.output

    assert dirty.reviewed.exit_code == ExitCode.CHECK_FAILED, dirty.reviewed.output
    assert "a3 pc-3: not approved; its earlier approval is withdrawn" in dirty.reviewed.stdout
    assert current_approval(inventory, "a3", "pc-3", datetime.now(UTC)) is None
    assert_no_bundle(inventory)
