"""Draw text onto frames with a real TrueType font (DejaVu Sans, shipped with matplotlib)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont


@lru_cache(maxsize=8)
def font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / name), size)


def text_size(text: str, size: int, bold: bool = True) -> tuple[int, int]:
    left, top, right, bottom = font(size, bold).getbbox(text)
    return right - left, bottom - top


def draw_text(image: np.ndarray, text: str, x: int, y: int, size: int, color=(255, 255, 255),
              box: tuple[int, int, int] | None = None, bold: bool = True) -> tuple[int, int, int, int]:
    """Draw `text` with its top-left at (x, y) in place; optional solid box behind it. Returns the text's bbox."""
    pil = Image.fromarray(image)
    draw = ImageDraw.Draw(pil)
    f = font(size, bold)
    left, top, right, bottom = draw.textbbox((x, y), text, font=f)
    if box is not None:
        pad = max(2, size // 5)
        draw.rectangle((left - pad, top - pad, right + pad, bottom + pad), fill=tuple(box))
    draw.text((x, y), text, font=f, fill=tuple(color))
    image[...] = np.asarray(pil)
    return left, top, right, bottom


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
