"""Charts of the capacity report, drawn by matplotlib as inline SVG (no script, no outside
resource: the report stays one self-contained file)."""

from __future__ import annotations

import io
from contextlib import AbstractContextManager

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from toolkit.capacity.concurrency import Concurrency
from toolkit.capacity.plan import Check
from toolkit.roster.schedule import DAYS


def _style() -> AbstractContextManager[None]:
    return mpl.rc_context(
        {
            "svg.fonttype": "none",  # text stays text: smaller, searchable, the page's font
            "svg.hashsalt": "telework-toolkit",  # stable element ids: the same plan, the same file
            "font.family": "sans-serif",
            "font.size": 10,
        }
    )


GO, NOGO, WARN, MUTED = "#1a7f37", "#b42318", "#9a6700", "#8c959f"


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def concurrency_heatmap(conc: Concurrency) -> str:
    """Teleworkers away per working day (rows) and hour (columns), the count in each cell."""
    with _style():
        fig, ax = plt.subplots(
            figsize=(max(6.0, 0.65 * len(conc.hours) + 2), 0.5 * len(conc.days) + 1.4)
        )
        data = [list(row) for row in conc.counts] or [[0]]
        image = ax.imshow(data, cmap="Blues", aspect="auto", vmin=0)
        ax.set_xticks(range(len(conc.hours)), [f"{h:02d}h" for h in conc.hours])
        ax.set_yticks(range(len(conc.days)), [f"{DAYS[d.weekday()]} {d:%d/%m}" for d in conc.days])
        peak = max((max(row) for row in conc.counts), default=0)
        for y, row in enumerate(conc.counts):
            for x, n in enumerate(row):
                color = "white" if peak and n > peak * 0.6 else "#1f2328"
                ax.text(x, y, str(n), ha="center", va="center", color=color, fontsize=8)
        fig.colorbar(image, ax=ax, label="teleworkers")
        ax.set_title("Concurrent teleworkers by day and hour")
        return _svg(fig)


def utilisation_bars(checks: list[Check]) -> str:
    """Demand as a share of capacity, one bar a check; the 100 % line is the limit."""
    known = [c for c in checks if c.utilisation is not None]
    with _style():
        fig, ax = plt.subplots(figsize=(8.0, 0.42 * max(len(known), 1) + 1.2))
        labels = [f"{c.platform}: {c.resource}" for c in known]
        values = [100 * (c.utilisation or 0.0) for c in known]
        colors = [GO if v <= 80 else WARN if v <= 100 else NOGO for v in values]
        ax.barh(range(len(known)), values, color=colors)
        ax.set_yticks(range(len(known)), labels)
        ax.invert_yaxis()
        ax.axvline(100, color=NOGO, linestyle="--", linewidth=1)
        for y, v in enumerate(values):
            ax.text(v, y, f" {v:.0f} %", va="center", fontsize=8)
        ax.set_xlabel("demand at the peak, % of capacity")
        ax.set_xlim(0, max([110.0, *(v * 1.15 for v in values)]))
        ax.set_title("Utilisation at the peak hour")
        return _svg(fig)
