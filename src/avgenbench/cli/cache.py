"""`avgenbench cache stats | clear`: the judge response cache, and with `clear --all` every cache under the root."""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from .common import EXIT_BAD_INPUT, EXIT_FAILED, command_group, fail, out

app = command_group(help="The judge response cache.", no_args_is_help=True)


@app.command("stats")
def cache_stats(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Answers cached per judge and template, and the call ledger (hits, calls, cost)."""
    from ..judge.cache import JudgeCache

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


@app.command("clear")
def cache_clear(judge: Optional[str] = typer.Option(None, "--judge", help="Only this judge's answers (gemini:MODEL)."),
                everything: bool = typer.Option(False, "--all", help="Every cache under the cache root: judge answers and cost ledger, built models, calibrate clips, numba kernels."),
                as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Delete cached judge answers (all, or one judge's); with --all, everything under the cache root."""
    from ..judge.cache import JudgeCache

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


def _clear_all(judge: str | None, as_json: bool) -> None:
    from ..cachedir import cache_root, clear_all

    if judge:
        fail("--all removes every judge's answers; use --judge without --all for one judge", EXIT_BAD_INPUT)
    try:
        removed = clear_all()
    except (ValueError, OSError) as exc:
        fail(str(exc), EXIT_FAILED)
    names = [p.name for p in removed]
    if as_json:
        sys.stdout.write(json.dumps({"removed": names, "path": str(cache_root()), "all": True}) + "\n")
    else:
        out.print(f"removed {len(names)} entries from {cache_root()}: {', '.join(names) or 'nothing was there'} "
                  "(judge answers and cost ledger, built models, calibrate clips, numba kernels)")
