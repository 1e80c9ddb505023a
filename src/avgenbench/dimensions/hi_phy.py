"""Hi-Phy: high-level physics against prompt expectations (MLLM judge, 0–100, higher is better)."""

from __future__ import annotations

from ..media import MediaNeeds
from .base import Dimension, scale

DIMENSION = Dimension(
    id="hi_phy", display="Hi-Phy", group="fine", unit="score 0–100", higher_is_better=True,
    normalize=scale(1), worst_raw=0.0, needs=MediaNeeds(),
    annotations_used=("judge",),
    backends={},
    description="Physical expectations of the prompt and visible violations.",
)
