"""CLI for the judge layer: `annotate`, `cache stats`, `cache clear`, and the judge options of `eval`.

Exit codes as in avgenbench.cli: 0 ok; 1 some prompts could not be annotated; 2 bad input.
"""

from __future__ import annotations

import json
import statistics
import sys
import uuid
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from .cache import JudgeCache, default_cache_path
from .spec import parse_spec, with_default_model

err = Console(stderr=True, markup=False)  # user text prints as it is; styled lines opt in
out = Console(markup=False)


def _fail(message: str, code: int = 2) -> None:
    from ..cli import _fail as fail  # imported late: avgenbench.cli registers this module's commands

    fail(message, code)


def judge_options(judge: str | None, base_url: str | None, max_cost: float | None, repeats: int) -> dict[str, Any]:
    """Picklable run options for the judge (the client is built lazily in each worker process)."""
    if not judge:
        return {}
    judge = with_default_model(judge)
    from .backends import make_backend
    from .types import JudgeError

    try:
        make_backend(parse_spec(judge), base_url)  # fail now on a bad spec or a missing key, not per video
    except (ValueError, JudgeError) as exc:
        _fail(str(exc))
    return {"judge": judge, "judge_base_url": base_url, "judge_cache": str(default_cache_path()),
            "judge_session": uuid.uuid4().hex, "max_cost": max_cost, "judge_repeats": repeats}


def judge_progress(options: dict[str, Any]) -> str:
    """' judge: N calls, M cached, F failed' for the progress bar ('' without a judge)."""
    if not options.get("judge"):
        return ""
    cache = JudgeCache(options["judge_cache"])
    try:
        s = cache.session_summary(options["judge_session"])
    finally:
        cache.close()
    return f" · judge {s['api_calls']} calls, {s['cache_hits']} cached, {s['failed']} failed"


def judge_report(options: dict[str, Any], rows) -> dict[str, Any] | None:
    """End-of-run judge summary: calls, cache hits, tokens, cost, budget stop, and judge variance per dimension."""
    if not options.get("judge"):
        return None
    cache = JudgeCache(options["judge_cache"])
    try:
        summary = cache.session_summary(options["judge_session"])
    finally:
        cache.close()
    variance: dict[str, dict[str, float]] = {}
    for row in rows:
        spread = (row.evidence or {}).get("judge_repeats")
        if isinstance(spread, dict):
            variance.setdefault(row.dimension, []).append(float(spread["std"]))  # type: ignore[arg-type]
    variance = {d: {"videos": len(v), "mean_std": round(statistics.fmean(v), 3)} for d, v in variance.items()}
    budget_stop = summary["skipped_for_budget"] > 0
    text = (f"judge {options['judge']}: {summary['requests']} requests, {summary['api_calls']} API calls, "
            f"{summary['cache_hits']} cache hits, {summary['failed']} failed, tokens in/out "
            f"{summary['input_tokens']}/{summary['output_tokens']}, cost ${summary['cost_usd']:.4f}")
    if budget_stop:
        text += (f"\nmax cost ${options['max_cost']:.2f} reached: {summary['skipped_for_budget']} judge requests were "
                 "not made (those results are errors; raise --max-cost and run again to finish)")
    for dim, v in variance.items():
        text += f"\njudge variance {dim}: mean std {v['mean_std']} over {v['videos']} videos ({options['judge_repeats']} repeats)"
    return {"spec": options["judge"], **summary, "budget_stop": budget_stop, "variance": variance, "text": text}


def _clear_all(judge: str | None, as_json: bool) -> None:
    from ..cachedir import cache_root, clear_all

    if judge:
        _fail("--all removes every judge's answers; use --judge without --all for one judge")
    try:
        removed = clear_all()
    except (ValueError, OSError) as exc:
        _fail(str(exc), 1)
    names = [p.name for p in removed]
    if as_json:
        sys.stdout.write(json.dumps({"removed": names, "path": str(cache_root()), "all": True}) + "\n")
    else:
        out.print(f"removed {len(names)} entries from {cache_root()}: {', '.join(names) or 'nothing was there'} "
                  "(judge answers and cost ledger, built models, calibrate clips, numba kernels)")


def register(app: typer.Typer) -> None:
    cache_app = typer.Typer(help="The judge response cache.", no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(cache_app, name="cache")

    @cache_app.command("stats")
    def cache_stats(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
        """Answers cached per judge and template, and the call ledger (hits, calls, cost)."""
        cache = JudgeCache()
        stats = cache.stats()
        cache.close()
        if as_json:
            sys.stdout.write(json.dumps(stats, indent=2) + "\n")
            return
        out.print(f"judge cache {stats['path']}: {stats['answers']} answers, {stats['bytes']} bytes")
        for row in stats["by_judge_and_template"]:
            out.print(f"  {row['judge']}  {row['template']}: {row['answers']}")
        ledger = stats["ledger"]
        out.print(f"ledger: {ledger['requests']} requests, {ledger['cache_hits']} cache hits, "
                  f"{ledger['api_calls']} API calls, ${ledger['cost_usd']:.4f}")

    @cache_app.command("clear")
    def cache_clear(judge: Optional[str] = typer.Option(None, "--judge", help="Only this judge's answers (gemini:MODEL)."),
                    everything: bool = typer.Option(False, "--all", help="Every cache under the cache root: judge answers and cost ledger, built models, calibrate clips, numba kernels."),
                    as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
        """Delete cached judge answers (all, or one judge's); with --all, everything under the cache root."""
        if everything:
            _clear_all(judge, as_json)
            return
        cache = JudgeCache()
        removed = cache.clear(judge)
        cache.close()
        if as_json:
            sys.stdout.write(json.dumps({"removed": removed, "path": str(cache.path)}) + "\n")
        else:
            out.print(f"removed {removed} cached answers from {cache.path}")

    @app.command("annotate")
    def annotate_cmd(
        suite_dir: Path = typer.Option(..., "--suite", help="Suite folder (official layout)."),
        judge: Optional[str] = typer.Option(None, "--judge", help="gemini:MODEL or openai:MODEL; without it: rule-based."),
        judge_base_url: Optional[str] = typer.Option(None, "--judge-base-url", help="Judge endpoint override."),
        max_cost: Optional[float] = typer.Option(None, "--max-cost", min=0, help="Stop judge calls at this many USD."),
        out_file: Optional[Path] = typer.Option(None, "--out", help="Write here instead of SUITE_DIR/annotations.json."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable summary."),
    ) -> None:
        """Freeze per-prompt annotations (text-only judge stages, or rules) so every model is judged alike."""
        from ..suite import inspect_suite
        from .annotate import annotate, write_annotations
        from .client import client_from_options
        from .types import JudgeError

        suite, problems = inspect_suite(suite_dir)
        if problems:
            _fail(f"suite {suite_dir} has {len(problems)} problem(s); run `avgenbench suite validate {suite_dir}`")
        options = judge_options(judge, judge_base_url, max_cost, 1)
        client = None
        if judge:
            try:
                client = client_from_options(options)
            except (JudgeError, ValueError) as exc:
                _fail(str(exc))
        done = {"ok": 0, "error": 0, "budget": 0}

        def on_item(item, status):
            done[status] += 1
            if not as_json:
                err.print(f"[{sum(done.values())}/{len(suite.items)}] {item.key[:60]}: {status}", highlight=False, markup=False)

        doc, failures = annotate(suite, client, on_item)
        path = write_annotations(doc, suite.root, out_file)
        report = judge_report(options, []) if judge else None
        if as_json:
            sys.stdout.write(json.dumps({"path": str(path), "annotated": len(doc["items"]), "failed": failures,
                                         "made_by": doc["made_by"], **({"judge": report} if report else {})},
                                        indent=2) + "\n")
        else:
            out.print(f"{len(doc['items'])} of {len(suite.items)} prompts annotated -> {path}")
            for f in failures[:20]:
                err.print(f"failed: {f['key']}: {f['message']}", highlight=False)
            if report:
                err.print(report["text"], highlight=False, markup=False, soft_wrap=True)
        if failures:
            raise typer.Exit(1)
