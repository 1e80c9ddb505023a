"""What `generate` shows: a progress bar while it runs and a final table (done, failed with reasons, skipped, cost)."""

from __future__ import annotations

from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .runner import Outcome, Summary

_SKIPPED = ("exists", "unsupported", "over_budget")


@contextmanager
def progress_bar(console: Console, total: int, enabled: bool = True):
    """Yield a callback taking each Outcome; draws a bar on `console` when enabled."""
    if not enabled:
        yield lambda outcome: None
        return
    with Progress(TextColumn("generate"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=True) as bar:
        task = bar.add_task("", total=total)

        def advance(outcome: Outcome) -> None:
            bar.update(task, advance=1, description=f"{outcome.status} {outcome.key}"[:60])

        yield advance


def print_summary(summary: Summary, console: Console | None = None) -> None:
    console = console or Console(markup=False)
    counts = summary.counts
    table = Table(title=f"{summary.provider} / {summary.model}", show_lines=False)
    for col in ("done", "failed", "skipped", "pending", "planned", "cost (USD, est.)"):
        table.add_column(col, justify="right")
    skipped = sum(counts.get(k, 0) for k in _SKIPPED)
    cost = f"{summary.cost:.2f}" + (f" (+{summary.planned_cost:.2f} planned)" if counts.get("planned") else "")
    table.add_row(str(counts.get("written", 0)), str(counts.get("failed", 0) + counts.get("refused", 0)), str(skipped),
                  str(counts.get("pending", 0)), str(counts.get("planned", 0)), cost)
    console.print(table)
    if summary.spent_total:
        console.print(f"estimated spend recorded in the ledger for {summary.provider}: {summary.spent_total:.2f} USD",
                      highlight=False, markup=False)
    for o in summary.outcomes:
        if o.status in ("failed", "refused", "pending", "planned", "over_budget"):
            console.print(f"{o.status:11s} {o.key}  {o.message}", highlight=False, markup=False, soft_wrap=True)
