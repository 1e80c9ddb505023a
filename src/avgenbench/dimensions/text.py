"""Text: on-screen text quality and prompt match (0–100, higher is better)."""

from __future__ import annotations

from ..media import MediaNeeds
from .base import Dimension, scale

DIMENSION = Dimension(
    id="text", display="Text", group="fine", unit="score 0–100", higher_is_better=True,
    normalize=scale(1), worst_raw=0.0, needs=MediaNeeds(),
    annotations_used=("required_text",),
    backends={},
    description="Required on-screen text, legible and stable.",
)
