"""Vis: visual quality (paper: Q-Align, 0–1, higher is better)."""

from __future__ import annotations

import numpy as np

from ..media import Clip, FrameSpec, MediaNeeds
from .base import Backend, Dimension, ItemContext, Measurement, Status, scale

FRAMES = FrameSpec(fps=2, max_side=480, gray=True)


class VisSignalLite(Backend):
    """Provisional: sharpness and exposure from grey frames, mapped to 0–1."""

    name = "vis-signal"
    version = "0.1"
    tier = "lite"

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        frames = clip.frames_for(FRAMES).images.astype(np.float32)
        lap = frames[:, 1:-1, 1:-1] * 4 - frames[:, :-2, 1:-1] - frames[:, 2:, 1:-1] - frames[:, 1:-1, :-2] - frames[:, 1:-1, 2:]
        sharpness = float(np.median(lap.reshape(len(frames), -1).var(axis=1)))
        clipped = float(np.mean((frames <= 2) | (frames >= 253)))
        sharp_score = sharpness / (sharpness + 100.0)
        raw = max(0.0, min(1.0, sharp_score * (1.0 - clipped)))
        return Measurement(Status.OK, raw, {"laplacian_var": round(sharpness, 2), "clipped_fraction": round(clipped, 4)})


DIMENSION = Dimension(
    id="vis", display="Vis", group="basic", unit="quality score 0–1", higher_is_better=True,
    normalize=scale(100), worst_raw=0.0, needs=MediaNeeds(frames=(FRAMES,)),
    backends={"lite": VisSignalLite},
    description="No-reference visual quality.",
)
