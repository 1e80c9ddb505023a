"""Signals the controllability checks read from a clip's mono audio (22050 Hz): loudness, onsets, pitch.

- loudness: RMS level in dBFS over 400 ms windows every 100 ms (the momentary-loudness window of EBU R128, without
  its K-weighting: a plain RMS level, floored at -90 dBFS); `level_db` of any stretch uses the same measure.
- onsets: librosa's spectral-flux onset strength (hop 256) and peak picking; an onset counts only when the level in
  the ~100 ms around it (30 ms windows) is within ONSET_FLOOR_DB of the clip's loudest and rises ONSET_RISE_DB above
  the median of the ~120 ms before it (a flicker of a steady noise bed is not an event); onsets closer than MIN_GAP_S
  merge.
- pitch: librosa's pYIN f0 (65–2093 Hz, frame 2048, hop 256) in MIDI numbers over voiced frames.
- trends: the Theil–Sen slope (median of pairwise slopes, robust to a few outliers) of a curve against time.
- sound classes (for the order of two named sounds), on a grid of CLASS_STEP_S cells, each a yes/no per cell:
  speech = inside a Silero VAD segment (16 kHz); tonal = audible, no speech, and at least three pYIN voiced frames
  whose pitch holds within STABLE_SEMITONES of the frame before (notes hold a pitch; speech glides), in runs of
  TONAL_MIN_S (pYIN hears a steady pitch in noise now and then); impact = no
  speech (a plosive is no knock), an onset whose level falls IMPACT_DECAY_DB within IMPACT_DECAY_S after its peak (a burst, not a held note), marked for
  IMPACT_SPAN_S; noise = audible, no speech, not tonal, spectral flatness >= NOISE_FLATNESS, in runs of NOISE_MIN_S;
  silence = not audible (below AUDIBLE_RANGE_DB under the loudest cell, or under AUDIBLE_FLOOR_DB) in runs of
  SILENCE_MIN_S.
- visual events: the mean absolute difference of consecutive gray frames (motion energy), smoothed over
  MOTION_SMOOTH_S, and its peaks (prominence MOTION_PROMINENCE of the curve's range above its median, at least
  MOTION_MIN gray levels, MIN_EVENT_GAP_S apart).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE = 22050
WINDOW_S = 0.4
STEP_S = 0.1
FLOOR_DB = -90.0
HOP = 256
ONSET_FLOOR_DB = 30.0
ONSET_RISE_DB = 6.0
MIN_GAP_S = 0.08
PYIN_FMIN = 65.0
PYIN_FMAX = 2093.0
CLASS_STEP_S = 0.05
AUDIBLE_RANGE_DB = 35.0
AUDIBLE_FLOOR_DB = -60.0
STABLE_SEMITONES = 0.5
TONAL_MIN_S = 0.15
IMPACT_DECAY_DB = 10.0
IMPACT_DECAY_S = 0.2
IMPACT_SPAN_S = 0.15
NOISE_FLATNESS = 0.02
NOISE_MIN_S = 0.4
SILENCE_MIN_S = 0.3
SOUND_CLASSES = ("speech", "tonal", "impact", "noise", "silence")
MOTION_SMOOTH_S = 0.15
MOTION_PROMINENCE = 0.3
MOTION_MIN = 1.0
MIN_EVENT_GAP_S = 0.2


def level_db(samples: np.ndarray) -> float:
    """RMS level of a stretch in dBFS (FLOOR_DB for silence or nothing)."""
    if samples.size == 0:
        return FLOOR_DB
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(FLOOR_DB, 20.0 * np.log10(rms + 1e-12))


@dataclass
class Envelope:
    times: np.ndarray  # window centres, s
    db: np.ndarray  # RMS level per window, dBFS


def loudness_envelope(audio: np.ndarray, rate: int = RATE, window_s: float = WINDOW_S,
                      step_s: float = STEP_S) -> Envelope:
    win, step = max(1, int(window_s * rate)), max(1, int(step_s * rate))
    if audio.size < win:
        return Envelope(np.array([audio.size / rate / 2]), np.array([level_db(audio)]))
    starts = np.arange(0, audio.size - win + 1, step)
    power = np.convolve(np.square(audio.astype(np.float64)), np.ones(win) / win, mode="valid")[starts]
    db = np.maximum(FLOOR_DB, 10.0 * np.log10(power + 1e-24))
    return Envelope((starts + win / 2) / rate, db)


def theil_sen(times: np.ndarray, values: np.ndarray) -> float | None:
    """Median pairwise slope (value units per second); None with fewer than 3 points."""
    t, v = np.asarray(times, float), np.asarray(values, float)
    if t.size < 3:
        return None
    i, j = np.triu_indices(t.size, k=1)
    dt = t[j] - t[i]
    keep = dt > 1e-9
    if not keep.any():
        return None
    return float(np.median((v[j] - v[i])[keep] / dt[keep]))


def onset_times(audio: np.ndarray, rate: int = RATE) -> np.ndarray:
    """Onset times (s) of audible events, see the module docstring."""
    import librosa

    if audio.size < HOP * 4:
        return np.zeros(0)
    strength = librosa.onset.onset_strength(y=audio, sr=rate, hop_length=HOP)
    frames = librosa.onset.onset_detect(onset_envelope=strength, sr=rate, hop_length=HOP, backtrack=False,
                                        units="frames")
    if frames.size == 0:
        return np.zeros(0)
    env = loudness_envelope(audio, rate, window_s=0.03, step_s=HOP / rate)
    loudest = float(env.db.max())
    step = HOP / rate
    times = []
    for f in frames:
        t = f * HOP / rate
        k = min(env.db.size - 1, max(0, int(round(t / step))))
        peak = float(env.db[max(0, k - 3):k + 6].max())  # the flux peak trails the level's rise by a few frames
        before = env.db[max(0, k - 14):max(0, k - 4)]
        floor = float(np.median(before)) if before.size else FLOOR_DB
        if peak < loudest - ONSET_FLOOR_DB or peak - floor < ONSET_RISE_DB:
            continue
        if times and t - times[-1] < MIN_GAP_S:
            continue
        times.append(t)
    return np.asarray(times)


def pitch_track(audio: np.ndarray, rate: int = RATE) -> tuple[np.ndarray, np.ndarray]:
    """(times, MIDI) of the voiced pYIN frames."""
    import librosa

    if audio.size < 2048:
        return np.zeros(0), np.zeros(0)
    f0, voiced, _ = librosa.pyin(audio, fmin=PYIN_FMIN, fmax=PYIN_FMAX, sr=rate, frame_length=2048, hop_length=HOP)
    times = librosa.times_like(f0, sr=rate, hop_length=HOP)
    keep = voiced & np.isfinite(f0)
    return times[keep], 69.0 + 12.0 * np.log2(f0[keep] / 440.0)


def downsample(times: np.ndarray, values: np.ndarray, points: int = 24, digits: int = 1) -> list[list[float]]:
    """At most `points` [t, value] pairs (the mean of equal slices), for evidence a person can read."""
    if times.size == 0:
        return []
    chunks = np.array_split(np.arange(times.size), min(points, times.size))
    return [[round(float(times[c].mean()), 2), round(float(values[c].mean()), digits)] for c in chunks if c.size]


# ---- sound classes on a grid (the order of two named sounds) ----

def class_grid(duration: float) -> np.ndarray:
    """Cell centres (s) of the sound-class grid."""
    return (np.arange(max(1, int(np.ceil(duration / CLASS_STEP_S)))) + 0.5) * CLASS_STEP_S


def _cell_levels(audio: np.ndarray, rate: int, cells: int) -> np.ndarray:
    step = int(round(CLASS_STEP_S * rate))
    padded = np.pad(audio.astype(np.float64), (0, max(0, cells * step - audio.size)))[:cells * step]
    power = np.mean(np.square(padded.reshape(cells, step)), axis=1)
    return np.maximum(FLOOR_DB, 10.0 * np.log10(power + 1e-24))


def audible_cells(audio: np.ndarray, rate: int, grid: np.ndarray) -> np.ndarray:
    levels = _cell_levels(audio, rate, grid.size)
    return (levels >= levels.max() - AUDIBLE_RANGE_DB) & (levels >= AUDIBLE_FLOOR_DB)


def _true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, end) cell indices of each run of True, end exclusive."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def _runs(mask: np.ndarray, min_cells: int) -> np.ndarray:
    """The mask with runs of True shorter than `min_cells` cleared."""
    out = np.zeros_like(mask)
    for first, end in _true_runs(mask):
        if end - first >= min_cells:
            out[first:end] = True
    return out


def spans_of(mask: np.ndarray, grid: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) in seconds of each run of True cells."""
    half = CLASS_STEP_S / 2
    return [(float(grid[first] - half), float(grid[end - 1] + half)) for first, end in _true_runs(mask)]


def speech_cells(audio16: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Cells inside a Silero VAD speech segment (16 kHz mono in). RuntimeError when the VAD model is missing."""
    from . import vad

    mask = np.zeros(grid.size, bool)
    for a, b in vad.detect(audio16).segments:
        mask |= (grid >= a) & (grid < b)
    return mask


def tonal_cells(pitch: tuple[np.ndarray, np.ndarray], grid: np.ndarray, audible: np.ndarray,
                speech: np.ndarray) -> np.ndarray:
    """Audible cells without speech holding at least three voiced pYIN frames of steady pitch, in runs."""
    times, midi = pitch
    steady = np.zeros(grid.size, int)
    if times.size >= 2:
        gap_ok = np.diff(times) < 2.5 * HOP / RATE
        held = gap_ok & (np.abs(np.diff(midi)) < STABLE_SEMITONES)
        cells = np.minimum(grid.size - 1, (times[1:][held] / CLASS_STEP_S).astype(int))
        np.add.at(steady, cells, 1)
    return _runs((steady >= 3) & audible & ~speech, int(round(TONAL_MIN_S / CLASS_STEP_S)))


def impact_cells(audio: np.ndarray, rate: int, onsets: np.ndarray, grid: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """Cells without speech from each onset whose level falls IMPACT_DECAY_DB within IMPACT_DECAY_S (a burst)."""
    env = loudness_envelope(audio, rate, window_s=0.02, step_s=0.01)
    mask = np.zeros(grid.size, bool)
    for t in onsets:
        peak_part = env.db[(env.times >= t - 0.02) & (env.times <= t + 0.06)]
        after = env.db[(env.times >= t + IMPACT_DECAY_S - 0.03) & (env.times <= t + IMPACT_DECAY_S + 0.03)]
        if peak_part.size and (not after.size or peak_part.max() - after.max() >= IMPACT_DECAY_DB):
            mask |= (grid >= t) & (grid < t + IMPACT_SPAN_S)
    return mask & ~speech


def flat_cells(audio: np.ndarray, rate: int, grid: np.ndarray) -> np.ndarray:
    """Cells whose mean spectral flatness (librosa, n_fft 1024) reaches NOISE_FLATNESS."""
    import librosa

    if audio.size < 1024:
        return np.zeros(grid.size, bool)
    flat = librosa.feature.spectral_flatness(y=audio, n_fft=1024, hop_length=HOP)[0]
    times = librosa.times_like(flat, sr=rate, hop_length=HOP)
    cells = np.minimum(grid.size - 1, (times / CLASS_STEP_S).astype(int))
    total, count = np.zeros(grid.size), np.zeros(grid.size)
    np.add.at(total, cells, flat)
    np.add.at(count, cells, 1)
    return (total / np.maximum(count, 1)) >= NOISE_FLATNESS


def noise_cells(flat: np.ndarray, audible: np.ndarray, speech: np.ndarray, tonal: np.ndarray,
                impact: np.ndarray) -> np.ndarray:
    return _runs(flat & audible & ~speech & ~tonal & ~impact, int(round(NOISE_MIN_S / CLASS_STEP_S)))


def silence_cells(audible: np.ndarray) -> np.ndarray:
    return _runs(~audible, int(round(SILENCE_MIN_S / CLASS_STEP_S)))


# ---- visual events (counts tied to a visible action) ----

def motion_events(images: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, list[list[float]]]:
    """Times (s) of the peaks of the smoothed motion-energy curve of gray frames, and the curve for evidence."""
    from scipy.signal import find_peaks

    if len(times) < 3:
        return np.zeros(0), []
    frames = np.asarray(images, np.float32)
    if frames.ndim == 4:
        frames = frames.mean(axis=3)
    energy = np.array([np.abs(frames[k + 1] - frames[k]).mean() for k in range(len(frames) - 1)])
    mid = (np.asarray(times[1:], float) + np.asarray(times[:-1], float)) / 2
    fps = 1.0 / float(np.median(np.diff(times)))
    width = max(1, int(round(MOTION_SMOOTH_S * fps))) | 1
    curve = np.convolve(np.pad(energy, width // 2, mode="edge"), np.ones(width) / width, mode="valid")
    base, top = float(np.median(curve)), float(curve.max())
    evidence = downsample(mid, curve, 48, 2)
    if top - base < MOTION_MIN:
        return np.zeros(0), evidence
    peaks, _ = find_peaks(curve, prominence=max(MOTION_MIN, MOTION_PROMINENCE * (top - base)),
                          distance=max(1, int(round(MIN_EVENT_GAP_S * fps))))
    return mid[peaks], evidence
