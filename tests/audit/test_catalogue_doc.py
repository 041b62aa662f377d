"""The control catalogue lives in the project: ``toolkit audit controls`` prints every
control of audits/, and docs/controls.md is its Markdown output, kept in step by a test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.audit.conftest import AUDITS
from tests.conftest import REPO
from toolkit.adapters.ansible import InventoryHost
from toolkit.audit import engine
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.targets import plan, select_hosts
from toolkit.cli.main import cli
from toolkit.errors import SelectionError
from toolkit.report.controls import REGENERATE, as_markdown

DOC = REPO / "docs" / "controls.md"


def test_docs_controls_md_is_the_markdown_catalogue_of_audits() -> None:
    expected = as_markdown(engine.load(AUDITS))
    found = DOC.read_text(encoding="utf-8") if DOC.is_file() else ""
    assert found == expected, (
        f"docs/controls.md is not the catalogue of audits/: regenerate it with `{REGENERATE}`"
    )


def test_the_json_catalogue_gives_every_control_with_its_clause_texts_and_defaults(
    catalogue: Catalogue,
) -> None:
    result = CliRunner().invoke(cli, ["audit", "controls", "--format", "json"])
    assert result.exit_code == 0, result.output
    controls = {c["id"]: c for c in json.loads(result.stdout)["controls"]}
    assert set(controls) == set(catalogue.controls)
    lnx01 = controls["LNX-01"]
    assert lnx01["severity"] == "high"
    assert lnx01["guide"][0] == {"id": "M12", "text": catalogue.requirements["M12"]}
    assert lnx01["groups"] == ["servers"]
    assert lnx01["params"]["max_pending_days"] == 7
    assert "00-servers" in lnx01["profiles"]
    assert lnx01["source"] == "audits/controls/linux.yml"


def test_the_markdown_catalogue_has_a_section_per_control_with_its_clauses(
    catalogue: Catalogue,
) -> None:
    result = CliRunner().invoke(cli, ["audit", "controls", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    for cid, control in catalogue.controls.items():
        assert f"\n## {cid}\n" in result.stdout
        for clause in control.spec.guide:
            assert f"  - {clause}: " in result.stdout


def test_the_table_catalogue_names_every_control() -> None:
    result = CliRunner().invoke(cli, ["audit", "controls"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "LNX-11" in result.stdout
    assert "VPN-02" in result.stdout


def test_a_catalogue_with_an_invalid_file_is_refused_with_exit_4(tmp_path: Path) -> None:
    root = tmp_path / "audits"
    shutil.copytree(AUDITS, root)
    (root / "controls" / "extra.yml").write_text("controls:\n  LNX-99: {title: x}\n")
    result = CliRunner().invoke(cli, ["audit", "controls", "--audits", str(root)])
    assert result.exit_code == 4
    assert "extra.yml" in result.stderr


def test_running_the_audit_is_still_toolkit_audit_with_its_options() -> None:
    result = CliRunner().invoke(cli, ["audit", "--help"])
    assert result.exit_code == 0
    assert "--fail-on" in result.output
    assert "controls" in result.output.split("Commands:")[1]


def test_an_engine_error_says_what_is_wrong_and_the_cli_names_the_option(
    catalogue: Catalogue,
) -> None:
    host = InventoryHost("mail", {}, frozenset({"servers"}))
    with pytest.raises(SelectionError) as unknown:
        plan(catalogue, [host], Path("/inv"), controls=("LNX-42",))
    assert str(unknown.value) == "unknown control: LNX-42"
    with pytest.raises(SelectionError) as nothing:
        select_hosts({"mail": host}, "gateway")
    assert str(nothing.value) == "no host matches: gateway"
    assert "--" not in str(unknown.value) + str(nothing.value)
