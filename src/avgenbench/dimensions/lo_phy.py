"""Lo-Phy: low-level physical commonsense (paper: VideoPhy-2, 1–5, higher is better).

Paper tier (`LoPhyPaper`): VideoPhy-2's auto-evaluator is a 7B video-language model that needs a GPU, its own
inference code and local weights; this version cannot run it, so Lo-Phy records `error` saying so unless the user asks
for `--lo-phy judge`: then `LoPhyJudge`, a judge-based stand-in (an MLLM's 1–5 rating, template lo_phy.judge), runs.
It is NOT VideoPhy-2: its backend name and evidence say so, and its rows never mix with VideoPhy-2 rows.
"""

from __future__ import annotations

from typing import Any

from ..judge import stages
from ..judge.dimension_backend import JudgeBackendBase
from ..media import MediaNeeds
from . import paper_models
from .base import Backend, Dimension, Measurement, Status, scale


class LoPhyJudge(JudgeBackendBase):
    name = "lo-phy-judge-not-videophy2"
    templates = ("lo_phy.judge",)
    version = "1"

    def needs(self) -> MediaNeeds:
        return stages.VIDEO_NEEDS

    def judge(self, client, clip, ctx, repeats):
        result = stages.repeated(lambda k: stages.lo_phy_once(client, clip, ctx.item, k), repeats)
        result["method"] = "judge-based rating, not VideoPhy-2"
        return result


VIDEOPHY2_MISSING = ("the paper tier of Lo-Phy uses VideoPhy-2 (videophy_2_auto: a 7B mPLUG-Owl-Video evaluator that "
                     "needs its own inference code, a GPU and local weights), which this version cannot run; pass "
                     "--lo-phy judge for a judge-based 1–5 rating (labelled as such, not VideoPhy-2)")
LO_PHY_MODES = ("videophy2", "judge")


class LoPhyPaper(Backend):
    """The paper-tier entry: VideoPhy-2 (unavailable, said plainly) or, on request, the judge-based rating."""

    name = "lo-phy-videophy2"
    version = "1"
    tier = "paper"

    def __init__(self) -> None:
        self._judge = LoPhyJudge()

    @staticmethod
    def _by_judge(options: dict[str, Any]) -> bool:
        return options.get("lo_phy") == "judge"

    def needs(self) -> MediaNeeds:
        return stages.VIDEO_NEEDS

    def unavailable_reason(self, options: dict[str, Any]) -> str | None:
        return self._judge.unavailable_reason(options) if self._by_judge(options) else VIDEOPHY2_MISSING

    def identity(self, options: dict[str, Any]) -> tuple[str, str]:
        return self._judge.identity(options) if self._by_judge(options) else (self.name, self.version)

    def measure(self, clip, ctx) -> Measurement:
        if self._by_judge(ctx.options):
            return self._judge.measure(clip, ctx)
        return Measurement(Status.ERROR, message=VIDEOPHY2_MISSING)


DIMENSION = Dimension(
    id="lo_phy", display="Lo-Phy", group="fine", unit="rating 1–5", higher_is_better=True,
    normalize=scale(20), worst_raw=1.0, needs=MediaNeeds(),
    annotations_used=(),
    backends={"paper": paper_models.LoPhyPaperEnv},
    description="Physical commonsense of motion.",
)
