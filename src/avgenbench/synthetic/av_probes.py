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

from ..pictures import scene_frames, texture as _texture
from .encode import write_clip
from .sound import click, mix_into

SR = 48000


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
                still: bool = False, pan: int = 0, sound_times: list[float] | None = None) -> Path:
    """A bouncing ball with a click at each floor contact; the clicks are shifted by `offset_s` (audio minus video).

    `still`: the ball never moves; `pan`: the backdrop slides by this many pixels per frame (a camera pan);
    `sound_times`: click at these times instead (sound unrelated to the motion).
    """
    impacts = sorted(impacts)
    n = int(round(duration * fps))
    backdrop = _texture(height, width + pan * n, seed)
    floor_y, top_y, radius = height * 0.78, height * 0.18, max(6, height // 14)
    if not pan:
        backdrop[int(floor_y) + radius:] = (110, 100, 90)
    yy, xx = np.mgrid[0:height, 0:width]
    cx = width * (0.35 + 0.3 * (seed % 3) / 2)

    def frames() -> Iterator[np.ndarray]:
        for i in range(n):
            h = 0.0 if still else _ball_height(i / fps, impacts, duration)
            cy = floor_y - (floor_y - top_y) * h
            img = backdrop[:, pan * i:pan * i + width].copy()
            img[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2] = (235, 205, 60)
            yield img

    audio = np.zeros(int(duration * SR), np.float32)
    if not silent:
        times = sound_times if sound_times is not None else [t + offset_s for t in impacts]
        for k, t in enumerate(times):
            mix_into(audio, click(SR, seed=seed * 100 + k), t, SR)
    return write_clip(path, frames(), fps, audio, SR)


PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")


def degrade(frames: list[np.ndarray], kind: str, strength: float = 1.0, seed: int = 0) -> list[np.ndarray]:
    """Frames with one known defect. 'compression' is applied by the encoder (see vis_clip), not here."""
    rng = np.random.default_rng(seed)
    if kind == "blur":
        from scipy.ndimage import gaussian_filter

        sigma = 2.0 * strength
        return [gaussian_filter(f.astype(np.float32), (sigma, sigma, 0)).round().astype(np.uint8) for f in frames]
    if kind == "noise":
        return [np.clip(f + rng.normal(0, 14 * strength, f.shape), 0, 255).astype(np.uint8) for f in frames]
    if kind == "flicker":
        gains = 1 + 0.18 * strength * rng.uniform(-1, 1, len(frames))
        return [np.clip(f * g, 0, 255).astype(np.uint8) for f, g in zip(frames, gains)]
    if kind == "freeze":
        hold = max(2, int(round(4 * strength)))
        return [frames[(i // hold) * hold] for i in range(len(frames))]
    if kind == "compression":
        return frames
    raise ValueError(f"unknown degradation {kind!r}")


def vis_clip(path: Path | str, frames: list[np.ndarray], kind: str | None = None, fps: float = 24,
             strength: float = 1.0) -> Path:
    """Encode `frames` (clean when kind is None) with a quiet tone track; 'compression' starves the bitrate."""
    frames = degrade(frames, kind, strength) if kind else frames
    n = int(len(frames) / fps * SR)
    audio = (0.05 * np.sin(2 * np.pi * 220 * np.arange(n) / SR)).astype(np.float32)
    bitrate = int(20_000 / strength) if kind == "compression" else None
    return write_clip(path, frames, fps, audio, SR, crf=18, bitrate=bitrate)


AV_PROBE_OFFSETS = (-0.32, -0.12, 0.0, 0.08, 0.25)
AV_PROBE_IMPACTS = ((0.6, 1.35, 1.95, 2.8, 3.45), (0.8, 1.4, 2.3, 2.85, 3.6), (0.55, 1.25, 2.15, 3.0, 3.5))
EXTRA_SHIFT = 0.25
VIS_PROBE_SCENES = ("texture", "coffee", "chelsea")
VIS_DEGRADATIONS = ("blur", "noise", "compression", "flicker", "freeze")


def av_probes(out_dir: Path | str, offsets: tuple[float, ...] = AV_PROBE_OFFSETS) -> list[dict]:
    """Impact clips with known audio offsets (s); each has a variant shifted EXTRA_SHIFT further from sync (must score worse)."""
    out = Path(out_dir)
    probes = []
    for i, offset in enumerate(AV_PROBE_OFFSETS):
        if offset not in offsets:
            continue
        impacts = list(AV_PROBE_IMPACTS[i % len(AV_PROBE_IMPACTS)])
        path = impact_clip(out / f"av_impacts_{i}.mp4", impacts, offset, duration=4.2, seed=i)
        further = offset + (EXTRA_SHIFT if offset >= 0 else -EXTRA_SHIFT)
        shifted = impact_clip(out / f"av_impacts_{i}_shifted.mp4", impacts, further, duration=4.2, seed=i)
        probes.append({
            "path": str(path), "truth": {"offset_ms": round(offset * 1000, 1), "impacts_s": impacts}, "annotation": {},
            "perturbations": [{"name": f"shift_{'+' if further >= 0 else '-'}{EXTRA_SHIFT * 1000:g}ms", "path": str(shifted),
                               "truth": {"offset_ms": round(further * 1000, 1)}}],
        })
    return probes


def vis_probes(out_dir: Path | str, scenes: tuple[str, ...] = VIS_PROBE_SCENES,
               degradations: tuple[str, ...] = VIS_DEGRADATIONS) -> list[dict]:
    """Clean panned scenes, each with blur, noise, heavy-compression, flicker and freeze variants (each must score worse)."""
    out = Path(out_dir)
    probes = []
    for scene in scenes:
        frames = scene_frames(scene, duration=3.0)
        path = vis_clip(out / f"vis_{scene}_clean.mp4", frames)
        perturbations = [{"name": kind, "path": str(vis_clip(out / f"vis_{scene}_{kind}.mp4", frames, kind))}
                         for kind in degradations]
        probes.append({"path": str(path), "truth": {"clean": True, "scene": scene}, "annotation": {},
                       "perturbations": perturbations})
    return probes
