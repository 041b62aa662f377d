"""The collectors themselves: the Python one runs on Python 3.9 with the standard library
alone; the PowerShell one parses (PowerShell grammar; PSScriptAnalyzer needs PowerShell,
which this machine has not), assigns no automatic variable, and both speak the formats
the review reads."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

from tests.byod.conftest import COLLECTOR, collector
from toolkit.byod.enrol import COLLECTORS, ENROLMENT_FORMAT, collector_text
from toolkit.byod.envelope import REPORT_FORMAT
from toolkit.byod.facts import FACTS_FORMAT

PS1 = COLLECTOR.with_name("byod_collect.ps1")
#: PowerShell's automatic variables a script must not assign (PSScriptAnalyzer's
#: PSAvoidAssignmentToAutomaticVariable; $HOME is read-only and throws; $null = x discards).
AUTOMATIC = (
    "home",
    "input",
    "args",
    "error",
    "host",
    "pid",
    "pwd",
    "true",
    "false",
    "_",
    "psitem",
    "matches",
    "this",
    "myinvocation",
    "profile",
    "pscmdlet",
)


def errors(node: Node) -> list[str]:
    found = []
    if node.type == "ERROR" or node.is_missing:
        found.append(f"line {node.start_point[0] + 1}: {node.text!r}"[:120])
    for child in node.children:
        found += errors(child)
    return found


def test_the_python_collector_parses_as_python_3_9_and_imports_only_the_standard_library() -> None:
    tree = ast.parse(COLLECTOR.read_text(encoding="utf-8"), feature_version=(3, 9))
    imported = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    imported |= {
        n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
    assert "match" not in {type(n).__name__.lower() for n in ast.walk(tree)}


def test_the_powershell_collector_parses_without_error() -> None:
    parser = Parser(Language(tree_sitter_powershell.language()))
    assert errors(parser.parse(PS1.read_bytes()).root_node) == []
    broken = b"function Get-X { if ($a -eq ) { }"
    assert errors(parser.parse(broken).root_node) != []  # the check can fail


def test_the_powershell_collector_assigns_no_automatic_variable() -> None:
    pattern = re.compile(rf"^\s*\$({'|'.join(AUTOMATIC)})\s*=(?!=)", re.I | re.M)
    assert pattern.findall(PS1.read_text(encoding="utf-8")) == []
    assert pattern.findall("    $home = 'C:\\\\Users'\n") == ["home"]


def test_both_collectors_speak_the_formats_the_review_reads() -> None:
    text = PS1.read_text(encoding="utf-8")
    for name, value in (
        ("FactsFormat", FACTS_FORMAT),
        ("ReportFormat", REPORT_FORMAT),
        ("EnrolmentFormat", ENROLMENT_FORMAT),
    ):
        assert f"${name} = '{value}'" in text
    assert (collector.FACTS_FORMAT, collector.REPORT_FORMAT, collector.ENROLMENT_FORMAT) == (
        FACTS_FORMAT,
        REPORT_FORMAT,
        ENROLMENT_FORMAT,
    )


def test_the_collectors_ship_as_package_data() -> None:
    for name in COLLECTORS:
        assert collector_text(name) == COLLECTOR.with_name(name).read_bytes()


def test_the_python_collector_uses_no_api_newer_than_mypy_s_oldest_python() -> None:
    """mypy checks the standard library's API by version; 3.10 is the oldest it knows
    (3.9's syntax is checked above, and ruff lints the file with target py39)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--python-version",
            "3.10",
            "--no-incremental",
            str(COLLECTOR),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
