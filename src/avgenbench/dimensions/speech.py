"""Speech: required speech present and correct (0–100, higher is better)."""

from __future__ import annotations

from ..media import MediaNeeds
from .base import Dimension, scale

DIMENSION = Dimension(
    id="speech", display="Speech", group="fine", unit="score 0–100", higher_is_better=True,
    normalize=scale(1), worst_raw=0.0, needs=MediaNeeds(needs_audio=True),
    annotations_used=("speech_required", "speech_lines"),
    backends={},
    description="Speech the prompt asks for.",
)
