"""Comments and messages point at files of this repository: the control catalogue is
docs/controls.md (generated from audits/), the clause texts audits/requirements.yml, the lab
docs/lab.md; no file names a document kept elsewhere."""

from __future__ import annotations

import re

from tests.conftest import REPO

FOLDERS = ("toolkit", "roles", "audits", "tests", "bench", "playbooks", "plugins")
ELSEWHERE = re.compile(r"\.\./shared|\bshared/|\b(?:CONTROLS|REQUIREMENTS|ARCHITECTURE|LAB)\.md\b")
THIS = "test_references.py"
SUFFIXES = {".py", ".yml", ".yaml", ".md", ".j2", ".json", ".cfg", ".txt"}


def test_no_file_points_at_a_document_that_is_not_in_the_repository() -> None:
    found = []
    for folder in FOLDERS:
        for path in sorted((REPO / folder).rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file() or path.name == THIS:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if ELSEWHERE.search(line):
                    found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert found == [], "point these at docs/controls.md, audits/requirements.yml or docs/*.md"


def test_the_documents_the_comments_point_at_exist() -> None:
    assert (REPO / "docs" / "controls.md").is_file()
    assert (REPO / "audits" / "requirements.yml").is_file()
    assert (REPO / "docs" / "lab.md").is_file()
