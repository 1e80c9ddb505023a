"""Face: primary identity count and stability (0–100, higher is better)."""

from __future__ import annotations

from ..media import MediaNeeds
from .base import Dimension, scale

DIMENSION = Dimension(
    id="face", display="Face", group="fine", unit="score 0–100", higher_is_better=True,
    normalize=scale(1), worst_raw=0.0, needs=MediaNeeds(),
    annotations_used=("faces",),
    backends={},
    description="Expected number of stable face identities.",
)
