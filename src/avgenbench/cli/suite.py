"""`avgenbench suite validate | fetch | paths`: inspect and fetch prompt suites."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..suite import inspect_suite
from .common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, command_group, emit_json, err, fail, load_suite_or_exit, out
from .printing import print_discovery

app = command_group(help="Inspect and fetch prompt suites.", no_args_is_help=True)


@app.command("validate")
def suite_validate(suite_dir: Path = typer.Argument(..., help="Suite folder with prompts/<category>.json."),
                   as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Check a suite and list every problem (file, item index, field). Exit 2 when there are problems."""
    from ..annotations import frozen_annotation_problems

    suite, problems = inspect_suite(suite_dir)
    if suite.annotations:
        problems += frozen_annotation_problems(suite.annotations, suite, "annotations.json")
    counts = {c: sum(1 for i in suite.items if i.category == c) for c in suite.categories}
    if as_json:
        emit_json({"suite": str(suite_dir), "ok": not problems, "prompts": len(suite.items), "categories": counts,
                   "with_expected_faces": sum(1 for i in suite.items if i.expected_faces),
                   "problems": [p.__dict__ | {"text": str(p)} for p in problems]})
    else:
        table = Table(title=f"Suite {suite_dir}")
        table.add_column("category")
        table.add_column("prompts", justify="right")
        for category, n in counts.items():
            table.add_row(category, str(n))
        out.print(table)
        out.print(f"{len(suite.items)} prompts in {len(counts)} categories")
        for p in problems:
            err.print(f"[red]problem:[/] {escape(str(p))}", markup=True, highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT if problems else EXIT_OK)


@app.command("fetch")
def suite_fetch(dest: Path = typer.Argument(..., help="Folder to write the official suite into.")) -> None:
    """Download the official prompts (Hugging Face dataset microsoft/AVGen-Bench). Needs network."""
    from ..suite import fetch_suite

    try:
        fetch_suite(dest)
    except RuntimeError as exc:
        fail(str(exc), EXIT_FAILED)
    out.print(f"suite written to {dest}")


@app.command("paths")
def suite_paths(suite_dir: Path = typer.Argument(..., help="Suite folder with prompts/<category>.json."),
                videos: Optional[Path] = typer.Option(None, "--videos", help="Videos folder to check (default: only list the names)."),
                as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Every expected video path (VIDEOS_DIR/<category>/<safe name>.mp4) and, with --videos, whether it is there."""
    from ..discovery import discover_videos

    suite = load_suite_or_exit(suite_dir)
    report = discover_videos(suite, videos if videos is not None else Path("VIDEOS_DIR"))
    if as_json:
        emit_json(report.as_dict() if videos is not None else {"entries": [e.__dict__ for e in report.entries]})
        return
    for entry in report.entries:
        line = entry.expected
        if videos is not None:
            state = "found  " if entry.found else "missing"
            line = f"{state} {entry.found if entry.found and entry.found != entry.expected else entry.expected}"
        out.print(line, highlight=False, soft_wrap=True)
    if videos is not None:
        print_discovery(report, out)
