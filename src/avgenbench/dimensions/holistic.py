"""Holistic: story, shots, visual attributes and audio events against the prompt (MLLM judge, 0–100)."""

from __future__ import annotations

from ..media import MediaNeeds
from .base import Dimension, scale

DIMENSION = Dimension(
    id="holistic", display="Holistic", group="fine", unit="score 0–100", higher_is_better=True,
    normalize=scale(1), worst_raw=0.0, needs=MediaNeeds(needs_audio=True),
    annotations_used=("judge",),
    backends={},
    description="Whole-prompt adherence.",
)
