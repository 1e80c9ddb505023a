"""Ground-truth probe clips for the AV (synchrony) and Vis (visual quality) dimensions.

`impact_clip` renders a ball that bounces off the floor at known times over a textured backdrop, with a click at each
contact shifted by a chosen audio offset (positive: the sound comes late). `textured_clip` renders a slow pan over a
photograph or a procedural texture; `degrade` re-renders a clean clip with one known defect (blur, noise, heavy
compression, brightness flicker, frozen frames). `av_probes` and `vis_probes` write small sets of both for calibrate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from .encode import write_clip
from .sound import click, mix_into

SR = 48000


def _texture(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth-plus-detailed random colour texture (uint8 RGB), never flat."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    out = np.zeros((height, width, 3), np.float32)
    for sigma, weight in ((24.0, 1.0), (6.0, 0.6), (1.5, 0.35)):
        layer = gaussian_filter(rng.standard_normal((height, width, 3)).astype(np.float32), (sigma, sigma, 0))
        out += weight * layer / (layer.std() + 1e-6)
    out = 128 + 38 * out
    return np.clip(out, 0, 255).astype(np.uint8)


def _photo(name: str) -> np.ndarray:
    from skimage import color, data

    image = getattr(data, name)()
    if image.ndim == 2:
        image = color.gray2rgb(image)
    return image[..., :3].astype(np.uint8)


def _ball_height(t: float, impacts: list[float], duration: float) -> float:
    """0 on the floor, 1 at the top of a hop; parabolic hops that touch the floor exactly at each impact."""
    points = [-0.6] + list(impacts) + [duration + 0.6]
    for a, b in zip(points, points[1:]):
        if a <= t <= b:
            u = (t - a) / (b - a)
            return 4 * u * (1 - u)
    return 0.0


def impact_clip(path: Path | str, impacts: list[float], offset_s: float = 0.0, duration: float = 4.0,
                width: int = 480, height: int = 270, fps: float = 24, seed: int = 0, silent: bool = False,
                still: bool = False) -> Path:
    """A bouncing ball with a click at each floor contact; the clicks are shifted by `offset_s` (audio minus video)."""
    impacts = sorted(impacts)
    backdrop = _texture(height, width, seed)
    floor_y, top_y, radius = height * 0.78, height * 0.18, max(6, height // 14)
    backdrop[int(floor_y) + radius:] = (110, 100, 90)
    yy, xx = np.mgrid[0:height, 0:width]
    cx = width * (0.35 + 0.3 * (seed % 3) / 2)

    def frames() -> Iterator[np.ndarray]:
        for i in range(int(round(duration * fps))):
            h = 0.0 if still else _ball_height(i / fps, impacts, duration)
            cy = floor_y - (floor_y - top_y) * h
            img = backdrop.copy()
            img[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2] = (235, 205, 60)
            yield img

    audio = np.zeros(int(duration * SR), np.float32)
    if not silent:
        for k, t in enumerate(impacts):
            mix_into(audio, click(SR, seed=seed * 100 + k), t + offset_s, SR)
    return write_clip(path, frames(), fps, audio, SR)
