"""Charts of the indicators report (A18), drawn by matplotlib as inline SVG: no script and
no outside resource, the report stays one file. Text stays text (searchable, the page's
font) and element ids are stable, so the same figures give the same file."""

from __future__ import annotations

import io

import matplotlib as mpl

mpl.use("Agg")
from matplotlib.figure import Figure

from toolkit.report.indicators import Indicators

GO, NOGO, WARN, MUTED, BLUE = "#1a7f37", "#b42318", "#9a6700", "#8c959f", "#0969da"
_STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "telework-indicators",
    "font.family": "sans-serif",
    "font.size": 10,
}


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]


def teleworkers_by_unit(ind: Indicators) -> str:
    """Active teleworkers per unit, partial and full stacked, beside the unit's staff."""
    with mpl.rc_context(_STYLE):  # type: ignore[arg-type]
        fig = Figure(figsize=(6.4, 3.0))
        ax = fig.subplots()
        names = [u.unit for u in ind.units]
        partial = [u.partial for u in ind.units]
        full = [u.full for u in ind.units]
        ax.bar(names, partial, color=BLUE, label="partial")
        ax.bar(names, full, bottom=partial, color=WARN, label="full")
        ax.scatter(
            names, [u.staff for u in ind.units], marker="_", s=600, color=MUTED, label="staff"
        )
        ax.set_ylabel("agents")
        ax.set_title("Active teleworkers per unit and mode (A18, C1)")
        ax.legend(loc="upper right", fontsize=8)
        return _svg(fig)


def onsite_against_minimum(ind: Indicators) -> str:
    """C3: the week's lowest on-site head-count per unit against its minimum."""
    with mpl.rc_context(_STYLE):  # type: ignore[arg-type]
        fig = Figure(figsize=(6.4, 3.0))
        ax = fig.subplots()
        names = [u.unit for u in ind.units]
        colours = [NOGO if u.short_days else GO for u in ind.units]
        ax.bar(names, [u.onsite_lowest for u in ind.units], color=colours, label="lowest on site")
        ax.scatter(
            names,
            [u.min_onsite for u in ind.units],
            marker="_",
            s=600,
            color="#1f2328",
            label="minimum",
        )
        ax.set_ylabel("agents on site")
        ax.set_title("On-site head-count against the unit minimum (C3)")
        ax.legend(loc="upper right", fontsize=8)
        return _svg(fig)


def vpn_use(ind: Indicators) -> str:
    """Teleworkers with VPN activity per working day of the period."""
    with mpl.rc_context(_STYLE):  # type: ignore[arg-type]
        fig = Figure(figsize=(6.4, 3.0))
        ax = fig.subplots()
        labels = [f"{d.day:%a %d/%m}" for d in ind.vpn.days]
        ax.bar(labels, [d.active_teleworkers for d in ind.vpn.days], color=BLUE)
        ax.axhline(ind.active, color=MUTED, linestyle="--", label="active teleworkers")
        ax.set_ylabel("teleworkers")
        ax.set_title("Teleworkers using the VPN per day (A18)")
        ax.legend(loc="lower right", fontsize=8)
        ax.tick_params(axis="x", labelrotation=30)
        return _svg(fig)


def findings_by_severity(ind: Indicators) -> str:
    """Open findings of the last audit by severity (M8)."""
    with mpl.rc_context(_STYLE):  # type: ignore[arg-type]
        fig = Figure(figsize=(6.4, 2.6))
        ax = fig.subplots()
        severities = list(ind.audit.open_findings)
        colours = {"critical": NOGO, "high": NOGO, "medium": WARN, "low": MUTED}
        ax.barh(
            severities,
            [ind.audit.open_findings[s] for s in severities],
            color=[colours.get(s, MUTED) for s in severities],
        )
        ax.invert_yaxis()
        ax.set_xlabel("open findings")
        ax.set_title("Open findings of the last audit (M8)")
        return _svg(fig)


def all_charts(ind: Indicators) -> dict[str, str]:
    """Chart id -> SVG; a chart whose source is missing is left out."""
    charts = {
        "chart-teleworkers": teleworkers_by_unit(ind),
        "chart-onsite": onsite_against_minimum(ind),
    }
    if ind.vpn.available:
        charts["chart-vpn"] = vpn_use(ind)
    if ind.audit.available:
        charts["chart-findings"] = findings_by_severity(ind)
    return charts
