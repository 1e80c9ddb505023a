"""Lo-Phy: low-level physical commonsense (paper: VideoPhy-2, 1–5, higher is better).

Paper tier (`LoPhyPaper`): VideoPhy-2's auto-evaluator is a 7B video-language model that needs a GPU, its own
inference code and local weights; this version cannot run it, so Lo-Phy records `error` saying so unless the user asks
for `--lo-phy judge`: then `judge_backend()`, a judge-based stand-in (an MLLM's 1–5 rating, template lo_phy.judge), runs.
It is NOT VideoPhy-2: its backend name and evidence say so, and its rows never mix with VideoPhy-2 rows.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..judge.templates import request
from ..suite import PromptItem
from .base import Backend, Dimension, Measurement, Status
from .judged import VIDEO_NEEDS, JudgedBackend, media_parts, repeated


def judge_once(client, clip, item: PromptItem, repeat: int = 0) -> dict[str, Any]:
    """The stand-in's one stage (lo_phy.judge, the video without sound): a 1–5 rating and up to three reasons."""
    answer = client.ask(request("lo_phy.judge", media_parts(client, clip, with_audio=False), repeat))
    return {"score": float(answer.data["rating"]), "reasons": [r[:160] for r in answer.data["reasons"][:3]],
            "calls": answer.calls, "cached": int(answer.cached)}


def run_judge(client, clip, ctx, repeats):
    result = repeated(lambda k: judge_once(client, clip, ctx.item, k), repeats)
    result["method"] = "judge-based rating, not VideoPhy-2"
    return result


def judge_backend() -> JudgedBackend:
    """The judge-based stand-in (`--lo-phy judge`); its name says it is not VideoPhy-2."""
    return JudgedBackend("lo-phy-judge-not-videophy2", "1", run_judge, ("lo_phy.judge",))


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
        self._judge = judge_backend()

    @staticmethod
    def _by_judge(options: Mapping[str, Any]) -> bool:
        return options.get("lo_phy") == "judge"

    def unavailable_reason(self, options: Mapping[str, Any]) -> str | None:
        return self._judge.unavailable_reason(options) if self._by_judge(options) else VIDEOPHY2_MISSING

    def identity(self, options: Mapping[str, Any]) -> tuple[str, str]:
        return self._judge.identity(options) if self._by_judge(options) else (self.name, self.version)

    def measure(self, clip, ctx) -> Measurement:
        if self._by_judge(ctx.options):
            return self._judge.measure(clip, ctx)
        return Measurement(Status.ERROR, message=VIDEOPHY2_MISSING)


DIMENSION = Dimension(
    id="lo_phy", needs=VIDEO_NEEDS,
    annotations_used=(),
    backends={"paper": LoPhyPaper},
)
