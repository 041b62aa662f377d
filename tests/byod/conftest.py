"""Helpers for the BYOD tests: an inventory with the good roster (a3 owns personal
computer pc-3), the Linux/macOS collector loaded from its file, recorded command outputs
and fake computers (a root folder, a home folder, a program folder)."""

from __future__ import annotations

import json
import stat
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import REPO
from tests.loading import load_module
from toolkit.audit import engine
from toolkit.audit.catalogue import Severity
from toolkit.audit.model import Status
from toolkit.audit.registry import implementations
from toolkit.byod import windows
from toolkit.byod.device import device_plan, search_spec
from toolkit.byod.enrol import Enrolment, enrol
from toolkit.byod.facts import Facts
from toolkit.byod.review import judge
from toolkit.roster import load_environment_roster

FIXTURES = Path(__file__).parent / "fixtures"
COLLECTOR = REPO / "toolkit" / "byod" / "collectors" / "byod_collect.py"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


#: What the collector looks for on a computer of the fixture roster: the checkout's
#: controls and profiles, and the roster's mail domain (example.gov.ma) as a marker.
PLANNED = device_plan(engine.load(), Path("/inventory"), "pc-3", ("example.gov.ma",))
SEARCH: dict[str, Any] = {**search_spec(PLANNED), "max_files": 100, "max_depth": 3}


def judged(facts: dict[str, Any]) -> dict[str, Status]:
    """Each BYOD control's status on these facts, as the review judges them."""
    model = Facts.model_validate(
        {
            "format": "telework-byod-facts/1",
            "teleworker": "a3",
            "device": "pc-3",
            "token_id": "0123456789abcdef",
            "collected_at": "2026-11-25T09:00:00Z",
            "collector": "test",
            **facts,
        },
        strict=False,
    )
    report = judge(
        windows.complete(model),
        PLANNED,
        implementations(),
        engine.load(),
        source="test",
        fail_on=Severity.MEDIUM,
        now=NOW,
    )
    return {r.control: r.status for r in report.hosts[0].results}


def load_collector() -> ModuleType:
    return load_module(COLLECTOR, "byod_collect")


collector = load_collector()


def recorded(
    folder: str, table: Mapping[str, str | None]
) -> Callable[[list[str]], tuple[int, str]]:
    """A runner answering each command (argv joined by spaces; a key ending in ``*``
    matches the commands it starts) with the recorded output file of ``table``
    (``RC:file`` for another exit code than 0; None: the program fails); any other
    command is not installed."""

    def run(argv: list[str]) -> tuple[int, str]:
        command = " ".join(argv)
        key = next(
            (k for k in table if k == command or (k.endswith("*") and command.startswith(k[:-1]))),
            None,
        )
        if key is None:
            return 127, ""
        name = table[key]
        if name is None:
            return 1, "failed\n"
        rc, _, name = name.rpartition(":") if ":" in name else ("0", "", name)
        return int(rc), (FIXTURES / folder / name).read_text(encoding="utf-8")

    return run


@dataclass
class Computer:
    """A fake computer: its root, home and program folders."""

    root: Path
    home: Path
    bin: Path

    def install(self, *names: str) -> None:
        for name in names:
            path = self.bin / name
            path.write_text("#!/bin/sh\n")
            path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def document(self, relative: str, text: str) -> Path:
        path = self.home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".docx":
            with zipfile.ZipFile(path, "w") as zf:
                zf.writestr("[Content_Types].xml", "<Types/>")
                zf.writestr("word/document.xml", f"<w:document><w:t>{text}</w:t></w:document>")
        else:
            path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def computer(tmp_path: Path) -> Computer:
    root, home, bin_dir = tmp_path / "root", tmp_path / "home", tmp_path / "bin"
    for folder in (
        root / "etc",
        root / "var" / "log",
        root / "var" / "lib" / "dpkg",
        home,
        bin_dir,
    ):
        folder.mkdir(parents=True)
    (root / "etc" / "os-release").write_text((FIXTURES / "linux" / "os-release").read_text())
    (root / "var" / "log" / "dpkg.log").write_text((FIXTURES / "linux" / "dpkg.log").read_text())
    for place in ("Desktop", "Documents", "Downloads"):
        (home / place).mkdir()
    return Computer(root, home, bin_dir)


@pytest.fixture
def enrolled(env_dir: Path) -> Enrolment:
    """Personal computer pc-3 of a3 enrolled now, with the checkout's controls."""
    roster = load_environment_roster(env_dir)
    return enrol(env_dir, roster, engine.load(), "a3", "pc-3", by="unit", now=NOW, days=7)


def enrolment_of(made: Enrolment) -> dict[str, Any]:
    with zipfile.ZipFile(made.handout) as zf:
        data: dict[str, Any] = json.loads(zf.read("enrolment.json"))
    return data


def write_report(path: Path, made: Enrolment, facts: dict[str, Any], *, at: datetime = NOW) -> Path:
    """The report the collector would write for these facts, sealed with the token."""
    path.write_text(collector.sealed_report(enrolment_of(made), made.token, facts, at))
    return path
