"""The capacity plan as a person and a machine read it: a rich table for the terminal, a
self-contained HTML report (the audit report's look and headings, matplotlib charts) and
JSON."""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape
from rich.table import Table
from rich.text import Text

from toolkit.capacity import charts
from toolkit.capacity.plan import Plan
from toolkit.roster.schedule import DAYS

#: Its own template first, then the shared look and macros of toolkit/report/templates.
_ENV = Environment(
    loader=ChoiceLoader(
        [
            PackageLoader("toolkit.capacity", "templates"),
            PackageLoader("toolkit.report", "templates"),
        ]
    ),
    autoescape=select_autoescape(["html", "j2"], default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(plan: Plan) -> str:
    peak, day, hour = plan.concurrency.peak
    known = sorted(
        plan.checks, key=lambda c: -1.0 if c.utilisation is None else c.utilisation, reverse=True
    )
    banner = {"carries": "go", "over capacity": "no-go"}.get(plan.verdict, "unknown")
    return _ENV.get_template("plan.html.j2").render(
        plan=plan,
        banner=banner,
        inventory_name=Path(plan.inventory).name,
        peak=peak,
        peak_day=f"{DAYS[day.weekday()]} {day.isoformat()}" if day else "",
        peak_hour=hour or 0,
        bottleneck=plan.bottleneck,
        checks=known,
        heatmap=charts.concurrency_heatmap(plan.concurrency),
        bars=charts.utilisation_bars(list(plan.checks)),
    )


def write_reports(plan: Plan, folder: Path) -> dict[str, Path]:
    """``capacity.html`` and ``capacity.json`` in ``folder``; kind -> path written."""
    folder.mkdir(parents=True, exist_ok=True)
    html, data = folder / "capacity.html", folder / "capacity.json"
    html.write_text(render_html(plan), encoding="utf-8")
    data.write_text(json.dumps(plan.as_json(), indent=2, ensure_ascii=False) + "\n", "utf-8")
    return {"html": html, "json": data}


def checks_table(plan: Plan) -> Table:
    """Every check, the bottleneck first among those with a capacity."""
    table = Table(title=f"Capacity at the peak: {plan.concurrency.peak[0]} teleworkers")
    for name in ("platform", "resource", "demand", "capacity", "use", "basis"):
        table.add_column(name, justify="right" if name in ("demand", "capacity", "use") else "left")
    bottleneck = plan.bottleneck
    ordered = sorted(
        plan.checks, key=lambda c: -1.0 if c.utilisation is None else c.utilisation, reverse=True
    )
    for c in ordered:
        u = c.utilisation
        use = (
            Text("not declared", style="dim")
            if u is None
            else Text(
                f"{100 * u:.0f} %",
                style="green" if u <= 0.8 else "yellow" if u <= 1 else "bold red",
            )
        )
        capacity = "-" if c.capacity is None else f"{c.capacity:,.2f} {c.unit}"
        table.add_row(
            Text(c.platform, style="bold" if c is bottleneck else ""),
            Text(c.resource),
            Text(f"{c.demand:,.2f} {c.unit}"),
            Text(capacity),
            use,
            Text(c.basis, style="dim"),
        )
    return table
