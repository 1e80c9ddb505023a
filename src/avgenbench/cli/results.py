"""`avgenbench results | score | total`: the stored rows of a run, its Scheme-2 score card, totals from raw means."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from .. import tables as layout
from ..dimensions import ALL_DIMENSION_IDS, DIMENSION_IDS, DIMENSIONS
from ..dimensions.base import GROUPS
from ..score import POLICIES, expectation_of, score_rows, totals_from_raw_table
from .common import EXIT_BAD_INPUT, EXIT_NOT_FOUND, command_group, emit_json, err, fail, open_run, out
from .printing import fmt, print_card

app = command_group()


@app.command("results")
def results_cmd(out_dir: Path = typer.Argument(..., help="Output folder of an eval."),
                run: Optional[str] = typer.Option(None, "--run", help="Run name (needed when the store has several)."),
                video: Optional[str] = typer.Option(None, "--video", help="Only videos whose key (category/content) contains this text (any case)."),
                dimension: Optional[List[str]] = typer.Option(None, "--dimension", help="Only these dimensions (repeatable or a comma list)."),
                status: Optional[List[str]] = typer.Option(None, "--status", help="Only rows with these statuses, e.g. error (repeatable or a comma list)."),
                as_json: bool = typer.Option(False, "--json", help="One JSON record per (video, dimension).")) -> None:
    """Per-video results: status, raw and normalised value, backend, message and evidence."""
    dims, statuses = _results_filters(dimension, status)
    store, info = open_run(out_dir, run)
    rows = store.results(info["run"])
    store.close()
    needle = (video or "").lower()
    rows = [r for r in rows if needle in r.video_key.lower() and (not dims or r.dimension in dims)
            and (not statuses or r.status in statuses)]
    if as_json:
        emit_json([r.public() for r in rows])
        return
    if not rows:
        err.print(f"no rows of run '{info['run']}' match these filters", highlight=False)
        return
    table = Table(title=f"Results of run '{info['run']}' ({info['tier']} tier)")
    for col in ("video", "dim", "status", "raw", "norm", "message"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.video_key[:50], r.dimension, r.status, fmt(r.raw), fmt(r.normalized), r.message[:60])
    out.print(table)


def _results_filters(dimension: list[str] | None, status: list[str] | None) -> tuple[set[str], set[str]]:
    """The --dimension and --status filters as sets (each repeatable or a comma list); exit 2 on an unknown name."""
    from ..dimensions.base import Status

    split = lambda values: {p.strip().lower() for v in values or [] for p in v.split(",") if p.strip()}  # noqa: E731
    dims, statuses = split(dimension), split(status)
    unknown = sorted(dims - set(ALL_DIMENSION_IDS))
    if unknown:
        fail(f"unknown dimension(s) {', '.join(unknown)}; known: {', '.join(ALL_DIMENSION_IDS)}", EXIT_BAD_INPUT)
    known = {v for k, v in vars(Status).items() if k.isupper()}
    unknown = sorted(statuses - known)
    if unknown:
        fail(f"unknown status(es) {', '.join(unknown)}; known: {', '.join(sorted(known))}", EXIT_BAD_INPUT)
    return dims, statuses


@app.command("score")
def score_cmd(out_dir: Path = typer.Argument(..., help="Output folder of an eval."),
              run: Optional[str] = typer.Option(None, "--run", help="Run name (needed when the store has several)."),
              failure_policy: Optional[str] = typer.Option(None, "--failure-policy", help="strict or reference (default: the run's)."),
              draws: int = typer.Option(1000, "--draws", min=0, help="Bootstrap resamples of the prompts for the 95 % CIs (0: none)."),
              seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
              as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Scheme-2 total, coverage, group scores, each dimension with n, and per-category totals, with bootstrap CIs."""
    store, info = open_run(out_dir, run)
    policy = failure_policy or info["config"].get("failure_policy", "strict")
    if policy not in POLICIES:
        fail(f"unknown failure policy '{policy}'", EXIT_BAD_INPUT)
    rows = store.results(info["run"])
    store.close()
    if not rows:
        fail(f"run '{info['run']}' has no results yet", EXIT_NOT_FOUND)
    card = score_rows(rows, policy, info["run"], info["tier"], ci_draws=draws, seed=seed, expected=expectation_of(info))
    if as_json:
        emit_json(card.as_dict())
    else:
        print_card(card, categories=True)


@app.command("total")
def total_cmd(raw: Path = typer.Option(..., "--raw", help="CSV: model,Vis,Aud,AV,Lip,Text,Face,Music,Speech,Lo-Phy,Hi-Phy,Holistic."),
              as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Scheme-2 totals from raw per-dimension means (e.g. a published table)."""
    try:
        rows = totals_from_raw_table(raw)
    except (OSError, ValueError) as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"Scheme-2 totals from {raw}")
    table.add_column("model")
    table.add_column("total", justify="right")
    table.add_column("coverage", justify="right")
    for d in DIMENSION_IDS:
        table.add_column(DIMENSIONS[d].display, justify="right")
    for r in rows:
        table.add_row(r["model"], fmt(r["total"], 2), f"{r['coverage']:.2f}", *[fmt(r["normalized"][d], 1) for d in DIMENSION_IDS])
    if layout.fits(out, table):
        out.print(table)
        return
    summary = layout.compact(f"Scheme-2 totals from {raw}")  # a narrow terminal: totals, then the scores in two tables
    summary.add_column("model", overflow="fold")
    for col in ("total", "coverage", *GROUPS):
        summary.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        summary.add_row(r["model"], fmt(r["total"], 2), f"{r['coverage']:.2f}", *[layout.number(r["groups"][g]) for g in GROUPS])
    for part in [summary, *layout.dimension_tables("model", [r["model"] for r in rows], [r["normalized"] for r in rows])]:
        out.print(part)
