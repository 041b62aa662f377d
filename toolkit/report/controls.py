"""The control catalogue of ``audits/`` as a person reads it: ``toolkit audit controls``
prints it as a terminal table, Markdown (``docs/controls.md`` is that output) or JSON.

Each control with its ID, title, rationale, severity, guide clauses and their text
(``audits/requirements.yml``), references, the inventory groups it may apply to, the
profiles that run it, and its parameters with their defaults. The output depends only on
the files of ``audits/``: the same files give the same text, byte for byte."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from toolkit.audit.catalogue import Catalogue, Control

#: How docs/controls.md is made; its test prints this when the file is out of date.
REGENERATE = ".venv/bin/toolkit audit controls --format markdown > docs/controls.md"


class Format(StrEnum):
    TABLE = "table"
    MARKDOWN = "markdown"
    JSON = "json"


def _source(catalogue: Catalogue, control: Control) -> str:
    """The control's file, relative to the folder above audits/ (``audits/controls/x.yml``)."""
    path = Path(control.source)
    try:
        return str(path.relative_to(catalogue.root.parent))
    except ValueError:
        return path.name


def _profiles(catalogue: Catalogue, control_id: str) -> list[str]:
    return [p.name for p in catalogue.profiles if control_id in p.spec.controls]


def as_data(catalogue: Catalogue) -> dict[str, Any]:
    """Every control as plain data (the JSON format), in catalogue order."""
    controls = []
    for cid, control in catalogue.controls.items():
        spec = control.spec
        controls.append(
            {
                "id": cid,
                "title": spec.title,
                "rationale": spec.rationale,
                "severity": str(spec.severity),
                "guide": [{"id": c, "text": catalogue.requirements.get(c, "")} for c in spec.guide],
                "refs": list(spec.refs),
                "groups": list(spec.groups),
                "profiles": _profiles(catalogue, cid),
                "params": dict(spec.params),
                "source": _source(catalogue, control),
            }
        )
    return {"controls": controls}


def as_json(catalogue: Catalogue) -> str:
    return json.dumps(as_data(catalogue), indent=2, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, no column separator."""
    return " ".join(text.split()).replace("|", "\\|")


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def as_markdown(catalogue: Catalogue) -> str:
    """The catalogue as Markdown: a summary table, then one section per control."""
    data = as_data(catalogue)["controls"]
    lines = [
        "# Audit controls",
        "",
        f"<!-- Generated from audits/ by `{REGENERATE}`; do not edit by hand. -->",
        "",
        "Every control `toolkit audit` runs: its data in `audits/controls/*.yml`, the profiles",
        "that run it in `audits/profiles/*.yml`, its code in `toolkit/controls/` (a function",
        'decorated `@control("ID")`), the text of its guide clauses in',
        "`audits/requirements.yml`. A profile or the inventory variable `audit_params` may",
        "override a parameter's default.",
        "",
        "| ID | title | severity | guide | groups |",
        "|---|---|---|---|---|",
    ]
    for c in data:
        guide = ", ".join(g["id"] for g in c["guide"])
        lines.append(
            f"| [{c['id']}](#{c['id'].lower()}) | {_cell(c['title'])} | {c['severity']} "
            f"| {guide} | {', '.join(c['groups'])} |"
        )
    for c in data:
        lines += ["", f"## {c['id']}", "", f"**{_cell(c['title'])}**", ""]
        lines += [" ".join(c["rationale"].split()), ""]
        lines.append(f"- severity: {c['severity']}")
        lines.append("- guide:")
        lines += [f"  - {g['id']}: {_cell(g['text'])}" for g in c["guide"]]
        lines.append(f"- references: {', '.join(c['refs']) or 'none'}")
        lines.append(f"- groups: {', '.join(f'`{g}`' for g in c['groups'])}")
        lines.append(f"- profiles: {', '.join(c['profiles']) or 'none'}")
        if c["params"]:
            lines.append("- parameters (defaults):")
            lines += [f"  - `{name}`: `{_value(v)}`" for name, v in c["params"].items()]
        else:
            lines.append("- parameters: none")
        lines.append(f"- defined in: `{c['source']}`")
    return "\n".join(lines) + "\n"


def as_table(catalogue: Catalogue) -> Table:
    """The catalogue as a terminal table, one row a control."""
    table = Table(title="Audit controls", show_lines=True)
    for column in ("ID", "severity", "title", "guide", "refs", "groups", "parameters"):
        table.add_column(column, overflow="fold")
    for c in as_data(catalogue)["controls"]:
        cells = (
            c["id"],
            c["severity"],
            c["title"],
            "\n".join(f"{g['id']} {g['text']}" for g in c["guide"]),
            ", ".join(c["refs"]),
            ", ".join(c["groups"]),
            "\n".join(f"{k} = {_value(v)}" for k, v in c["params"].items()),
        )
        table.add_row(*(Text(cell) for cell in cells))  # data text, never Rich markup
    return table
