"""The JSON report and its JSON Schema (``audit-report.schema.json`` beside this module,
generated from toolkit.audit.results; ``python -m toolkit.report.json`` rewrites it)."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from toolkit.audit.results import AuditReport

SCHEMA_FILE = Path(str(files("toolkit.report").joinpath("audit-report.schema.json")))


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every JSON report follows."""
    generated = AuditReport.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://telework-toolkit.invalid/audit-report.schema.json",
        **generated,
    }


def render(report: AuditReport) -> str:
    return report.model_dump_json(indent=2) + "\n"


def write(report: AuditReport, path: Path) -> Path:
    path.write_text(render(report), encoding="utf-8")
    return path


def main() -> None:
    SCHEMA_FILE.write_text(json.dumps(schema(), indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
