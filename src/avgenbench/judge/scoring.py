"""Scores computed by our code from the judge's verdicts (the judge never does the arithmetic)."""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

from ..words import normalize_words

# Hi-Phy semantic check
MISMATCH_DEDUCTION = {"severe": 30, "moderate": 15, "minor": 8}
MISSING_DEDUCTION = {"strong": 20, "medium": 12, "weak": 6}
# Hi-Phy visual scan, and the Holistic subscores
SEVERITY_DEDUCTION = {"severe": 25, "moderate": 12, "minor": 5}
MISSING_CORE_DEDUCTION = 10
HOLISTIC_WEIGHTS = {"narrative": 0.35, "shot": 0.15, "visual": 0.30, "audio": 0.20}
HOLISTIC_LISTS = {"story_beats": "narrative", "editing": "shot", "visual_attributes": "visual", "audio_events": "audio"}
TEXT_SUBSCORES = ("legibility", "temporal_stability", "spatial_stability", "completeness", "prompt_match")
SPEECH_PASS = 80.0


def _floor(value: float) -> float:
    return max(0.0, float(value))


def hi_phy_semantic(expectations: list[dict[str, Any]], checks: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
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
    return _floor(score), items


def hi_phy_visual(violations: list[dict[str, Any]]) -> float:
    return _floor(100 - sum(SEVERITY_DEDUCTION.get(v.get("severity"), 0) for v in violations))


def hi_phy_overall(semantic: float, visual: float) -> int:
    # round half up, so 0.5·(x + y) of integers never depends on banker's rounding
    return int(0.5 * semantic + 0.5 * visual + 0.5)


def holistic_subscores(requirements: dict[str, list[dict[str, Any]]], items: list[dict[str, Any]],
                       other_issues: list[dict[str, Any]]) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Per area: 100 − Σ (flawed: severity deduction; missing core item: 10; missing other item: 5 as minor;
    extra issues: severity deduction), floored at 0. Items the judge did not answer count as missing."""
    by_id = {i.get("id"): i for i in items}
    scores = {area: 100.0 for area in HOLISTIC_WEIGHTS}
    ledger = []
    for list_name, area in HOLISTIC_LISTS.items():
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
    return {area: _floor(v) for area, v in scores.items()}, ledger


def holistic_total(subscores: dict[str, float]) -> float:
    return sum(HOLISTIC_WEIGHTS[a] * subscores[a] for a in HOLISTIC_WEIGHTS)


def text_score(verdict: dict[str, Any]) -> float | None:
    """Mean of the five subscores when text is required or incidental; 0 when required text is absent;
    None (not scored) when the video has no real text and none was asked for."""
    presence = verdict.get("presence")
    if verdict.get("text_required") and presence in ("none", "noise"):
        return 0.0
    if presence not in ("required", "incidental"):
        return None
    return sum(float(verdict[k]) for k in TEXT_SUBSCORES) / len(TEXT_SUBSCORES)


def speech_verbatim(lines: list[str], transcript: str) -> tuple[float, list[dict[str, Any]]]:
    """Quoted lines against the transcript, exact up to the shared normaliser (avgenbench/words.py: case, punctuation,
    hyphens, numbers written as digits or words): per line, the best word-level
    similarity over transcript windows of the line's length (1.0 exact); score = 100 × mean."""
    heard = normalize_words(transcript)
    details, total = [], 0.0
    for line in lines:
        want = normalize_words(line)
        if not want:
            continue
        best, best_text = 0.0, ""
        span = len(want)
        for size in {max(1, span - 1), span, span + 1}:
            for start in range(0, max(1, len(heard) - size + 1)):
                window = heard[start:start + size]
                ratio = SequenceMatcher(None, want, window, autojunk=False).ratio()
                if ratio > best:
                    best, best_text = ratio, " ".join(window)
        total += best
        details.append({"line": line, "heard": best_text, "similarity": round(best, 3), "exact": best == 1.0})
    if not details:
        return 0.0, []
    return 100.0 * total / len(details), details


def speech_passes(score: float) -> bool:
    return score >= SPEECH_PASS


def music_score(n_constraints: int, verdicts: list[dict[str, Any]]) -> float:
    """100 × (satisfied + 0.5 × partial) / constraints; a constraint without a verdict counts as violated."""
    if n_constraints <= 0:
        raise ValueError("music_score needs at least one constraint")
    by_index = {v.get("index"): v.get("verdict") for v in verdicts}
    points = sum({"satisfied": 1.0, "partial": 0.5}.get(by_index.get(i), 0.0) for i in range(n_constraints))
    return 100.0 * points / n_constraints
