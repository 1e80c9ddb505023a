"""Hi-Phy: high-level physics against prompt expectations (MLLM judge, 0–100, higher is better).

Paper tier only. Stages:
1. expectations (text only, template hi_phy.expectations): what the prompt's physics implies, each with a strength;
   frozen per prompt by `avgenbench annotate` (annotation stage 'hi_phy'), else asked here once per prompt (cached).
2. semantic check (hi_phy.semantic, with the video): a verdict per expectation (match / mismatch with a severity /
   missing / uncertain). semantic = 100 − Σ deductions (MISMATCH_DEDUCTION by severity, MISSING_DEDUCTION by the
   expectation's strength; an expectation without a verdict is uncertain, 0), floored at 0.
3. visual scan (hi_phy.visual, prompt-free): violations with a severity; visual = 100 − Σ SEVERITY_DEDUCTION, floored.
Stages 2 and 3 are independent and asked side by side. Score = round-half-up(0.5·semantic + 0.5·visual); the judge
never does the arithmetic. With --judge-repeats K the video stages run K times and the scores are averaged.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..judge.templates import load, request
from ..suite import PromptItem
from .base import Dimension
from .judged import VIDEO_NEEDS, JudgedBackend, floor0, frozen_or_ask, media_parts, repeated

MISMATCH_DEDUCTION = {"severe": 30, "moderate": 15, "minor": 8}
MISSING_DEDUCTION = {"strong": 20, "medium": 12, "weak": 6}
SEVERITY_DEDUCTION = {"severe": 25, "moderate": 12, "minor": 5}  # the visual scan's violations
TEMPLATES = ("hi_phy.expectations", "hi_phy.semantic", "hi_phy.visual")


def semantic_score(expectations: list[dict[str, Any]], checks: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
    """100 − Σ deductions over the frozen expectations, floored at 0; an expectation without a verdict counts as
    uncertain. Returns the score and the itemised deductions."""
    by_id = {c.get("id"): c for c in checks}
    score, items = 100.0, []
    for exp in expectations:
        check = by_id.get(exp["id"], {"verdict": "uncertain", "severity": "none"})
        verdict = check.get("verdict", "uncertain")
        if verdict == "mismatch":
            # a mismatch reported without a usable severity is taken as moderate
            deduction = MISMATCH_DEDUCTION.get(check.get("severity"), MISMATCH_DEDUCTION["moderate"])
        elif verdict == "missing":
            deduction = MISSING_DEDUCTION.get(exp.get("strength"), MISSING_DEDUCTION["medium"])
        else:
            deduction = 0
        score -= deduction
        items.append({"id": exp["id"], "verdict": verdict, "severity": check.get("severity", "none"), "deduction": deduction})
    return floor0(score), items


def visual_score(violations: list[dict[str, Any]]) -> float:
    return floor0(100 - sum(SEVERITY_DEDUCTION.get(v.get("severity"), 0) for v in violations))


def overall(semantic: float, visual: float) -> int:
    # round half up, so 0.5·(x + y) of integers never depends on banker's rounding
    return int(0.5 * semantic + 0.5 * visual + 0.5)


def expectations(client, item: PromptItem) -> dict[str, Any]:
    """Stage 1 (text only): the annotation stage 'hi_phy', as `avgenbench annotate` freezes it."""
    answer = client.ask(request("hi_phy.expectations", prompt=item.prompt))
    return {"expectations": answer.data["expectations"], "template": load("hi_phy.expectations").tag, "judge": client.label}


def judge_once(client, clip, item: PromptItem, expected: list[dict[str, Any]], repeat: int = 0) -> dict[str, Any]:
    """Stages 2 and 3 on the video, and the score."""
    video = media_parts(client, clip, with_audio=False)
    semantic_request = request("hi_phy.semantic", video, repeat, {"checks": [e["id"] for e in expected]},
                               prompt=item.prompt, expectations=json.dumps(expected, ensure_ascii=False))
    # the two questions are independent: ask them side by side (the client bounds concurrency per backend)
    with ThreadPoolExecutor(2) as pool:
        sem_future = pool.submit(client.ask, semantic_request)
        vis_future = pool.submit(client.ask, request("hi_phy.visual", video, repeat))
        sem, vis = sem_future.result(), vis_future.result()
    semantic, deductions = semantic_score(expected, sem.data["checks"])
    violations = vis.data["violations"]
    visual = visual_score(violations)
    return {"score": overall(semantic, visual), "semantic": semantic, "visual": visual,
            "deductions": deductions, "violations": [_short(v) for v in violations[:12]],
            "calls": sem.calls + vis.calls, "cached": int(sem.cached) + int(vis.cached)}


def _short(violation: dict[str, Any]) -> dict[str, Any]:
    keep = {k: violation.get(k) for k in ("category", "severity", "start_s", "end_s")}
    keep["description"] = str(violation.get("description", ""))[:160]
    return keep


def run(client, clip, ctx, repeats):
    frozen, was_frozen = frozen_or_ask(ctx.annotation.judge, "hi_phy", lambda: expectations(client, ctx.item))
    expected = frozen["expectations"]
    result = repeated(lambda k: judge_once(client, clip, ctx.item, expected, k), repeats)
    result.evidence["expectations"] = {"count": len(expected), "frozen": was_frozen, "template": frozen.get("template")}
    return result


def paper_backend() -> JudgedBackend:
    return JudgedBackend("hi-phy-judge", "1", run, TEMPLATES)


DIMENSION = Dimension(
    id="hi_phy", needs=VIDEO_NEEDS,
    annotations_used=("judge",),
    backends={"paper": paper_backend},
)
