"""Aud: audio production quality (paper: Audiobox-Aesthetics PQ, 1–10, higher is better)."""

from __future__ import annotations

import numpy as np

from ..media import Clip, MediaNeeds
from .base import Backend, Dimension, ItemContext, Measurement, Status, scale

RATE = 16000


class AudSignalLite(Backend):
    """Provisional: clipping, level and noise floor mapped to 1–10."""

    name = "aud-signal"
    version = "0.1"
    tier = "lite"

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        audio = clip.audio_at(RATE)
        if audio.size == 0:
            return Measurement(Status.NO_AUDIO_STREAM, message="audio track is empty")
        rms = float(np.sqrt(np.mean(audio**2)) + 1e-12)
        clipped = float(np.mean(np.abs(audio) > 0.99))
        frames = audio[: len(audio) // 400 * 400].reshape(-1, 400)
        frame_db = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-9)
        dynamic = float(np.percentile(frame_db, 95) - np.percentile(frame_db, 10)) if len(frame_db) else 0.0
        level_db = 20 * np.log10(rms)
        score = 1.0 + 9.0 * float(np.clip((level_db + 60) / 40, 0, 1)) * (1 - min(1.0, clipped * 20)) * float(np.clip(dynamic / 20, 0.2, 1))
        return Measurement(Status.OK, score, {"rms_dbfs": round(level_db, 2), "clipped_fraction": round(clipped, 5),
                                              "dynamic_range_db": round(dynamic, 2)})


DIMENSION = Dimension(
    id="aud", display="Aud", group="basic", unit="production quality 1–10", higher_is_better=True,
    normalize=scale(10), worst_raw=1.0, needs=MediaNeeds(audio_rates=(RATE,), needs_audio=True),
    backends={"lite": AudSignalLite},
    description="Audio production quality.",
)
