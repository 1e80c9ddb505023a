"""Control: does the sound do over time what the prompt says? (0–100, higher is better; outside Scheme 2).

The prompt's instructions (control_rules: loudness, tempo and pitch trends, event counts, stops, orders) come from the
frozen annotation when it carries them (`annotation.judge['ctrl']`, see control_rules.frozen), else from the rules.
Each is checked by signal on the clip's mono audio at 22050 Hz (control_checks: Theil–Sen trends of the RMS level,
of the onset rate and of pYIN's pitch; onset counts; the drop into a stop); raw = mean score of the checked
instructions. A prompt without instructions is not_applicable; one whose instructions the lite tier cannot check
(orders of named sounds only) is inconclusive. The dimension has weight 0: it is reported beside the paper's total
and never inside it, so published totals stay comparable.
"""

from __future__ import annotations

import numpy as np

from ..control_checks import Signals, check
from ..control_rules import RULES_VERSION, instructions_of
from ..media import Clip, MediaNeeds
from ..perception.control_signals import RATE
from .base import Backend, Dimension, ItemContext, Measurement, Status


class ControlSignalsLite(Backend):
    name = "ctrl-signals"
    version = f"2+{RULES_VERSION}"  # 2: onsets must rise 6 dB above the level before them (noise beds)
    tier = "lite"

    def needs(self) -> MediaNeeds:
        return MediaNeeds(audio_rates=(RATE,), needs_audio=True, needs_video=False)

    def applies(self, ctx: ItemContext) -> Measurement | None:
        instructions, source = instructions_of(ctx.item.prompt, ctx.annotation.judge)
        if not instructions:
            return Measurement(Status.NOT_APPLICABLE, evidence={"instructions_from": source},
                               message="the prompt asks for no change of the sound over time")
        return None

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        decided = self.applies(ctx)
        if decided is not None:
            return decided
        instructions, source = instructions_of(ctx.item.prompt, ctx.annotation.judge)
        signals = Signals(np.asarray(clip.audio_at(RATE), dtype=np.float32), RATE)
        results = [check(ins, signals) for ins in instructions]
        scored = [r.score for r in results if r.score is not None]
        evidence = {"instructions_from": source, "duration_s": round(signals.duration, 2),
                    "checks": [r.as_dict() for r in results],
                    "verdicts": {v: sum(1 for r in results if r.verdict == v)
                                 for v in ("pass", "partial", "fail", "unchecked")}}
        if not scored:
            return Measurement(Status.INCONCLUSIVE, evidence=evidence,
                               message="no instruction of this prompt can be checked by signal in the lite tier")
        failing = [f"{r.kind} ('{r.words}')" for r in results if r.verdict == "fail"]
        message = f"{len(scored)} instruction(s) checked" + (f"; failed: {', '.join(failing)}" if failing else "")
        return Measurement(Status.OK, float(np.mean(scored)), evidence, message)


DIMENSION = Dimension(  # display, unit, normalisation: scheme.BESIDE_TOTAL (outside Scheme 2, weight 0)
    id="ctrl", needs=MediaNeeds(audio_rates=(RATE,), needs_audio=True, needs_video=False),
    annotations_used=("judge",),  # frozen instructions sit in judge['ctrl']: a change recomputes the rows
    backends={"lite": ControlSignalsLite},
)
