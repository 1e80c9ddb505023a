"""Musical and percussive sounds with known pitch and timing."""

from __future__ import annotations

import numpy as np

from ..music_theory import midi_to_hz, midi_to_name, note_to_midi  # noqa: F401 - the generators' note names


# Relative amplitudes of harmonics 1..n for a few instrument-like timbres.
TIMBRES = {
    "sine": (1.0,),
    "piano": (1.0, 0.45, 0.25, 0.12, 0.06),
    "guitar": (1.0, 0.6, 0.35, 0.2, 0.12, 0.07),
    "organ": (1.0, 0.8, 0.6, 0.3, 0.2),
}


def tone(midi: float, duration: float, sr: int, timbre: str = "piano", attack: float = 0.01, decay: float = 2.5,
         amplitude: float = 0.3) -> np.ndarray:
    """A plucked/struck tone: harmonics of the timbre, fast attack, exponential decay, short release at the end."""
    n = max(1, int(round(duration * sr)))
    t = np.arange(n) / sr
    f0 = midi_to_hz(midi)
    wave = np.zeros(n, np.float64)
    for k, amp in enumerate(TIMBRES[timbre], start=1):
        if f0 * k < sr / 2:
            wave += amp * np.sin(2 * np.pi * f0 * k * t)
    envelope = np.minimum(1.0, t / max(attack, 1e-4)) * np.exp(-t * decay)
    release = min(n, int(0.02 * sr))
    envelope[n - release:] *= np.linspace(1.0, 0.0, release)
    wave *= envelope
    peak = np.max(np.abs(wave)) or 1.0
    return (amplitude * wave / peak).astype(np.float32)


def chord(midis: list[float], duration: float, sr: int, timbre: str = "piano", amplitude: float = 0.4) -> np.ndarray:
    mix = sum(tone(m, duration, sr, timbre, amplitude=1.0) for m in midis)
    peak = np.max(np.abs(mix)) or 1.0
    return (amplitude * mix / peak).astype(np.float32)


def click(sr: int, seed: int = 0, duration: float = 0.06, amplitude: float = 0.7) -> np.ndarray:
    """A sharp impact: a noise burst plus a low thump, decaying in a few tens of ms; onset at sample 0."""
    n = int(duration * sr)
    t = np.arange(n) / sr
    rng = np.random.default_rng(seed)
    wave = 0.6 * rng.standard_normal(n) * np.exp(-t * 90) + np.sin(2 * np.pi * 180 * t) * np.exp(-t * 40)
    return (amplitude * wave / (np.max(np.abs(wave)) or 1.0)).astype(np.float32)


def mix_into(track: np.ndarray, sound: np.ndarray, start_s: float, sr: int) -> None:
    """Add `sound` into `track` starting at `start_s` (clipped to the track's bounds), in place."""
    start = int(round(start_s * sr))
    if start >= len(track) or start + len(sound) <= 0:
        return
    src0 = max(0, -start)
    dst0 = max(0, start)
    n = min(len(sound) - src0, len(track) - dst0)
    track[dst0:dst0 + n] += sound[src0:src0 + n]
