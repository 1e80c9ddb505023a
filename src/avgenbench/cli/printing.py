"""Printing shared by several commands: numbers, the score card, and what video discovery found."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .common import out
from ..numbers import fixed, interval

if TYPE_CHECKING:
    from ..score import ScoreCard


def fmt(value, digits: int = 3) -> str:
    return fixed(value, digits)


fmt_ci = interval


def print_beside_and_layers(card: ScoreCard) -> None:
    """Dimensions outside Scheme 2 (ctrl) on their own line, never in the total; then the three-layer view."""
    from ..layers import LAYER_NAMES, card_layers

    for s in card.beside.values():
        statuses = ", ".join(f"{k}:{v}" for k, v in sorted(s.statuses.items()))
        out.print(f"  beside the total (not in it): {s.display} {fmt(s.normalized, 1)} over {s.n} prompt(s); {statuses}",
                  highlight=False)
    layers = card_layers(card)
    out.print("  layers: " + "  ".join(f"{LAYER_NAMES[k].split()[0].lower()} {fmt(v, 1)}" for k, v in layers.items()),
              highlight=False)


def print_card(card: ScoreCard, categories: bool = False) -> None:
    title = f"Scheme 2 — run '{card.run}' — {card.tier} tier — policy {card.policy}"
    # Light borders, 3 significant digits for raw values (their units differ) and the groups on the totals line
    # keep the table within 80 columns; on a narrow terminal the statuses follow it as lines instead of a column.
    wide = out.width >= 110
    table = Table(title=title, caption=ci_caption(card), box=box.SIMPLE_HEAD, pad_edge=False)
    columns = ["dimension", "weight", "n", "raw mean [95% CI]", "score [95% CI]"] + (["statuses"] if wide else [])
    for col in columns:
        table.add_column(col, justify="left" if col in ("dimension", "statuses") else "right", no_wrap=col != "statuses")
    lines = []
    for s in card.dimensions.values():
        statuses = ", ".join(f"{k}:{v}" for k, v in sorted(s.statuses.items()))
        raw = "—" if s.raw_mean is None else f"{s.raw_mean:.3g} {fmt_ci(s.raw_ci, 3, 'g')}".rstrip()
        if s.n == 1:  # one prompt resampled gives a zero-width interval: say there is none
            raw = raw.split(" [")[0]
        score = f"{fmt(s.normalized, 1)} {'(n = 1, no interval)' if s.n == 1 else fmt_ci(s.normalized_ci)}".rstrip()
        row = [s.display, f"{s.weight:.3f}", str(s.n), raw, score]
        table.add_row(*row, *([statuses] if wide else []))
        lines.append(f"  {s.display}: {statuses}")
    out.print(table)
    if not wide:
        out.print("statuses per dimension:\n" + "\n".join(lines))
    total = "—" if card.total is None else f"{card.total:.2f}"
    total_ci = fmt_ci(card.total_ci, 2)
    groups = "  ".join(f"{g} {fmt(v, 1)} {fmt_ci(card.groups_ci.get(g))}".rstrip() for g, v in card.groups.items())
    incomplete = " (INCOMPLETE run)" if card.complete is False else ""
    out.print(f"[bold]Total {total}[/] {escape(total_ci)}  coverage {card.coverage:.2f} of 1.00{incomplete}",
              highlight=False, markup=True)
    out.print(f"  {groups}", highlight=False)  # group scores under the total
    print_beside_and_layers(card)
    if card.prompts:
        out.print(card.prompts.text(), highlight=False)
    if card.coverage < 0.999:
        missing = [s.display for s in card.dimensions.values() if s.normalized is None]
        out.print(f"partial coverage: no score for {', '.join(missing)}; the total is over the available weight only")
    if categories and card.categories:
        cat = Table(title="Per category", box=box.SIMPLE_HEAD, pad_edge=False)
        cat.add_column("category")
        cat.add_column("total", justify="right")
        cat.add_column("95% CI", justify="right")
        cat.add_column("coverage", justify="right")
        cat.add_column("videos", justify="right")
        for name, c in card.categories.items():
            cat.add_row(name, fmt(c["total"], 2), fmt_ci(c.get("total_ci"), 2), f"{c['coverage']:.2f}", str(c["n_videos"]))
        out.print(cat)


def ci_caption(card: ScoreCard) -> str:
    if not card.ci:
        return ""
    return (f"[..] = {card.ci['level']:.0%} bootstrap CI over prompts ({card.ci['draws']} resamples, seed {card.ci['seed']}); "
            "few prompts give wide intervals")


def print_discovery(report, console: Console, limit: int = 20) -> None:
    """The headline, the layout advice and the files no prompt reads (at most `limit`)."""
    console.print(report.headline(), highlight=False, soft_wrap=True)
    for line in report.advice:
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    for stray in report.strays[:limit]:
        console.print(f"  unread file {stray.describe()}", highlight=False, soft_wrap=True)
    if len(report.strays) > limit:
        console.print(f"  ... and {len(report.strays) - limit} more unread files", highlight=False)
