"""Lip: lip synchronisation (paper: SyncNet offset, frames at 25 fps, lower is better)."""

from __future__ import annotations

from ..media import MediaNeeds
from .base import Dimension, inverse

DIMENSION = Dimension(
    id="lip", display="Lip", group="cross", unit="offset frames @25 fps", higher_is_better=False,
    normalize=inverse(8), worst_raw=8.0, needs=MediaNeeds(needs_audio=True),
    annotations_used=("faces", "speech_required"),
    backends={},
    description="Lip-audio offset of visible speakers.",
)
