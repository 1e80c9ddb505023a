"""AV: audio-visual synchrony (paper: Synchformer offset, seconds, lower is better)."""

from __future__ import annotations

from ..media import MediaNeeds
from .base import Dimension, inverse

DIMENSION = Dimension(
    id="av", display="AV", group="cross", unit="offset seconds", higher_is_better=False,
    normalize=inverse(0.5), worst_raw=0.5, needs=MediaNeeds(needs_audio=True),
    annotations_used=(),
    backends={},
    description="Audio-visual time offset.",
)
