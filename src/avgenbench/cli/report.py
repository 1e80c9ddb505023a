"""`avgenbench stability | compare | leaderboard | report`: reading the results of several runs or prompt subsets."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from .. import tables as layout
from ..stats import DEFAULT_DRAWS, DEFAULT_SEED, STABILITY_FRACTIONS, STABILITY_TRIALS
from .common import EXIT_BAD_INPUT, EXIT_NOT_FOUND, command_group, emit_json, err, fail, open_run, out
from ..numbers import fixed, interval

app = command_group()


def _policy(info: dict, override: Optional[str]) -> str:
    from ..scheme import POLICIES

    policy = override or info["config"].get("failure_policy", "strict")
    if policy not in POLICIES:
        fail(f"unknown failure policy '{policy}'; use one of {', '.join(POLICIES)}", EXIT_BAD_INPUT)
    return policy


def _n(value, digits: int = 2) -> str:
    return fixed(value, digits)


@app.command("stability")
def stability_cmd(out_dir: Path = typer.Argument(..., help="Output folder of an eval."),
                  run: Optional[str] = typer.Option(None, "--run", help="Run name (needed when the store has several)."),
                  fractions: str = typer.Option(",".join(f"{f:g}" for f in STABILITY_FRACTIONS), "--fractions",
                                                help="Comma list of subset sizes as fractions of the prompts."),
                  trials: int = typer.Option(STABILITY_TRIALS, "--trials", min=1, help="Random subsets per size."),
                  seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Random seed."),
                  failure_policy: Optional[str] = typer.Option(None, "--failure-policy", help="strict or reference (default: the run's)."),
                  as_json: bool = typer.Option(False, "--json", help="Machine-readable output (every dimension too).")) -> None:
    """Re-score random prompt subsets of a stored run: how much the total moves with fewer prompts."""
    from ..stats import stability, value_matrix

    try:
        sizes = [float(f) for f in fractions.split(",") if f.strip()]
    except ValueError:
        fail(f"--fractions must be numbers between 0 and 1, got '{fractions}'", EXIT_BAD_INPUT)
    if not sizes or any(not 0 < f <= 1 for f in sizes):
        fail(f"--fractions must be numbers in (0, 1], got '{fractions}'", EXIT_BAD_INPUT)
    store, info = open_run(out_dir, run)
    policy = _policy(info, failure_policy)
    rows = store.results(info["run"])
    store.close()
    if not rows:
        fail(f"run '{info['run']}' has no results yet", EXIT_NOT_FOUND)
    result = stability(value_matrix(rows, policy), sizes, trials, seed)
    result.update(run=info["run"], tier=info["tier"], failure_policy=policy)
    if as_json:
        emit_json(result)
        return
    table = Table(title=f"Stability of the total — run '{info['run']}' ({info['tier']} tier, policy {policy})",
                  caption=f"full set: {result['prompts']} prompts, total {_n(result['full_total'])}; "
                          f"{trials} random subsets per size, seed {seed}")
    for col in ("subset", "prompts", "mean", "std", "min", "max", "mean − full"):
        table.add_column(col, justify="right")
    for s in result["subsets"]:
        t = s["total"]
        table.add_row(f"{s['fraction']:.0%}", str(s["prompts"]), _n(t["mean"]), _n(t["std"]), _n(t["min"]), _n(t["max"]),
                      "—" if t["mean_minus_full"] is None else f"{t['mean_minus_full']:+.3f}")
    out.print(table)


@app.command("compare")
def compare_cmd(out_dir: Path = typer.Argument(..., help="Output folder holding both runs."),
                runs: List[str] = typer.Option(..., "--run", help="Give twice: --run A --run B."),
                draws: int = typer.Option(DEFAULT_DRAWS, "--draws", min=10, help="Bootstrap resamples."),
                seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Random seed."),
                failure_policy: Optional[str] = typer.Option(None, "--failure-policy", help="strict or reference (default: run A's)."),
                as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Paired comparison A − B on the prompts both runs hold: difference with a bootstrap CI and win shares."""
    from ..scheme import SCHEME
    from ..stats import compare

    if len(runs) != 2:
        fail("compare needs exactly two runs: --run A --run B", EXIT_BAD_INPUT)
    store, info_a = open_run(out_dir, runs[0])
    store.close()
    store, info_b = open_run(out_dir, runs[1])
    if info_a["tier"] != info_b["tier"]:
        store.close()
        fail(f"run '{runs[0]}' is {info_a['tier']}-tier and '{runs[1]}' is {info_b['tier']}-tier; "
             "tiers are never compared", EXIT_BAD_INPUT)
    policy = _policy(info_a, failure_policy)
    rows_a, rows_b = store.results(runs[0]), store.results(runs[1])
    store.close()
    result = compare(rows_a, rows_b, policy, draws, seed)
    if result["shared_prompts"] == 0:
        fail(f"runs '{runs[0]}' and '{runs[1]}' share no prompts; compare needs the same suite", EXIT_NOT_FOUND)
    result.update(a=runs[0], b=runs[1], tier=info_a["tier"], prompts=_run_prompts(rows_a, info_a, rows_b, info_b))
    if as_json:
        emit_json(result)
        return
    table = Table(title=f"'{runs[0]}' (A) − '{runs[1]}' (B), {result['shared_prompts']} shared prompts, policy {policy}",
                  caption=f"CI: 95 % paired bootstrap over shared prompts ({draws} resamples, seed {seed}). "
                          "Wins: share of prompts scored in both where the run's video scored higher.")
    for col in ("dimension", "A", "B", "A − B", "95% CI", "A wins", "B wins", "ties", "prompts"):
        table.add_column(col, justify="left" if col == "dimension" else "right")
    pct = lambda v: "—" if v is None else f"{v:.0%}"  # noqa: E731
    for d, r in result["dimensions"].items():
        ci = "—" if r["ci"] is None else f"[{r['ci'][0]:+.1f}, {r['ci'][1]:+.1f}]"
        table.add_row(SCHEME[d].display, _n(r["a"], 1), _n(r["b"], 1), "—" if r["diff"] is None else f"{r['diff']:+.1f}",
                      ci, pct(r["a_wins"]), pct(r["b_wins"]), pct(r["ties"]), str(r["paired_prompts"]))
    t = result["total"]
    ci = "—" if t["ci"] is None else f"[{t['ci'][0]:+.2f}, {t['ci'][1]:+.2f}]"
    table.add_row("Total", _n(t["a"]), _n(t["b"]), "—" if t["diff"] is None else f"{t['diff']:+.2f}", ci, "", "", "", "",
                  style="bold")
    out.print(table)
    for side in ("a", "b"):
        p = result["prompts"][side]
        out.print(f"{side.upper()} '{result[side]}': {p['text']}", highlight=False)
    out.print(f"compared on the {result['shared_prompts']} prompts both runs have", highlight=False)
    if result["only_a"] or result["only_b"]:
        err.print(f"note: {result['only_a']} prompt(s) only in A and {result['only_b']} only in B are left out")


def _run_prompts(rows_a, info_a: dict, rows_b, info_b: dict) -> dict:
    """Each run's completeness ('evaluated N of M prompts ...') for compare's text and JSON."""
    from ..score import completeness, expectation_of

    sides = {}
    for side, rows, info in (("a", rows_a, info_a), ("b", rows_b, info_b)):
        c = completeness(rows, expectation_of(info))
        sides[side] = {**c.as_dict(), "text": c.text().replace("\n", "; ")}
    return sides


@app.command("leaderboard")
def leaderboard_cmd(out_dir: Path = typer.Argument(..., help="Output folder whose store holds the runs."),
                    published: Optional[Path] = typer.Option(None, "--published", help="CSV of published raw means (as for `total --raw`)."),
                    as_json: bool = typer.Option(False, "--json", help="JSON output."),
                    as_markdown: bool = typer.Option(False, "--markdown", help="Markdown tables."),
                    as_csv: bool = typer.Option(False, "--csv", help="CSV (one row per entry, tier column)."),
                    failure_policy: Optional[str] = typer.Option(None, "--failure-policy", help="Override every run's policy."),
                    draws: int = typer.Option(DEFAULT_DRAWS, "--draws", min=0, help="Bootstrap resamples (0: no CIs)."),
                    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Random seed.")) -> None:
    """Rank every run in the store, one table per tier (lite and paper are never ranked together)."""
    from .. import leaderboard as lb
    from ..scheme import DIMENSION_IDS, POLICIES, SCHEME
    from ..store import Store

    if sum((as_json, as_markdown, as_csv)) > 1:
        fail("choose one of --json, --markdown, --csv", EXIT_BAD_INPUT)
    if failure_policy and failure_policy not in POLICIES:
        fail(f"unknown failure policy '{failure_policy}'", EXIT_BAD_INPUT)
    try:
        store = Store.open_existing(out_dir)
    except FileNotFoundError as exc:
        fail(str(exc), EXIT_NOT_FOUND)
    try:
        tables = lb.build(store, published, failure_policy, draws, seed)
    except (OSError, ValueError) as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    finally:
        store.close()
    if not tables:
        fail(f"no run with results in {out_dir}", EXIT_NOT_FOUND)
    if as_json:
        emit_json(lb.as_json(tables))
        return
    if as_markdown or as_csv:
        import sys

        sys.stdout.write(lb.as_markdown(tables) if as_markdown else lb.as_csv(tables))
        return
    for tier, entries in tables.items():
        table = Table(title=lb.tier_label(tier), caption="dimension cells: score [95 % CI] (raw mean); CI: bootstrap over prompts")
        for col in ("rank", "run", "total", "95% CI", "coverage", "videos"):
            table.add_column(col, justify="left" if col == "run" else "right")
        for d in DIMENSION_IDS:
            table.add_column(SCHEME[d].display, justify="right")
        for e in entries:
            cells = [lb.dimension_cell(e, d) for d in DIMENSION_IDS]
            table.add_row(str(e.rank or "—"), e.label, _n(e.total), interval(e.total_ci, 2) or "n/a", f"{e.coverage:.2f}",
                          "—" if e.n_videos is None else str(e.n_videos), *cells)
        if layout.fits(out, table):
            out.print(table)
        else:
            _print_compact_leaderboard(out, tier, entries, layout.natural_width(out, table))


def _print_compact_leaderboard(console, tier: str, entries, wide: int) -> None:
    """A narrow terminal: ranks and totals in one table, the dimension scores in two more (numbers whole, names wrap)."""
    from .. import leaderboard as lb

    summary = layout.compact(lb.tier_label(tier))
    for col in ("rank", "run", "total", "95% CI", "cov.", "prompts"):
        summary.add_column(col, justify="left" if col == "run" else "right", no_wrap=col != "run",
                           overflow="fold" if col == "run" else "ellipsis")
    for e in entries:
        p = e.prompts
        prompts = "—" if p is None else (f"{p.evaluated}/{p.suite_prompts}" if p.suite_prompts is not None else str(p.evaluated))
        summary.add_row(str(e.rank or "—"), e.label, _n(e.total), interval(e.total_ci, 1) or "n/a", f"{e.coverage:.2f}", prompts)
    console.print(summary)
    caption = (f"scores only; CIs and raw means: --markdown, --json, or a terminal of {wide} columns")
    for part in layout.dimension_tables("run", [e.name for e in entries], [e.normalized for e in entries], caption):
        console.print(part)


@app.command("report")
def report_cmd(out_dir: Path = typer.Argument(..., help="Output folder whose store holds the runs."),
               runs: Optional[List[str]] = typer.Option(None, "--run", help="Runs to detail (repeatable; default all)."),
               output: Path = typer.Option(Path("report.html"), "-o", "--output", help="HTML file to write."),
               published: Optional[Path] = typer.Option(None, "--published", help="CSV of published raw means for the leaderboard."),
               media: bool = typer.Option(True, "--media/--no-media", help="Keyframes and spectrograms in the drill-down."),
               draws: int = typer.Option(DEFAULT_DRAWS, "--draws", min=0, help="Bootstrap resamples (0: no CIs)."),
               seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Random seed.")) -> None:
    """One self-contained HTML report: leaderboard, charts, per-video drill-down, failure gallery, provenance."""
    from ..report import build_report

    try:
        path = build_report(out_dir, output, runs or None, published=published, media=media, ci_draws=draws, seed=seed)
    except (FileNotFoundError, LookupError) as exc:
        fail(str(exc), EXIT_NOT_FOUND)
    except (ValueError, OSError) as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    out.print(f"report: {path}")
