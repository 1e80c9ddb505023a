"""Vis, paper tier: Q-Align's video quality (q-future/one-align, loaded with its own remote code), run in the
`q-align` environment.

The model answers "the quality of the video is <level>"; its score is the expectation of the level weights under the
probabilities of the five level words. The paper's raw value is that expectation on a 0–1 scale: excellent 1, good
.75, fair .5, poor .25, bad 0. one-align's `score` weighs the levels by a multiple of those weights (its
`weight_tensor`); `unit_quality` divides by the largest weight, so the raw value is on 0–1 whichever multiple it uses.
Frames are sampled at 1 fps, as the model's own video loader does.
"""

from __future__ import annotations

import numpy as np

from ..dimensions.base import Measurement, Status
from .common import PaperWorker
from .identities import Q_ALIGN, Q_ALIGN_FRAMES

LEVELS = ("excellent", "good", "fair", "poor", "bad")
LEVEL_WEIGHTS = (1.0, 0.75, 0.5, 0.25, 0.0)
FRAMES = Q_ALIGN_FRAMES
WEIGHTS = "one-align"


def quality_from_level_probs(probs) -> float:
    """Σ p·w over the five levels, the probabilities renormalised over those five words."""
    p = np.asarray(probs, dtype=float)
    if p.shape != (len(LEVELS),) or (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"expected {len(LEVELS)} non-negative level probabilities, got {probs!r}")
    return float((p / p.sum()) @ np.asarray(LEVEL_WEIGHTS))


def quality_from_level_logits(logits) -> float:
    """The same from the five level words' logits (softmax over those five)."""
    z = np.asarray(logits, dtype=float)
    e = np.exp(z - z.max())
    return quality_from_level_probs(e / e.sum())


def unit_quality(score: float, level_weights=None) -> float:
    """A score weighted by some multiple of LEVEL_WEIGHTS, on 0–1."""
    weights = np.asarray(LEVEL_WEIGHTS if level_weights is None else level_weights, dtype=float)
    ratios = weights / weights.max()
    if not np.allclose(ratios, LEVEL_WEIGHTS):
        raise ValueError(f"the model weighs the levels {weights.tolist()}, not in the ratios {LEVEL_WEIGHTS}")
    value = float(score) / float(weights.max())
    if not -1e-6 <= value <= 1 + 1e-6:
        raise ValueError(f"score {score} is outside 0–{weights.max():g}")
    return min(1.0, max(0.0, value))


class QAlignVis(PaperWorker, identity=Q_ALIGN):
    def _build(self, weights):
        from transformers import AutoModelForCausalLM

        options = {"trust_remote_code": True, "device_map": self._device}
        if self._device.startswith("cuda"):
            import torch

            options["torch_dtype"] = torch.float16
        return AutoModelForCausalLM.from_pretrained(str(weights / WEIGHTS), **options)

    def measure(self, clip, ctx) -> Measurement:
        from PIL import Image

        images = clip.frames_for(FRAMES).images
        if len(images) == 0:
            return Measurement(Status.TOO_SHORT, message="no frame to score")
        model = self._load()
        video = [Image.fromarray(np.ascontiguousarray(frame)).convert("RGB") for frame in images]
        scores = model.score([video], task_="quality", input_="video")
        weights = getattr(model, "weight_tensor", None)
        weights = None if weights is None else [float(w) for w in weights.tolist()]
        score = float(scores.tolist()[0] if hasattr(scores, "tolist") else scores[0])
        return Measurement(Status.OK, unit_quality(score, weights),
                           {"model_score": round(score, 4), "frames": len(video), "device": self._device})


if __name__ == "__main__":
    from ..worker import serve

    serve(QAlignVis())
