"""Control: does the sound do over time what the prompt says? (0–100, higher is better; outside Scheme 2).

The prompt's instructions (control_rules: loudness, tempo and pitch trends, event counts, stops, orders) come from the
frozen annotation when it carries them (`annotation.judge['ctrl']`, see control_rules.frozen), else from the rules.
Each is checked by signal on the clip's mono audio at 22050 Hz and, for counts tied to a visible action, on the
motion frames (control_checks: Theil–Sen trends of the RMS level, of the onset rate and of pYIN's pitch; onset and
motion-event counts; the drop into a stop; the order of two sound classes); raw = mean score of the checked
instructions. A prompt without instructions is not_applicable; one whose instructions the signals cannot settle
(verdicts unchecked or inconclusive) is inconclusive in lite. In the paper tier the MLLM judge (template ctrl.judge)
settles those: satisfied 100, partial 50, violated 0, each counted in the mean like a signal check; the lite tier
never calls a judge. The dimension has weight 0: it is reported beside the paper's total and never inside it, so
published totals stay comparable.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..control_checks import UNSETTLED, CheckResult, Signals, check
from ..control_rules import RULES_VERSION, Instruction, instructions_of
from ..judge.templates import request
from ..media import Clip, MediaNeeds
from ..perception.control_signals import RATE
from .base import Backend, Dimension, ItemContext, Measurement, Status
from .frames import MOTION_FRAMES
from .judged import AV_NEEDS, JudgedBackend, JudgeOutcome, media_parts, repeated

NEEDS = MediaNeeds(frames=(MOTION_FRAMES,), audio_rates=(RATE,), needs_audio=True, needs_video=False)
TEMPLATE = "ctrl.judge"
JUDGE_SCORES = {"satisfied": 100.0, "partial": 50.0, "violated": 0.0}
JUDGE_VERDICTS = {"satisfied": "pass", "partial": "partial", "violated": "fail"}
# 3: orders checked on sound classes, counts tied to a visible action also counted in the picture
SIGNALS_VERSION = f"3+{RULES_VERSION}"


def _not_applicable(ctx: ItemContext) -> Measurement | None:
    instructions, source = instructions_of(ctx.item.prompt, ctx.annotation.judge)
    if not instructions:
        return Measurement(Status.NOT_APPLICABLE, evidence={"instructions_from": source},
                           message="the prompt asks for no change of the sound over time")
    return None


def signal_checks(clip: Clip, ctx: ItemContext) -> tuple[list[Instruction], str, Signals, list[CheckResult]]:
    """The instructions, where they came from, the clip's signals and each instruction's check by signal."""
    instructions, source = instructions_of(ctx.item.prompt, ctx.annotation.judge)
    frames = None
    if MOTION_FRAMES in clip.frames:
        stream = clip.frames_for(MOTION_FRAMES)
        frames = (stream.images, stream.times)
    signals = Signals(np.asarray(clip.audio_at(RATE), dtype=np.float32), RATE, frames)
    return instructions, source, signals, [check(ins, signals) for ins in instructions]


def _evidence(source: str, signals: Signals, results: list[CheckResult]) -> dict[str, Any]:
    return {"instructions_from": source, "duration_s": round(signals.duration, 2),
            "checks": [r.as_dict() for r in results],
            "verdicts": {v: sum(1 for r in results if r.verdict == v)
                         for v in ("pass", "partial", "fail", *UNSETTLED)}}


def _message(results: list[CheckResult], scored: int) -> str:
    failing = [f"{r.kind} ('{r.words}')" for r in results if r.verdict == "fail"]
    return f"{scored} instruction(s) checked" + (f"; failed: {', '.join(failing)}" if failing else "")


class ControlSignalsLite(Backend):
    name = "ctrl-signals"
    version = SIGNALS_VERSION
    tier = "lite"

    def needs(self) -> MediaNeeds:
        return NEEDS

    def applies(self, ctx: ItemContext) -> Measurement | None:
        return _not_applicable(ctx)

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        decided = self.applies(ctx)
        if decided is not None:
            return decided
        _, source, signals, results = signal_checks(clip, ctx)
        scored = [r.score for r in results if r.score is not None]
        evidence = _evidence(source, signals, results)
        if not scored:
            return Measurement(Status.INCONCLUSIVE, evidence=evidence,
                               message="no instruction of this prompt can be settled by signal in the lite tier")
        return Measurement(Status.OK, float(np.mean(scored)), evidence, _message(results, len(scored)))


# ---- paper tier: the judge settles what the signals could not ----

def _judge_once(client, clip: Clip, ctx: ItemContext, results: list[CheckResult], open_ids: list[int],
                repeat: int) -> dict[str, Any]:
    listed = [{"id": f"i{k}", "kind": results[k].kind, "words": results[k].words,
               "signals": results[k].evidence.get("message", results[k].verdict)} for k in open_ids]
    answer = client.ask(request(TEMPLATE, media_parts(client, clip, with_audio=True), repeat,
                                {"settled": [e["id"] for e in listed]}, prompt=ctx.item.prompt,
                                instructions=json.dumps(listed, ensure_ascii=False)))
    by_id = {v.get("id"): v for v in answer.data.get("settled", []) if isinstance(v, dict)}
    verdicts = [{"id": e["id"], "verdict": by_id[e["id"]]["verdict"], "reason": by_id[e["id"]].get("reason", "")}
                for e in listed]
    score = float(np.mean([JUDGE_SCORES[v["verdict"]] for v in verdicts]))
    return {"score": score, "judge_verdicts": verdicts, "calls": answer.calls, "cached": int(answer.cached)}


def run_paper(client, clip: Clip, ctx: ItemContext, repeats) -> JudgeOutcome | Measurement:
    decided = _not_applicable(ctx)
    if decided is not None:
        return decided
    _, source, signals, results = signal_checks(clip, ctx)
    open_ids = [k for k, r in enumerate(results) if r.verdict in UNSETTLED]
    signal_scores = [r.score for r in results if r.score is not None]
    evidence = _evidence(source, signals, results)
    if not open_ids or client is None:
        if open_ids:
            evidence["unsettled"] = "no judge configured: the instructions the signals could not settle stay unsettled"
        if not signal_scores:
            return Measurement(Status.INCONCLUSIVE, evidence=evidence,
                               message="no instruction of this prompt can be settled without a judge")
        return JudgeOutcome(float(np.mean(signal_scores)), evidence=evidence,
                            message=_message(results, len(signal_scores)))
    outcome = repeated(lambda k: _judge_once(client, clip, ctx, results, open_ids, k), repeats)
    for k, verdict in zip(open_ids, outcome.evidence["judge_verdicts"]):
        entry = evidence["checks"][k]
        entry.update(signal_verdict=entry["verdict"], verdict=JUDGE_VERDICTS[verdict["verdict"]],
                     score=JUDGE_SCORES[verdict["verdict"]], settled_by="judge", judge_reason=verdict["reason"])
    raw = (sum(signal_scores) + outcome.score * len(open_ids)) / (len(signal_scores) + len(open_ids))
    evidence["settled_by_judge"] = len(open_ids)
    if "judge_repeats" in outcome.evidence:
        evidence["judge_repeats"] = outcome.evidence["judge_repeats"]
    message = (f"{len(signal_scores)} instruction(s) checked by signal, {len(open_ids)} settled by the judge "
               f"(mean {outcome.score:.0f})")
    return JudgeOutcome(raw, outcome.calls, outcome.cached, evidence, message)


def paper_backend() -> JudgedBackend:
    return JudgedBackend("ctrl-signals-judge", f"1+{SIGNALS_VERSION}", run_paper, (TEMPLATE,), judge_optional=True,
                         applies=_not_applicable, needs=NEEDS.merge(AV_NEEDS))


DIMENSION = Dimension(  # display, unit, normalisation: scheme.BESIDE_TOTAL (outside Scheme 2, weight 0)
    id="ctrl", needs=NEEDS,
    annotations_used=("judge",),  # frozen instructions sit in judge['ctrl']: a change recomputes the rows
    backends={"lite": ControlSignalsLite, "paper": paper_backend},
)
