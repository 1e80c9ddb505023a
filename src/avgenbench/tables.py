"""Terminal tables that fit: the wide layout when the console has room, else narrower tables a person can read.

On an 80-column terminal a table of eleven dimension columns squeezes every cell to '…'. The compact layout puts the
totals in one table and the dimension scores (one decimal) in two: basic uni-/cross-modal and fine-grained.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from .scheme import DIMENSION_IDS, SCHEME

SPLITS = ((("basic", "cross"), "Basic uni- and cross-modal dimensions, score 0–100"),
          (("fine",), "Fine-grained dimensions, score 0–100"))


def natural_width(console: Console, table: Table) -> int:
    """Columns the table needs to show every cell whole."""
    return console.measure(table, options=console.options.update_width(10_000)).maximum


def fits(console: Console, table: Table) -> bool:
    return natural_width(console, table) <= console.width


def compact(title: str | None = None, caption: str | None = None) -> Table:
    return Table(title=title, caption=caption, box=box.SIMPLE_HEAD, pad_edge=False)


def number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def dimension_tables(name_column: str, names: list[str], scores: list[dict[str, float | None]],
                     caption: str | None = None) -> list[Table]:
    """Two compact tables of normalised scores, one row per name; numbers never wrap, names do."""
    tables = []
    for index, (groups, title) in enumerate(SPLITS):
        table = compact(title, caption if index == len(SPLITS) - 1 else None)
        table.add_column(name_column, overflow="fold")
        dims = [d for d in DIMENSION_IDS if SCHEME[d].group in groups]
        for d in dims:
            table.add_column(SCHEME[d].display, justify="right", no_wrap=True)
        for name, values in zip(names, scores):
            table.add_row(name, *[number(values.get(d)) for d in dims])
        tables.append(table)
    return tables
