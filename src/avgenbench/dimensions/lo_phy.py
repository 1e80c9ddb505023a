"""Lo-Phy: low-level physical commonsense (paper: VideoPhy-2, 1–5, higher is better)."""

from __future__ import annotations

from ..media import MediaNeeds
from .base import Dimension, scale

DIMENSION = Dimension(
    id="lo_phy", display="Lo-Phy", group="fine", unit="rating 1–5", higher_is_better=True,
    normalize=scale(20), worst_raw=1.0, needs=MediaNeeds(),
    annotations_used=(),
    backends={},
    description="Physical commonsense of motion.",
)
