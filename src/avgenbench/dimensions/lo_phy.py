"""Lo-Phy: low-level physical commonsense (paper: VideoPhy-2, 1–5, higher is better).

`LoPhyJudge` is an optional judge-based stand-in (an MLLM's 1–5 rating, template lo_phy.judge). It is NOT VideoPhy-2:
its backend name says so and it is not registered as the paper backend; register it explicitly to use it.
"""

from __future__ import annotations

from ..judge import stages
from ..judge.dimension_backend import JudgeBackendBase
from ..media import MediaNeeds
from .base import Dimension, scale


class LoPhyJudge(JudgeBackendBase):
    name = "lo-phy-judge-not-videophy2"
    version = "1"

    def needs(self) -> MediaNeeds:
        return stages.VIDEO_NEEDS

    def judge(self, client, clip, ctx, repeats):
        result = stages.repeated(lambda k: stages.lo_phy_once(client, clip, ctx.item, k), repeats)
        result["method"] = "judge-based rating, not VideoPhy-2"
        return result


DIMENSION = Dimension(
    id="lo_phy", display="Lo-Phy", group="fine", unit="rating 1–5", higher_is_better=True,
    normalize=scale(20), worst_raw=1.0, needs=MediaNeeds(),
    annotations_used=(),
    backends={},
    description="Physical commonsense of motion.",
)
