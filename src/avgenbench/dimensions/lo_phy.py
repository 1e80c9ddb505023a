"""Lo-Phy: low-level physical commonsense (paper: VideoPhy-2, 1–5, higher is better).

Paper tier (`LoPhyPaperEnv`): VideoPhy-2's auto-evaluator (a 7B video-language model: a GPU, its
repository's inference code and local weights) runs in its own environment (`avgenbench setup paper --dimensions
lo_phy`; missing until then, with that fix in `doctor`). With `--lo-phy judge`, `judge_backend()` runs instead: a
judge-based stand-in (an MLLM's 1–5 rating, template lo_phy.judge). It is NOT VideoPhy-2: its backend name and evidence
say so, and its rows never mix with VideoPhy-2 rows.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..judge.templates import request
from ..paper_workers.identities import VIDEOPHY2
from ..suite import PromptItem
from .base import Backend, Dimension, Measurement
from .in_env import ModelEnvBackend
from .judged import VIDEO_NEEDS, JudgedBackend, media_parts, repeated


def judge_once(client, clip, item: PromptItem, repeat: int = 0) -> dict[str, Any]:
    """The stand-in's one stage (lo_phy.judge, the video without sound): a 1–5 rating and up to three reasons."""
    answer = client.ask(request("lo_phy.judge", media_parts(client, clip, with_audio=False), repeat))
    return {"score": float(answer.data["rating"]), "reasons": [r[:160] for r in answer.data["reasons"][:3]],
            "calls": answer.calls, "cached": int(answer.cached)}


def run_judge(client, clip, ctx, repeats):
    result = repeated(lambda k: judge_once(client, clip, ctx.item, k), repeats)
    result.evidence["method"] = "judge-based rating, not VideoPhy-2"
    return result


def judge_backend() -> JudgedBackend:
    """The judge-based stand-in (`--lo-phy judge`); its name says it is not VideoPhy-2."""
    return JudgedBackend("lo-phy-judge-not-videophy2", "1", run_judge, ("lo_phy.judge",))


LO_PHY_MODES = ("videophy2", "judge")


class VideoPhy2Paper(ModelEnvBackend):
    name, version, env_name, media = VIDEOPHY2.name, VIDEOPHY2.version, "videophy2", VIDEOPHY2.needs

    def unavailable_reason(self, options: Mapping[str, Any]) -> str | None:
        reason = super().unavailable_reason(options)
        return reason and (f"VideoPhy-2 is not set up ({reason}); or pass --lo-phy judge for a judge-based 1–5 "
                           "rating (labelled as such, not VideoPhy-2)")


class LoPhyPaperEnv(Backend):
    """Lo-Phy's paper entry: VideoPhy-2 in its environment, or with `--lo-phy judge` the judge-based rating (labelled
    as not VideoPhy-2; lo_phy.judge_backend)."""

    name, version, tier = VIDEOPHY2.name, VIDEOPHY2.version, "paper"

    def __init__(self) -> None:
        self._judge = judge_backend()
        self._videophy2 = VideoPhy2Paper()

    def _chosen(self, options: Mapping[str, Any]) -> Backend:
        return self._judge if options.get("lo_phy") == "judge" else self._videophy2

    def needs(self):
        merged = self._videophy2.needs().merge(self._judge.needs() or VIDEO_NEEDS)
        return None if merged == VIDEO_NEEDS else merged  # None: the dimension's declared needs

    def unavailable_reason(self, options: Mapping[str, Any]) -> str | None:
        return self._chosen(options).unavailable_reason(options)

    def identity(self, options: Mapping[str, Any]) -> tuple[str, str]:
        return self._chosen(options).identity(options)

    def measure(self, clip, ctx) -> Measurement:
        return self._chosen(ctx.options).measure(clip, ctx)

    def close(self) -> None:
        self._videophy2.close()


DIMENSION = Dimension(
    id="lo_phy", needs=VIDEO_NEEDS,
    annotations_used=(),
    backends={"paper": LoPhyPaperEnv},
)
