"""The telework charter (M17, A19, A15): one document per teleworker, filled from the
roster and the inventory's ``charter/`` folder (``charter.html.j2`` and ``charter.yml``),
typeset as PDF by WeasyPrint (HarfBuzz and Pango shape the Arabic text, right to left),
then signed by the administration (:mod:`toolkit.report.charter_sign`).

The template is the administration's text, kept in the inventory: it is rendered in
Jinja's sandbox (variables and filters only), every value is HTML-escaped, and WeasyPrint
may read nothing but files of the charter folder (no network, no other file).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field

from toolkit.errors import InvalidInputError, Problem, ToolkitError
from toolkit.roster.model import Roster, Teleworker
from toolkit.yamlfile import load_model

log = logging.getLogger(__name__)

CHARTER_DIR = "charter"
TEMPLATE_FILE = "charter.html.j2"
SETTINGS_FILE = "charter.yml"
CLAUSES = ("M17", "A19", "A15", "A3", "A7", "A12", "E27")


class Bilingual(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    fr: str = Field(min_length=1, max_length=200)
    ar: str = Field(min_length=1, max_length=200)


class Support(BaseModel):
    """A12: where teleworkers get help."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    email: str = Field(min_length=3, max_length=254)
    phone: str = Field(default="", max_length=40)
    hours: str = Field(default="", max_length=40)


class CharterSettings(BaseModel):
    """``charter.yml``: who signs, where, the support contact and the retention told."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    administration: Bilingual
    signer: Bilingual
    place: Bilingual
    support: Support
    retention_days: int = Field(default=90, ge=1, le=3650)


@dataclass(frozen=True)
class CharterTemplate:
    folder: Path
    settings: CharterSettings
    env: SandboxedEnvironment


def load_template(folder: Path) -> CharterTemplate:
    """The charter folder's settings and template; InvalidInputError naming the file."""
    settings = load_model(folder / SETTINGS_FILE, CharterSettings)
    env = SandboxedEnvironment(
        loader=FileSystemLoader(folder),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    try:
        env.get_template(TEMPLATE_FILE)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None) or 1
        raise InvalidInputError(
            [Problem(str(folder / TEMPLATE_FILE), line, "-", f"template error: {exc}")]
        ) from exc
    return CharterTemplate(folder.resolve(), settings, env)


def _context(worker: Teleworker, roster: Roster, signed_on: date) -> dict[str, Any]:
    ref = roster.reference
    unit = ref.units[worker.unit]
    return {
        "t": {
            **worker.as_vars(),
            "approved_on": worker.approved_on.isoformat() if worker.approved_on else "",
        },
        "unit": {"id": worker.unit, "name": unit.name, "name_arabic": unit.name_arabic},
        "groups": {g: ref.vpn_groups[g].description for g in worker.vpn_groups},
        "signed_on": signed_on.isoformat(),
    }


def render_html(
    template: CharterTemplate, worker: Teleworker, roster: Roster, signed_on: date
) -> str:
    """The filled charter of ``worker`` as HTML."""
    try:
        return template.env.get_template(TEMPLATE_FILE).render(
            c=template.settings.model_dump(), **_context(worker, roster, signed_on)
        )
    except TemplateError as exc:
        line = getattr(exc, "lineno", None) or 1
        raise InvalidInputError(
            [Problem(str(template.folder / TEMPLATE_FILE), line, "-", f"template error: {exc}")]
        ) from exc


def _fetcher(folder: Path) -> Any:
    """A WeasyPrint URL fetcher that reads files of ``folder`` only."""
    # WeasyPrint loads Pango and HarfBuzz: imported when a charter is made, not at start.
    from weasyprint.urls import URLFetcher  # noqa: PLC0415

    class FolderOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            parsed = urlparse(url)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if path.is_relative_to(folder) and path.is_file():
                    return super().fetch(url, headers)
            log.warning("charter: refused to load %s", url[:200])
            raise ValueError(f"the charter may only use files of {folder}")

    return FolderOnly(allowed_protocols=("file",), allow_redirects=False)


def render_pdf(html: str, folder: Path) -> bytes:
    """Typeset the charter with WeasyPrint (HarfBuzz shaping, fonts from fontconfig)."""
    try:
        from weasyprint import HTML  # noqa: PLC0415 (Pango and HarfBuzz: see _fetcher)
    except OSError as exc:  # Pango or HarfBuzz missing
        raise ToolkitError(f"WeasyPrint cannot load its libraries: {exc}") from exc
    document = HTML(string=html, base_url=f"{folder.as_uri()}/", url_fetcher=_fetcher(folder))
    pdf: bytes = document.write_pdf()
    return pdf


def select(roster: Roster, idents: tuple[str, ...]) -> list[Teleworker]:
    """The teleworkers named (every eligible one when none is): an unknown or ineligible
    id is an InvalidInputError naming the roster, nothing is made."""
    if not idents:
        return [t for t in roster.teleworkers if t.eligible]
    chosen, problems = [], []
    for ident in idents:
        try:
            worker = roster.by_id(ident)
        except KeyError:
            problems.append(Problem(str(roster.path), 1, "id", f"no teleworker {ident!r}"))
            continue
        if refusal := worker.refusal():
            problems.append(Problem(str(roster.path), worker.line, "id", f"{worker.id}: {refusal}"))
        else:
            chosen.append(worker)
    if problems:
        raise InvalidInputError(problems)
    return chosen
