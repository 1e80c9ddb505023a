"""Music: pitch accuracy against the prompt's explicit notes (0–100, higher is better)."""

from __future__ import annotations

from ..media import MediaNeeds
from .base import Dimension, scale

DIMENSION = Dimension(
    id="music", display="Music", group="fine", unit="score 0–100", higher_is_better=True,
    normalize=scale(1), worst_raw=0.0, needs=MediaNeeds(needs_audio=True),
    annotations_used=("music",),
    backends={},
    description="Notes, sequences and chords as the prompt asks.",
)
