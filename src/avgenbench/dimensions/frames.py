"""Frame streams that several dimensions read, declared once so that one decode serves them all and a dimension
does not import another (and its models) for a frame setting."""

from __future__ import annotations

from ..media import FrameSpec

FACE_FRAMES = FrameSpec(fps=25, max_side=640, gray=True)  # Face, Lip, AV: detection, landmarks, tracking
FACE_COLOR_FRAMES = FrameSpec(fps=2.5, max_side=640)  # every 10th of those frames in colour, for the embeddings
MOTION_FRAMES = FrameSpec(fps=None, max_side=160, gray=True)  # AV motion events, Vis flicker / freeze
