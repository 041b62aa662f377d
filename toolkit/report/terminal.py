"""The terminal side of an audit: live progress while hosts are audited, then a summary
table, the blocking findings and what changed since the baseline.

Text from a host, the inventory or a file is printed as rich ``Text`` objects, never as a
string rich would read: ``[/x]`` or ``:thumbs_up:`` in a host's answer stays what it is
(the results model has already made every such string printable)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from toolkit.audit.model import Status
from toolkit.audit.results import AuditReport, ControlResult, HostResult
from toolkit.audit.runner import Listener

STYLE = {
    Status.PASS: "green",
    Status.FAIL: "red",
    Status.WARN: "yellow",
    Status.ERROR: "magenta",
    Status.SKIPPED: "dim",
}


class LiveProgress(Listener):
    """A progress bar over every planned control, one line per finished host."""

    def __init__(self, console: Console, total_controls: int, hosts: int) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("controls"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.hosts, self.done = hosts, 0
        self.task = self.progress.add_task(f"auditing {hosts} hosts", total=total_controls)

    def __enter__(self) -> LiveProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def control_done(self, host: str, result: ControlResult) -> None:
        self.progress.advance(self.task)

    def host_done(self, result: HostResult) -> None:
        self.done += 1
        self.progress.update(self.task, description=f"{self.done}/{self.hosts} hosts audited")
        line = Text(f"  {result.host:<16} ")
        if not result.reachable:
            line.append("unreachable ", style="bold red").append(result.error or "")
        else:
            counts = {s: sum(1 for r in result.results if r.status is s) for s in Status}
            for status, n in counts.items():
                if n:
                    line.append(f"{n} {status}  ", style=STYLE[status])
            line.append(
                result.verdict.upper(), style="bold green" if result.verdict == "go" else "bold red"
            )
        line.append(f"  {result.duration_s:.1f} s", style="dim")
        self.progress.console.print(line)


def summary_table(report: AuditReport) -> Table:
    table = Table(
        title=f"pre-opening audit (M8): {len(report.hosts)} hosts, {report.duration_s:.1f} s"
    )
    columns = ("host", "platform", "verdict", *(s.value for s in Status), "blocking")
    for i, column in enumerate(columns):
        table.add_column(column, justify="right" if i >= 3 else "left")
    for h in report.hosts:
        counts = [sum(1 for r in h.results if r.status is s) for s in Status]
        verdict = "[bold green]GO[/]" if h.verdict == "go" else "[bold red]NO-GO[/]"
        if not h.reachable:
            verdict = "[bold red]unreachable[/]"
        blocking = sum(1 for r in h.results if r.blocking)
        table.add_row(
            Text(h.host),
            Text(", ".join(h.platforms)),
            verdict,
            *[f"[{STYLE[s]}]{n}[/]" if n else "-" for s, n in zip(Status, counts, strict=True)],
            f"[bold red]{blocking}[/]" if blocking else "-",
        )
    return table


def print_report(report: AuditReport, console: Console) -> None:
    console.print(summary_table(report))
    for h in report.hosts:
        if not h.reachable:
            console.print(Text(f"{h.host}: unreachable: {h.error}", style="red"))
        for r in h.results:
            if r.blocking:
                waiver = " (waiver expired)" if r.waiver and r.waiver.expired else ""
                console.print(
                    Text(
                        f"{h.host} {r.control} [{r.severity}] {r.status}{waiver}: {r.summary} "
                        f"(guide {', '.join(r.guide)})",
                        style=STYLE[r.status],
                    )
                )
    if report.baseline:
        worse = [c for c in report.baseline.changes if c.direction == "worse"]
        better = [c for c in report.baseline.changes if c.direction == "better"]
        console.print(
            Text(
                f"since {report.baseline.file}: {len(better)} better, {len(worse)} worse, "
                f"{len(report.baseline.changes) - len(better) - len(worse)} other changes"
            )
        )
        for c in report.baseline.changes:
            style = {"worse": "red", "better": "green"}.get(c.direction, "")
            console.print(
                Text(
                    f"  {c.direction:<7} {c.host} {c.control}: "
                    f"{c.before or '-'} -> {c.after or '-'}",
                    style=style,
                )
            )
    platforms = ", ".join(f"{p.platform} {p.verdict.upper()}" for p in report.platforms)
    style = "bold green" if report.verdict == "go" else "bold red"
    console.print(Text(f"verdict: {report.verdict.upper()} ({platforms})", style=style))
