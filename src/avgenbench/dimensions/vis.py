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
- blocking: strength of the 8- or 16-pixel block grid, whichever is stronger (a starved H.264 stream shows its
  16-pixel macroblocks once the deblocking filter has smoothed the 8-pixel edges): the mean absolute step between
  neighbouring pixels at the strongest phase of the grid (median over that phase's grid lines, so a few aligned
  content edges do not count), over the median of the other phases, minus 1 (0 = no grid), rows and columns averaged.
Measured on a small grey stream at the native frame rate (shared with AV):
- shot cuts (`shot_cuts`): a jump in 1 − correlation between consecutive frames (brightness-invariant, so flicker is
  no cut) that is >= 0.35, >= 4 × the median jump of the 12 frames on each side and >= 2 × the jumps just before
  and after it (adaptive: fast motion is no cut),
  after which the old picture does not return within 0.5 s (nor was the new one on screen in the 0.5 s before: a flash
  frame is flicker, not two cuts). Listed in the evidence (`shot_cuts`).
- flicker: RMS of the frame-mean brightness minus its 5-frame running median within each shot (shots under 5 frames
  left out), in % of the mean brightness.
- freeze: fraction of consecutive frame pairs within a shot that are identical (mean absolute change < 0.02 grey
  levels); a clip with no motion at all counts as frozen.

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
from ..paper_workers.identities import Q_ALIGN
from .base import Backend, Dimension, ItemContext, Measurement, Status
from .in_env import ModelEnvBackend
from .frames import MOTION_FRAMES

FRAMES = FrameSpec(fps=2, max_side=480, gray=True)
GRID_FRAMES = FrameSpec(fps=0.5, max_side=1920, gray=True)
FROZEN_CHANGE = 0.02  # mean |change| in grey levels on the small stream; a duplicated frame decodes as exactly 0
BLOCKS = (8, 16)  # transform-block and macroblock grids: a starved H.264 stream shows its 16-pixel grid most
VISIBLE_STEP = 1.0  # grey levels: the smallest step the grid ratio is taken against
FLAT_STEP = 0.05  # grey levels: mean step below which a frame has no measurable grid
MAX_QUALITY_FRAMES = 6  # blur and exposure use at most this many of the 2 fps frames, spread over the clip
BAR_STD = 1.5  # a border row or column this uniform is a letterbox bar
FLAT_STD = 2.0  # grey levels: a frame this uniform has no picture to correlate (black, white, a flash)
CUT_MIN = 0.35  # picture distance (1 − correlation) a shot cut needs at least
CUT_CONTRAST = 4.0  # ... and this many times the median distance of the frames around it
CUT_WINDOW = 12  # frames on each side for that median
CUT_SPIKE = 2.0  # ... and this many times the steps just before and after it (one jump, not fast motion)
CUT_RETURN_S = 0.5  # after a cut, the old picture does not come back within this
MAX_CUTS_LISTED = 40
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


def _grid_strength(steps: np.ndarray, block: int = 8) -> float:
    """steps: mean |difference| per position along one axis; strongest `block`-phase over the median of the others, − 1.
    Each phase takes the median over its grid lines: codec blocking raises every line of its phase, while a few
    strong content edges that happen to share a phase (a keyboard, a horizon) raise only a few."""
    n = (len(steps) // block) * block
    if n < 4 * block:
        return 0.0
    phases = np.median(steps[:n].reshape(-1, block), axis=0)
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
        values.append(max((_grid_strength(cols, b) + _grid_strength(rows, b)) / 2 for b in BLOCKS))
    return float(np.median(values)) if values else 0.0


def exposure_clipping(frames: list[np.ndarray]) -> float:
    return float(np.mean([np.mean((f <= 3) | (f >= 252)) for f in frames]))


def picture_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 − Pearson correlation of two grey frames: 0 for the same picture at any brightness or contrast (flicker
    keeps it near 0), ~1 for unrelated pictures. A flat frame (a flash, a dip to black) is 1 from any other frame."""
    x, y = a.astype(np.float32).ravel(), b.astype(np.float32).ravel()
    x, y = x - x.mean(), y - y.mean()
    sx, sy = float(np.sqrt(np.dot(x, x) / x.size)), float(np.sqrt(np.dot(y, y) / y.size))
    if sx < FLAT_STD or sy < FLAT_STD:
        return 0.0 if sx < FLAT_STD and sy < FLAT_STD else 1.0
    return float(1.0 - np.dot(x, y) / (x.size * sx * sy))


def shot_cuts(frames: np.ndarray, fps: float) -> list[int]:
    """Frame indices where a new shot starts (the cut lies between frame i − 1 and frame i).

    A cut is a jump in picture_distance between consecutive frames that is large (>= CUT_MIN) and stands out from
    the motion around it (>= CUT_CONTRAST × the median distance over CUT_WINDOW frames each side: an adaptive
    threshold, so fast motion is not a cut), after which the old picture does not come back within CUT_RETURN_S
    (flicker, a flash frame or a passing occlusion come back; a new shot does not)."""
    n = len(frames)
    if n < 2:
        return []
    steps = np.array([picture_distance(frames[i], frames[i + 1]) for i in range(n - 1)])
    flat = [float(f.std()) < FLAT_STD for f in frames]
    back = max(2, int(round(CUT_RETURN_S * (fps or 25.0))))
    cuts = []
    for i, d in enumerate(steps):
        around = np.concatenate([steps[max(0, i - CUT_WINDOW):i], steps[i + 1:i + 1 + CUT_WINDOW]])
        local = float(np.median(around)) if around.size else 0.0
        if d < CUT_MIN or d < CUT_CONTRAST * local:
            continue
        # A cut is one spike; a run of large steps is fast motion (steps into or out of a flat frame excepted: a dip
        # to black is a cut into the black frame and one out of it).
        beside = [steps[j] for j in (i - 1, i + 1) if 0 <= j < len(steps) and not (flat[j] or flat[j + 1])]
        if not (flat[i] or flat[i + 1]) and beside and d < CUT_SPIKE * max(beside):
            continue
        later, earlier = range(i + 2, min(n, i + 1 + back)), range(max(0, i - back + 1), i)
        if any(picture_distance(frames[i], frames[j]) < d / 2 for j in later) or \
                any(picture_distance(frames[i + 1], frames[j]) < d / 2 for j in earlier):
            continue  # the old picture comes back, or the new one was just there: flicker or a flash, not a new shot
        cuts.append(i + 1)
    return cuts


def _shots(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    bounds = [0] + list(cuts) + [n]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def flicker_percent(frames: np.ndarray, cuts: list[int] | None = None) -> float:
    """RMS of the frame-mean brightness minus its 5-frame running median, taken within each shot (a cut changes the
    brightness once and is no flicker), in % of the median brightness. Shots under 5 frames are left out."""
    from scipy.ndimage import median_filter

    means = frames.reshape(len(frames), -1).mean(axis=1).astype(np.float64) if len(frames) else np.zeros(0)
    residuals = [means[a:b] - median_filter(means[a:b], size=5, mode="nearest")
                 for a, b in _shots(len(frames), cuts or []) if b - a >= 5]
    if not residuals:
        return 0.0
    residual = np.concatenate(residuals)
    return float(100 * np.sqrt(np.mean(residual ** 2)) / max(float(np.median(means)), 16.0))


def frozen_fraction(frames: np.ndarray, cuts: list[int] | None = None) -> float:
    """Fraction of consecutive frame pairs within a shot that are identical (pairs across a cut are left out)."""
    across = set(cuts or [])
    changes = [float(np.abs(frames[i + 1].astype(np.int16) - frames[i]).mean())
               for i in range(len(frames) - 1) if i + 1 not in across]
    return float(np.mean(np.asarray(changes) < FROZEN_CHANGE)) if changes else 0.0


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


def vis_measures(frames: np.ndarray, grid_frames: np.ndarray, stream: np.ndarray,
                 cuts: list[int] | None = None) -> dict[str, float]:
    frames = [crop_bars(f) for f in spread(frames, MAX_QUALITY_FRAMES)]
    grid_frames = [crop_bars(f) for f in grid_frames]
    return {
        "blur": blur_level(frames),
        "noise": noise_sigma(grid_frames),
        "blocking": blocking_level(grid_frames),
        "exposure": exposure_clipping(frames),
        "flicker": flicker_percent(stream, cuts),
        "freeze": frozen_fraction(stream, cuts),
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
    version = "1.3"  # 1.1: noise at native size; 1.2: blocking robust to aligned edges; 1.3: shot cuts left out of
    # flicker and freeze, blocking also on the 16-pixel grid
    tier = "lite"

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        frames = clip.frames_for(FRAMES).images
        if len(frames) == 0:
            return Measurement(Status.TOO_SHORT, message="no frame sampled at 2 fps")
        grid = clip.frames_for(GRID_FRAMES).images
        stream = clip.frames_for(MOTION_FRAMES)
        cuts = shot_cuts(stream.images, clip.fps)
        measures = vis_measures(frames, grid if len(grid) else frames[:1], stream.images, cuts)
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
            "frames": {"quality": len(frames), "grid": len(grid), "stream": len(stream)},
            "shot_cuts": {"count": len(cuts), "times_s": [round(float(stream.times[i]), 3) for i in cuts[:MAX_CUTS_LISTED]],
                          "note": "flicker and freeze are measured within shots; the cuts themselves are left out"},
        }
        worst = evidence["worst"]
        message = f"quality {score:.2f}; weakest measure: {worst} = {measures[worst]:.3g} (factor {factors[worst]:.2f})"
        return Measurement(Status.OK, score, evidence, message)


class VisQAlignPaper(ModelEnvBackend):
    name, version, env_name, media = Q_ALIGN.name, Q_ALIGN.version, "q-align", Q_ALIGN.needs


DIMENSION = Dimension(
    id="vis", needs=MediaNeeds(frames=(FRAMES, GRID_FRAMES, MOTION_FRAMES)),
    backends={"lite": VisSignalLite, "paper": VisQAlignPaper},
)
