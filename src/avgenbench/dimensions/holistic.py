"""Holistic: story, shots, visual attributes and audio events against the prompt (MLLM judge, 0–100).

Paper tier: a frozen per-prompt checklist (annotation stage 'holistic'), one judged check of the video with sound;
our code computes the four subscores and 0.35·narrative + 0.15·shot + 0.30·visual + 0.20·audio.
"""

from __future__ import annotations

from ..judge import stages
from ..judge.dimension_backend import JudgeBackendBase
from ..media import MediaNeeds
from .base import Dimension


class HolisticJudge(JudgeBackendBase):
    name = "holistic-judge"
    templates = ("holistic.requirements", "holistic.check")
    version = "1"

    def needs(self) -> MediaNeeds:
        return stages.AV_NEEDS

    def judge(self, client, clip, ctx, repeats):
        frozen, was_frozen = stages.frozen_or_ask(ctx.annotation.judge, "holistic",
                                                  lambda: stages.holistic_requirements(client, ctx.item))
        requirements = frozen["requirements"]
        result = stages.repeated(lambda k: stages.holistic_once(client, clip, ctx.item, requirements, k), repeats)
        result["checklist"] = {"counts": {k: len(v) for k, v in requirements.items()}, "frozen": was_frozen,
                               "template": frozen.get("template")}
        return result


DIMENSION = Dimension(
    id="holistic", needs=MediaNeeds(needs_audio=True),
    annotations_used=("judge",),
    backends={"paper": HolisticJudge},
)
