"""`avgenbench runs list | rm`: the runs of a results store."""

from __future__ import annotations

from pathlib import Path

import typer
from rich import box
from rich.table import Table

from .common import EXIT_NOT_FOUND, command_group, emit_json, fail, open_store, out

app = command_group(help="List and remove the runs of a results store.", no_args_is_help=True)


@app.command("list")
def runs_list(out_dir: Path = typer.Argument(Path("."), help="Output folder holding the results store."),
              as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """The runs in a store: name, tier, videos folder, result rows and when each was created."""
    from datetime import datetime

    with open_store(out_dir) as store:
        runs = store.run_overview()
    if as_json:
        emit_json(runs)
        return
    table = Table(title=f"Runs in {out_dir / 'avgenbench.sqlite'}", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("run", "tier", "videos folder", "rows", "created"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for r in runs:
        created = datetime.fromtimestamp(r["created"]).strftime("%Y-%m-%d %H:%M")
        table.add_row(r["run"], r["tier"], r["videos_dir"] or "—", str(r["result_rows"]), created)
    out.print(table)


@app.command("rm")
def runs_rm(out_dir: Path = typer.Argument(..., help="Output folder holding the results store."),
            name: str = typer.Argument(..., help="Run to delete, with all its rows.")) -> None:
    """Delete a run and all its rows, without asking; exit 3 when there is no such run."""
    with open_store(out_dir) as store:
        removed = store.delete_run(name)
        known = [r["run"] for r in store.runs()]
    if removed is None:
        fail(f"no run '{name}' in {out_dir}; runs: {', '.join(known) or 'none'}", EXIT_NOT_FOUND)
    out.print(f"removed run '{name}' ({removed['tier']} tier, videos {removed['videos_dir']}): "
              f"{removed['result_rows']} result rows, {removed['media_rows']} media rows", highlight=False, soft_wrap=True)
