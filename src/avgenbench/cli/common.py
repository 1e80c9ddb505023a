"""What every command shares: exit codes, the two consoles, JSON output, error exits and the checks of common inputs.

Exit codes: 0 success; 1 the command failed (e.g. interrupted eval, calibration target missed);
2 bad input (usage, unreadable suite, unknown dimension, a requested dimension that cannot run here, a doctor
checklist with something missing); 3 nothing found (no store, no run, no results); 4 eval finished but rows ended in
a tool error (see them with `avgenbench results OUT --status error`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_NOT_FOUND, EXIT_TOOL_ERRORS = 0, 1, 2, 3, 4
EXIT_CODES = __doc__.split("\n\n", 1)[1]

# Markup is off by default: prompts, file names and run names are printed as they are (a '[/x]' in a prompt would
# otherwise be read as a tag). The few styled lines ask for markup explicitly and escape what they interpolate.
out = Console(markup=False)
err = Console(stderr=True, markup=False)


def command_group(**settings) -> typer.Typer:
    """A Typer for one module's commands, rendered like the rest (plain help text, no completion options)."""
    return typer.Typer(rich_markup_mode=None, add_completion=False, **settings)


def emit_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def fail(message: str, code: int) -> NoReturn:
    """Print 'error: MESSAGE' on stderr and exit with `code`."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def check_choice(value: str, choices, name: str) -> None:
    """Exit 2 naming the choices when `value` is not one of them."""
    if value not in choices:
        fail(f"unknown {name} '{value}'; use one of {', '.join(choices)}", EXIT_BAD_INPUT)


def dimensions_or_exit(dimensions: str | None) -> list[str]:
    """The --dimensions comma list as dimension ids; exit 2 on an unknown one."""
    from ..dimensions import parse_dimension_list

    try:
        return parse_dimension_list(dimensions)
    except KeyError as exc:
        fail(str(exc.args[0]), EXIT_BAD_INPUT)


def load_suite_or_exit(suite_dir: Path, annotations: Path | None = None):
    """The suite with its frozen annotations (from `annotations` when given); exit 2 listing the problems if any."""
    from ..annotations import frozen_annotation_problems
    from ..suite import inspect_suite, read_json_file

    suite, problems = inspect_suite(suite_dir)
    if problems:
        fail(f"suite {suite_dir} has {len(problems)} problem(s); run `avgenbench suite validate {suite_dir}`:\n"
             + "\n".join(f"  - {p}" for p in problems[:20]), EXIT_BAD_INPUT)
    source = "annotations.json"
    if annotations is not None:
        data, unreadable = read_json_file(annotations)
        if unreadable:
            fail(f"cannot read annotations file: {unreadable[0]}", EXIT_BAD_INPUT)
        suite.annotations = data
        source = str(annotations)
    bad = [str(p) for p in frozen_annotation_problems(suite.annotations, suite, source)] if suite.annotations else []
    if bad:
        fail(f"{len(bad)} problem(s) in the frozen annotations:\n" + "\n".join(f"  - {p}" for p in bad[:20]), EXIT_BAD_INPUT)
    return suite


def open_store(out_dir: Path):
    """The results store in `out_dir`; exit 3 when there is none."""
    from ..store import Store

    try:
        return Store.open_existing(out_dir)
    except FileNotFoundError as exc:
        fail(str(exc), EXIT_NOT_FOUND)


def open_run(out_dir: Path, run: Optional[str]):
    """(store, run info) of `run`, or of the only run when `run` is None; exit 3 when missing, 2 when ambiguous."""
    store = open_store(out_dir)
    runs = store.runs()
    if not runs:
        fail(f"the store in {out_dir} has no runs", EXIT_NOT_FOUND)
    if run is None:
        if len(runs) > 1:
            fail(f"the store holds several runs ({', '.join(r['run'] for r in runs)}); choose one with --run", EXIT_BAD_INPUT)
        run = runs[0]["run"]
    info = store.run_info(run)
    if info is None:
        fail(f"no run '{run}' in {out_dir}; runs: {', '.join(r['run'] for r in runs)}", EXIT_NOT_FOUND)
    return store, info

