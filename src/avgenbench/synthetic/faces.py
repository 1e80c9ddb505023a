"""Synthetic faces of real people, pasted into frames, with a controllable mouth opening.

Identities come from real photographs that ship offline with our dependencies: scikit-image's `astronaut` (Eileen
Collins), matplotlib's `grace_hopper.jpg`, and four faces of scikit-image's LFW subset (25x25 greyscale crops, picked
so their dlib embeddings lie at least 0.72 apart from each other and from the two photographs).

Each identity becomes a square head crop (CROP px) with the face box at about half its height and its 68 landmarks
measured once. `mouth_open` in [0, 1] drops the jaw below the lip line and paints the gap dark, so the inner-lip
landmark gap grows with it. Variants (mirror, colour tints, dimming) keep the identity; another name changes it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..pictures import CROP, LFW_FACES, list_identities, paste_head  # noqa: F401 - the identities live there
from ..pictures import head_crop as _plain_crop

VARIANTS = ("plain", "mirror", "warm", "cool", "dim")
MOUTH_STEPS = 50  # mouth_open is quantised to 1/MOUTH_STEPS


def _apply_variant(crop: np.ndarray, variant: str) -> np.ndarray:
    if variant == "plain":
        return crop
    if variant == "mirror":
        return np.ascontiguousarray(crop[:, ::-1])
    gains = {"warm": (1.12, 1.0, 0.85), "cool": (0.85, 1.0, 1.12), "dim": (0.7, 0.7, 0.7)}
    if variant not in gains:
        raise KeyError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    return np.clip(crop.astype(np.float32) * np.array(gains[variant], np.float32), 0, 255).astype(np.uint8)


def face_crop(identity: str, variant: str = "plain") -> np.ndarray:
    """The identity's head crop (CROP x CROP x 3 uint8 RGB), mouth closed."""
    return _apply_variant(_plain_crop(identity), variant).copy()


@lru_cache(maxsize=None)
def _landmarks(identity: str, variant: str) -> np.ndarray:
    from ..perception.faces import detect_faces, landmarks_in

    crop = _apply_variant(_plain_crop(identity), variant)
    boxes = detect_faces(crop, detect_side=CROP)
    if not boxes:
        raise RuntimeError(f"no face found in the crop of {identity!r} ({variant})")
    box = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    return landmarks_in(crop, box)


@lru_cache(maxsize=128)
def _mouth_crop(identity: str, variant: str, step: int) -> np.ndarray:
    crop = _apply_variant(_plain_crop(identity), variant)
    if step == 0:
        return crop
    from scipy.ndimage import map_coordinates

    p = _landmarks(identity, variant).astype(np.float64)
    left, right = p[48], p[54]
    mx, width = (left[0] + right[0]) / 2, max(right[0] - left[0], 4.0)
    lip_y = (p[62][1] + p[66][1]) / 2
    chin_y = p[8][1]
    jaw_half = max((p[12][0] - p[4][0]) / 2, width)
    depth = step / MOUTH_STEPS * 0.2 * width
    ys, xs = np.mgrid[0:CROP, 0:CROP].astype(np.float64)
    dx = np.abs(xs - mx)
    # Jaw: full drop over the mouth width, fading to none at the jaw line; full drop down to the chin, fading below.
    h_jaw = np.clip((jaw_half - dx) / max(jaw_half - width / 2, 1.0), 0, 1)
    h_jaw = np.where(dx <= width / 2, 1.0, h_jaw)
    v_jaw = np.clip(1 - (ys - chin_y) / (0.12 * CROP), 0, 1)
    shift = np.where(ys >= lip_y, depth * h_jaw * v_jaw, 0.0)
    src_y = np.where(ys >= lip_y, np.maximum(ys - shift, lip_y + 0.5), ys)
    out = np.empty_like(crop)
    for c in range(3):
        out[:, :, c] = map_coordinates(crop[:, :, c].astype(np.float32), [src_y, xs], order=1, mode="nearest").astype(np.uint8)
    # The gap: a lens between the mouth corners, darkest in the middle.
    lens = depth * np.sqrt(np.clip(1 - (dx / (width / 2)) ** 2, 0, 1))
    inside = np.clip(np.minimum(ys - lip_y + 1, lip_y + lens - ys), 0, 1.5) / 1.5
    inside = np.where(lens > 0.5, inside, 0.0)[:, :, None]
    mouth = np.array([45, 18, 22], np.float32)
    return (out.astype(np.float32) * (1 - inside) + mouth * inside).astype(np.uint8)


def paste_face(frame: np.ndarray, identity: str, cx: int, cy: int, height: int, mouth_open: float = 0.0,
               variant: str = "plain") -> None:
    """Paste the identity's head, `height` px tall (the face box is about half of it), centred at (cx, cy), in place.

    `frame` is (H, W, 3) uint8 RGB; parts outside the frame are clipped. `mouth_open` in [0, 1] opens the mouth.
    """
    step = int(round(float(np.clip(mouth_open, 0.0, 1.0)) * MOUTH_STEPS))
    paste_head(frame, _mouth_crop(identity, variant, step), cx, cy, height)
