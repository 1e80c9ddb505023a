"""Vis: visual quality (paper: Q-Align, 0–1, higher is better).

Lite backend `vis-signal`: a no-reference estimate from six interpretable measures.

Uniform borders (letterbox bars) are cropped first. Measured on grey frames at 2 fps (longer side ≤ 480 px; at most
6 frames spread over the clip):
- blur: the re-blur blur effect of Crété-Roffet et al. (skimage.measure.blur_effect) on 3×3-median-filtered frames
  (so that noise does not pass for sharpness), median over frames; 0 = sharp, 1 = fully blurred.
- exposure: fraction of pixels at the ends of the range (≤ 3 or ≥ 252).
Measured on grey frames at 0.5 fps and native size (longer side ≤ 1920 px, so the codec's 8-pixel grid and
pixel-level noise survive: downscaling 1280 px to 480 px filters most white noise away):
- noise: Immerkær's Laplacian-difference noise sigma (grey levels), taken on the flattest tenth of 16×16 blocks so
  texture is not mistaken for noise; median over frames.
- blocking: strength of the 8-pixel block grid: the mean absolute step between neighbouring pixels at the strongest
  phase of the 8-pixel grid (median over that phase's grid lines, so a few aligned content edges do not count), over
  the median of the other phases, minus 1 (0 = no grid), rows and columns averaged.
Measured on a small grey stream at the native frame rate (shared with AV):
- flicker: RMS of the frame-mean brightness minus its 5-frame running median, in % of the mean brightness.
- freeze: fraction of consecutive frame pairs that are identical (mean absolute change < 0.02 grey levels); a clip with
  no motion at all counts as frozen.

Mapping to 0–1: Vis = S × Π_k (1 − P_k), where every term is a clipped linear ramp r(x; a, b) = clip((x − a)/(b − a), 0, 1):
- sharpness S = 1 − 0.85 · r(blur; 0.40, 0.85)
- P_noise = 0.7 · r(noise; 1, 7)
- P_blocking = 0.7 · r(blocking; 0.25, 0.70)
- P_exposure = 0.5 · r(exposure; 0.05, 0.40)
- P_flicker = 0.6 · r(flicker; 0.5, 4)
- P_freeze = 0.7 · r(freeze; 0.05, 0.6)
The constants were set on synthetic clean and degraded clips (textures and photographs panned over time); they are not
fitted to human ratings, so treat absolute values as a lite-tier proxy, and differences between clips as the signal.
"""

from __future__ import annotations

import numpy as np

from ..media import Clip, FrameSpec, MediaNeeds
from .av import MOTION_FRAMES
from .base import Backend, Dimension, ItemContext, Measurement, Status, scale

FRAMES = FrameSpec(fps=2, max_side=480, gray=True)
GRID_FRAMES = FrameSpec(fps=0.5, max_side=1920, gray=True)
FROZEN_CHANGE = 0.02  # mean |change| in grey levels on the small stream; a duplicated frame decodes as exactly 0
BLOCK = 8
VISIBLE_STEP = 1.0  # grey levels: the smallest step the grid ratio is taken against
FLAT_STEP = 0.05  # grey levels: mean step below which a frame has no measurable grid
MAX_QUALITY_FRAMES = 6  # blur and exposure use at most this many of the 2 fps frames, spread over the clip
BAR_STD = 1.5  # a border row or column this uniform is a letterbox bar
# measure -> (weight, a, b): contribution weight · r(x; a, b); sharpness is 1 − its term, the others are penalties.
RAMPS = {
    "blur": (0.85, 0.40, 0.85),
    "noise": (0.7, 1.0, 7.0),
    "blocking": (0.7, 0.25, 0.70),
    "exposure": (0.5, 0.05, 0.40),
    "flicker": (0.6, 0.5, 4.0),
    "freeze": (0.7, 0.05, 0.6),
}


def ramp(x: float, a: float, b: float) -> float:
    return float(np.clip((x - a) / (b - a), 0.0, 1.0))


def median3(frame: np.ndarray) -> np.ndarray:
    """3x3 median of a grey uint8 frame, edges replicated: scipy.ndimage.median_filter(frame, size=3), ~200x faster."""
    import cv2

    return cv2.medianBlur(np.ascontiguousarray(frame, dtype=np.uint8), 3)


def blur_level(frames: list[np.ndarray]) -> float:
    from skimage.measure import blur_effect

    values = [blur_effect(median3(f), h_size=11) for f in frames]
    return float(np.median([v if np.isfinite(v) else 1.0 for v in values]))  # a flat frame has no edges: fully blurred


def noise_sigma(frames: list[np.ndarray], block: int = 16) -> float:
    """Immerkær's estimator on the flattest 10 % of blocks, median over frames (grey levels)."""
    values = []
    for f in frames:
        g = f.astype(np.float32)
        rows = g[:-2] - 2 * g[1:-1] + g[2:]  # the 3×3 kernel [1 -2 1]ᵀ[1 -2 1], applied separably
        resp = np.abs(rows[:, :-2] - 2 * rows[:, 1:-1] + rows[:, 2:])
        h, w = (resp.shape[0] // block) * block, (resp.shape[1] // block) * block
        if h == 0 or w == 0:
            continue
        blocks = resp[:h, :w].reshape(h // block, block, w // block, block).mean(axis=(1, 3)).ravel()
        flat = np.sort(blocks)[: max(1, len(blocks) // 10)]
        values.append(np.sqrt(np.pi / 2) / 6 * float(flat.mean()))
    return float(np.median(values)) if values else 0.0


def _grid_strength(steps: np.ndarray) -> float:
    """steps: mean |difference| per position along one axis; strongest 8-phase over the median of the others, − 1.
    Each phase takes the median over its grid lines: codec blocking raises every line of its phase, while a few
    strong content edges that happen to share a phase (a keyboard, a horizon) raise only a few."""
    n = (len(steps) // BLOCK) * BLOCK
    if n < 4 * BLOCK:
        return 0.0
    phases = np.median(steps[:n].reshape(-1, BLOCK), axis=0)
    k = int(np.argmax(phases))
    others = np.delete(phases, k)
    if phases[k] < FLAT_STEP:
        return 0.0  # flat picture: no steps, no grid
    # Steps below about one grey level are invisible: on flat content they must not become a large ratio.
    return max(0.0, float(phases[k] / max(float(np.median(others)), VISIBLE_STEP) - 1.0))


def blocking_level(frames: list[np.ndarray]) -> float:
    values = []
    for f in frames:
        g = f.astype(np.float32)
        cols = np.abs(np.diff(g, axis=1)).mean(axis=0)
        rows = np.abs(np.diff(g, axis=0)).mean(axis=1)
        values.append((_grid_strength(cols) + _grid_strength(rows)) / 2)
    return float(np.median(values)) if values else 0.0


def exposure_clipping(frames: list[np.ndarray]) -> float:
    return float(np.mean([np.mean((f <= 3) | (f >= 252)) for f in frames]))


def flicker_percent(frames: np.ndarray) -> float:
    from scipy.ndimage import median_filter

    if len(frames) < 5:
        return 0.0
    means = frames.reshape(len(frames), -1).mean(axis=1).astype(np.float64)
    residual = means - median_filter(means, size=5, mode="nearest")
    return float(100 * np.sqrt(np.mean(residual ** 2)) / max(float(np.median(means)), 16.0))


def frozen_fraction(frames: np.ndarray) -> float:
    if len(frames) < 2:
        return 0.0
    changes = [float(np.abs(frames[i + 1].astype(np.int16) - frames[i]).mean()) for i in range(len(frames) - 1)]
    return float(np.mean(np.asarray(changes) < FROZEN_CHANGE))


def crop_bars(frame: np.ndarray) -> np.ndarray:
    """The frame without uniform borders (letterbox or pillarbox bars), which are framing, not picture."""
    rows = np.flatnonzero(frame.std(axis=1) >= BAR_STD)
    cols = np.flatnonzero(frame.std(axis=0) >= BAR_STD)
    if len(rows) < frame.shape[0] // 4 or len(cols) < frame.shape[1] // 4:
        return frame  # mostly uniform: keep it whole, the measures will say so
    return frame[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def spread(items: np.ndarray, count: int) -> np.ndarray:
    """At most `count` items, evenly spread over the sequence."""
    if len(items) <= count:
        return items
    return items[np.linspace(0, len(items) - 1, count).round().astype(int)]


def vis_measures(frames: np.ndarray, grid_frames: np.ndarray, stream: np.ndarray) -> dict[str, float]:
    frames = [crop_bars(f) for f in spread(frames, MAX_QUALITY_FRAMES)]
    grid_frames = [crop_bars(f) for f in grid_frames]
    return {
        "blur": blur_level(frames),
        "noise": noise_sigma(grid_frames),
        "blocking": blocking_level(grid_frames),
        "exposure": exposure_clipping(frames),
        "flicker": flicker_percent(stream),
        "freeze": frozen_fraction(stream),
    }


def vis_score(measures: dict[str, float]) -> tuple[float, dict[str, float]]:
    """(score 0–1, factor per measure): sharpness factor S and (1 − P_k) for the others; the score is their product."""
    factors = {}
    for name, (weight, a, b) in RAMPS.items():
        factors[name] = 1.0 - weight * ramp(measures[name], a, b)
    return float(np.prod(list(factors.values()))), factors


class VisSignalLite(Backend):
    """Sharpness, noise, blocking, exposure, flicker and freezing, combined by a documented product of ramps."""

    name = "vis-signal"
    version = "1.2"  # 1.1: noise measured at native size; 1.2: blocking robust to aligned content edges
    tier = "lite"

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        frames = clip.frames_for(FRAMES).images
        if len(frames) == 0:
            return Measurement(Status.TOO_SHORT, message="no frame sampled at 2 fps")
        grid = clip.frames_for(GRID_FRAMES).images
        measures = vis_measures(frames, grid if len(grid) else frames[:1], clip.frames_for(MOTION_FRAMES).images)
        score, factors = vis_score(measures)
        evidence = {
            "score": round(score, 4),
            "formula": "product of factors; each factor = 1 − weight · clip((x − a)/(b − a), 0, 1)",
            "measures": {
                name: {"value": round(measures[name], 4), "factor": round(factors[name], 4),
                       "weight": RAMPS[name][0], "a": RAMPS[name][1], "b": RAMPS[name][2]}
                for name in RAMPS
            },
            "units": {"blur": "0 sharp – 1 blurred", "noise": "sigma, grey levels", "blocking": "grid excess ratio",
                      "exposure": "fraction of clipped pixels", "flicker": "% of mean brightness",
                      "freeze": "fraction of identical consecutive frames"},
            "worst": min(factors, key=factors.get),
            "frames": {"quality": len(frames), "grid": len(grid), "stream": len(clip.frames_for(MOTION_FRAMES))},
        }
        worst = evidence["worst"]
        message = f"quality {score:.2f}; weakest measure: {worst} = {measures[worst]:.3g} (factor {factors[worst]:.2f})"
        return Measurement(Status.OK, score, evidence, message)


DIMENSION = Dimension(
    id="vis", display="Vis", group="basic", unit="quality score 0–1", higher_is_better=True,
    normalize=scale(100), worst_raw=0.0, needs=MediaNeeds(frames=(FRAMES, GRID_FRAMES, MOTION_FRAMES)),
    backends={"lite": VisSignalLite},
    description="No-reference visual quality.",
)
