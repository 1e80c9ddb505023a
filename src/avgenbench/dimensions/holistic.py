"""Holistic: story, shots, visual attributes and audio events against the prompt (MLLM judge, 0–100).

Paper tier only. Stages:
1. checklist (text only, template holistic.requirements): story beats, editing, visual attributes and audio events the
   prompt asks for, each marked core or not; frozen per prompt by `avgenbench annotate` (annotation stage 'holistic'),
   else asked here once per prompt (cached).
2. check (holistic.check, the video with sound): a verdict per item (met / flawed with a severity / missing) and other
   issues by area. Per area: 100 − Σ (flawed: SEVERITY_DEDUCTION; missing core item: 10; missing other item: 5;
   other issues: SEVERITY_DEDUCTION), floored at 0; items the judge did not answer count as missing.
Score = 0.35·narrative + 0.15·shot + 0.30·visual + 0.20·audio, computed here.
"""

from __future__ import annotations

import json
from typing import Any

from ..judge.templates import load, request
from ..suite import PromptItem
from .base import Dimension
from .judged import AV_NEEDS, JudgedBackend, floor0, frozen_or_ask, media_parts, repeated

SEVERITY_DEDUCTION = {"severe": 25, "moderate": 12, "minor": 5}
MISSING_CORE_DEDUCTION = 10
WEIGHTS = {"narrative": 0.35, "shot": 0.15, "visual": 0.30, "audio": 0.20}
LISTS = {"story_beats": "narrative", "editing": "shot", "visual_attributes": "visual", "audio_events": "audio"}
TEMPLATES = ("holistic.requirements", "holistic.check")


def subscores(requirements: dict[str, list[dict[str, Any]]], items: list[dict[str, Any]],
              other_issues: list[dict[str, Any]]) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Per area: 100 − Σ (flawed: severity deduction; missing core item: 10; missing other item: 5 as minor;
    extra issues: severity deduction), floored at 0. Items the judge did not answer count as missing."""
    by_id = {i.get("id"): i for i in items}
    scores = {area: 100.0 for area in WEIGHTS}
    ledger = []
    for list_name, area in LISTS.items():
        for req in requirements.get(list_name, []):
            verdict = by_id.get(req["id"], {"verdict": "missing", "severity": "none"})
            kind = verdict.get("verdict", "missing")
            if kind == "flawed":
                deduction = SEVERITY_DEDUCTION.get(verdict.get("severity"), SEVERITY_DEDUCTION["moderate"])
            elif kind == "missing":
                deduction = MISSING_CORE_DEDUCTION if req.get("core") else SEVERITY_DEDUCTION["minor"]
            else:
                deduction = 0
            scores[area] -= deduction
            if deduction:
                ledger.append({"id": req["id"], "area": area, "verdict": kind, "deduction": deduction})
    for issue in other_issues:
        area = issue.get("area")
        if area in scores:
            deduction = SEVERITY_DEDUCTION.get(issue.get("severity"), 0)
            scores[area] -= deduction
            ledger.append({"id": "extra", "area": area, "severity": issue.get("severity"), "deduction": deduction})
    return {area: floor0(v) for area, v in scores.items()}, ledger


def total(areas: dict[str, float]) -> float:
    return sum(WEIGHTS[a] * areas[a] for a in WEIGHTS)


def requirements(client, item: PromptItem) -> dict[str, Any]:
    """Stage 1 (text only): the annotation stage 'holistic', as `avgenbench annotate` freezes it."""
    answer = client.ask(request("holistic.requirements", prompt=item.prompt))
    lists = {k: answer.data.get(k, []) for k in LISTS}
    return {"requirements": lists, "template": load("holistic.requirements").tag, "judge": client.label}


def judge_once(client, clip, item: PromptItem, checklist: dict[str, list[dict[str, Any]]],
               repeat: int = 0) -> dict[str, Any]:
    """Stage 2 on the video with sound, and the score."""
    parts = media_parts(client, clip, with_audio=True)
    ids = [r["id"] for reqs in checklist.values() for r in reqs]
    answer = client.ask(request("holistic.check", parts, repeat, {"items": ids}, prompt=item.prompt,
                                requirements=json.dumps(checklist, ensure_ascii=False)))
    areas, deductions = subscores(checklist, answer.data["items"], answer.data["other_issues"])
    return {"score": round(total(areas), 3), "subscores": areas, "deductions": deductions,
            "calls": answer.calls, "cached": int(answer.cached)}


def run(client, clip, ctx, repeats):
    frozen, was_frozen = frozen_or_ask(ctx.annotation.judge, "holistic", lambda: requirements(client, ctx.item))
    checklist = frozen["requirements"]
    result = repeated(lambda k: judge_once(client, clip, ctx.item, checklist, k), repeats)
    result.evidence["checklist"] = {"counts": {k: len(v) for k, v in checklist.items()}, "frozen": was_frozen,
                           "template": frozen.get("template")}
    return result


def paper_backend() -> JudgedBackend:
    return JudgedBackend("holistic-judge", "1", run, TEMPLATES)


DIMENSION = Dimension(
    id="holistic", needs=AV_NEEDS,
    annotations_used=("judge",),
    backends={"paper": paper_backend},
)
