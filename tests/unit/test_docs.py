"""README.md is the front door (the two commands first, then a map, then links) and stays
short; each topic has its page under docs/. Every relative link of README.md and
docs/*.md points at a file of the repository."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO

README = REPO / "README.md"
DOCS = REPO / "docs"
#: [text](target): the target up to a space, a closing parenthesis or an anchor.
LINK = re.compile(r"\[[^\]\n]*\]\(\s*<?([^)\s#>]*)[^)]*\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def documents() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def relative_links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return [t for t in LINK.findall(text) if t and not EXTERNAL.match(t)]


def test_every_relative_link_points_at_a_file_that_exists() -> None:
    broken = [
        f"{path.relative_to(REPO)}: {target}"
        for path in documents()
        for target in relative_links(path)
        if not (path.parent / target).exists()
    ]
    assert broken == []


def test_the_pages_have_links_to_check() -> None:
    assert len(documents()) > 2
    assert relative_links(README)


def test_readme_stays_under_8_kb() -> None:
    assert README.stat().st_size < 8 * 1024


def test_readme_starts_with_the_two_commands() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# telework-toolkit"
    start = lines.index("```sh")
    assert start < 5
    assert lines[start + 1].startswith("./run lab ")
    assert lines[start + 2].startswith("./run test ")


def test_every_page_of_docs_is_linked_from_the_readme() -> None:
    linked = {(REPO / target).resolve() for target in relative_links(README)}
    assert [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked] == []


def test_a_broken_link_is_found() -> None:
    assert LINK.findall("[a](x.md) [b](../y.md#part) [c](https://example.invalid)") == [
        "x.md",
        "../y.md",
        "https://example.invalid",
    ]
