"""Signals the controllability checks read from a clip's mono audio (22050 Hz): loudness, onsets, pitch.

- loudness: RMS level in dBFS over 400 ms windows every 100 ms (the momentary-loudness window of EBU R128, without
  its K-weighting: a plain RMS level, floored at -90 dBFS); `level_db` of any stretch uses the same measure.
- onsets: librosa's spectral-flux onset strength (hop 256) and peak picking; an onset counts only when the level in
  the ~100 ms around it (30 ms windows) is within ONSET_FLOOR_DB of the clip's loudest and rises ONSET_RISE_DB above
  the median of the ~120 ms before it (a flicker of a steady noise bed is not an event); onsets closer than MIN_GAP_S
  merge.
- pitch: librosa's pYIN f0 (65–2093 Hz, frame 2048, hop 256) in MIDI numbers over voiced frames.
- trends: the Theil–Sen slope (median of pairwise slopes, robust to a few outliers) of a curve against time.
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
