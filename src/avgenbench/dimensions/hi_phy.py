"""Hi-Phy: high-level physics against prompt expectations (MLLM judge, 0–100, higher is better).

Paper tier: frozen per-prompt expectations (annotation stage 'hi_phy'), a semantic check of each expectation and a
prompt-free visual scan for violations; our code computes semantic and visual scores and round(0.5·sem + 0.5·vis).
"""

from __future__ import annotations

from ..judge import stages
from ..judge.dimension_backend import JudgeBackendBase
from ..media import MediaNeeds
from .base import Dimension


class HiPhyJudge(JudgeBackendBase):
    name = "hi-phy-judge"
    templates = ("hi_phy.expectations", "hi_phy.semantic", "hi_phy.visual")
    version = "1"

    def needs(self) -> MediaNeeds:
        return stages.VIDEO_NEEDS

    def judge(self, client, clip, ctx, repeats):
        frozen, was_frozen = stages.frozen_or_ask(ctx.annotation.judge, "hi_phy",
                                                  lambda: stages.hi_phy_expectations(client, ctx.item))
        expectations = frozen["expectations"]
        result = stages.repeated(lambda k: stages.hi_phy_once(client, clip, ctx.item, expectations, k), repeats)
        result["expectations"] = {"count": len(expectations), "frozen": was_frozen, "template": frozen.get("template")}
        return result


DIMENSION = Dimension(
    id="hi_phy", needs=MediaNeeds(),
    annotations_used=("judge",),
    backends={"paper": HiPhyJudge},
)
