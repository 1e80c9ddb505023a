"""Draw text onto frames with a real TrueType font (DejaVu Sans, shipped with matplotlib)."""

from __future__ import annotations

import numpy as np

from ..pictures import draw_text, font, text_size  # noqa: F401 - the generators' text drawing


def garble(text: str, edits: int, seed: int = 0) -> str:
    """`text` with exactly `edits` single-letter substitutions at distinct letter positions (edit distance = edits)."""
    rng = np.random.default_rng(seed)
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if edits > len(letters):
        raise ValueError(f"cannot make {edits} edits in {text!r}")
    chars = list(text)
    for i in rng.choice(letters, size=edits, replace=False):
        alphabet = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c != chars[i].upper()]
        new = alphabet[int(rng.integers(len(alphabet)))]
        chars[i] = new if chars[i].isupper() else new.lower()
    return "".join(chars)
