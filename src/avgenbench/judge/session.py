"""A judge session of one `eval` or `annotate` run: its picklable options, the progress line and the end-of-run
summary read back from the cache's call ledger."""

from __future__ import annotations

import statistics
import uuid
from typing import Any, Mapping

from .cache import JudgeCache, default_cache_path
from .spec import parse_spec, with_default_model


def judge_options(judge: str | None, base_url: str | None, max_cost: float | None, repeats: int,
                  reduce: str = "mean") -> dict[str, Any]:
    """Picklable run options for the judge (the client is built lazily in each worker process).

    Raises ValueError on a bad spec or a missing key, so a run fails before its first video, not on each."""
    if not judge:
        return {}
    judge = with_default_model(judge)
    from .backends import make_backend
    from .types import JudgeError

    try:
        make_backend(parse_spec(judge), base_url)
    except JudgeError as exc:
        raise ValueError(str(exc)) from exc
    return {"judge": judge, "judge_base_url": base_url, "judge_cache": str(default_cache_path()),
            "judge_session": uuid.uuid4().hex, "max_cost": max_cost, "judge_repeats": repeats, "judge_reduce": reduce}


def judge_progress(options: Mapping[str, Any]) -> str:
    """' judge: N calls, M cached, F failed' for the progress bar ('' without a judge)."""
    if not options.get("judge"):
        return ""
    cache = JudgeCache(options["judge_cache"])
    try:
        s = cache.session_summary(options["judge_session"])
    finally:
        cache.close()
    return f" · judge {s['api_calls']} calls, {s['cache_hits']} cached, {s['failed']} failed"


def judge_report(options: Mapping[str, Any], rows) -> dict[str, Any] | None:
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
