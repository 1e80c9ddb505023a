"""Generation providers: prompt in, mp4 out. `synthetic` renders prompts that carry a `synthetic` clip spec.

Minimal version: a ball that hits the floor at given times with a click at each contact, and tones at given MIDI
notes. The full ground-truth generator extends the spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..suite import PromptItem, Suite
from .encode import write_clip


def midi_to_hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def render_spec(spec: dict[str, Any], path: Path) -> Path:
    fps = spec.get("fps", 24)
    width, height = spec.get("width", 640), spec.get("height", 360)
    duration = spec.get("duration", 4.0)
    sr = spec.get("sample_rate", 48000)
    n_frames = int(round(duration * fps))
    audio = np.zeros(int(duration * sr), np.float32)
    impacts = sorted(spec.get("impacts", []))
    for t in impacts:
        start = int(t * sr)
        n = min(int(0.08 * sr), len(audio) - start)
        tt = np.arange(n) / sr
        rng = np.random.default_rng(int(t * 1000))
        audio[start:start + n] += 0.6 * np.exp(-tt * 60) * (rng.standard_normal(n) * 0.5 + np.sin(2 * np.pi * 900 * tt))
    for note in spec.get("notes", []):
        start, dur = int(note["start"] * sr), note.get("duration", 0.5)
        n = min(int(dur * sr), len(audio) - start)
        tt = np.arange(n) / sr
        f0 = midi_to_hz(note["midi"])
        env = np.minimum(1, tt / 0.01) * np.exp(-tt * 3)
        audio[start:start + n] += 0.3 * env * sum(np.sin(2 * np.pi * f0 * k * tt) / k for k in (1, 2, 3))

    def ball_y(t: float) -> float:
        # Parabolic hops between consecutive impacts; the ball touches the floor exactly at impact times.
        floor, top = height * 0.8, height * 0.2
        points = [0.0] + impacts + [duration + 1.0]
        for a, b in zip(points, points[1:]):
            if a <= t <= b:
                u = (t - a) / (b - a)
                return floor - (floor - top) * 4 * u * (1 - u)
        return floor

    yy, xx = np.mgrid[0:height, 0:width]
    background = np.zeros((height, width, 3), np.uint8)
    background[..., 0] = (40 + 60 * xx / width).astype(np.uint8)
    background[..., 1] = (60 + 40 * yy / height).astype(np.uint8)
    background[..., 2] = 90
    radius = height // 12

    def frames():
        for i in range(n_frames):
            t = i / fps
            img = background.copy()
            cy, cx = ball_y(t), width / 2
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
            img[mask] = (230, 200, 60)
            img[int(height * 0.8) + radius:, :] = (120, 110, 100)
            yield img

    return write_clip(path, frames(), fps, audio, sr)


def generate_for_suite(suite: Suite, out_dir: Path | str, overwrite: bool = False) -> list[Path]:
    """Write <out>/<category>/<safe_filename(content)>.mp4 for every prompt that carries a synthetic spec."""
    written = []
    for item in suite.items:
        spec = item.extra.get("synthetic")
        if not isinstance(spec, dict):
            continue
        path = item.expected_video(Path(out_dir))
        if path.exists() and not overwrite:
            written.append(path)
            continue
        written.append(render_spec(spec, path))
    return written


def can_render(item: PromptItem) -> bool:
    return isinstance(item.extra.get("synthetic"), dict)
