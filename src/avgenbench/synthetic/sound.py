"""Musical and percussive sounds with known pitch and timing."""

from __future__ import annotations

import re

import numpy as np

_PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NOTE = re.compile(r"^([A-Ga-g])([#♯b♭]?)(-?\d)?$")
NAMES_SHARP = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

# Relative amplitudes of harmonics 1..n for a few instrument-like timbres.
TIMBRES = {
    "sine": (1.0,),
    "piano": (1.0, 0.45, 0.25, 0.12, 0.06),
    "guitar": (1.0, 0.6, 0.35, 0.2, 0.12, 0.07),
    "organ": (1.0, 0.8, 0.6, 0.3, 0.2),
}


def midi_to_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def note_to_midi(name: str) -> int:
    """'A4' -> 69, 'C#5' -> 73, 'Bb3' -> 58. A name without octave raises ValueError."""
    match = _NOTE.match(name.strip())
    if not match or match.group(3) is None:
        raise ValueError(f"not a note name with octave: {name!r}")
    letter, accidental, octave = match.groups()
    shift = 1 if accidental in ("#", "♯") else -1 if accidental in ("b", "♭") else 0
    return 12 * (int(octave) + 1) + _PITCH_CLASSES[letter.upper()] + shift


def pitch_class(name: str) -> int:
    """'F#' or 'F#3' -> 6."""
    match = _NOTE.match(name.strip())
    if not match:
        raise ValueError(f"not a note name: {name!r}")
    return note_to_midi(f"{match.group(1)}{match.group(2)}4") % 12


def midi_to_name(midi: int) -> str:
    return f"{NAMES_SHARP[midi % 12]}{midi // 12 - 1}"


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
