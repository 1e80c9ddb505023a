"""Clean reference sounds and the degradations production quality must notice (noise, clipping, band-limiting,
dropouts), for Aud probes and tests."""

from __future__ import annotations

import numpy as np

from .sound import click, mix_into, tone
from .speech import babble


def rich_music(duration: float, sr: int, seed: int = 0) -> np.ndarray:
    """Bright music-like sound: harmonic-rich notes over a bass line, with a shaker on every beat (content to ~16 kHz)."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(round(duration * sr)), np.float32)
    beat, i = 0.5, 0
    melody = (72, 74, 76, 79, 77, 76, 74, 71)
    while i * beat < duration:
        t0 = i * beat
        mix_into(out, _bright_tone(melody[i % len(melody)], beat * 1.5, sr) * 0.25, t0, sr)
        if i % 2 == 0:
            mix_into(out, tone(48 + (i // 2) % 3 * 5, beat * 2, sr, "organ", amplitude=0.2), t0, sr)
        n = int(0.06 * sr)
        shaker = np.diff(rng.standard_normal(n + 1)) * np.exp(-np.arange(n) / sr * 60) * 0.05
        mix_into(out, shaker.astype(np.float32), t0, sr)
        i += 1
    return (0.5 * out / (np.max(np.abs(out)) or 1.0)).astype(np.float32)


def _bright_tone(midi: float, duration: float, sr: int) -> np.ndarray:
    n = int(duration * sr)
    t = np.arange(n) / sr
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 40) if f0 * k < min(sr / 2, 16000))
    env = np.minimum(1.0, t / 0.005) * np.exp(-t * 3.0)
    return (wave * env / (np.max(np.abs(wave * env)) or 1.0)).astype(np.float32)


def impacts(duration: float, sr: int, seed: int = 0, every: float = 0.6) -> np.ndarray:
    out = np.zeros(int(round(duration * sr)), np.float32)
    t, k = 0.1, 0
    while t < duration:
        mix_into(out, click(sr, seed=seed + k, duration=0.15), t, sr)
        t += every
        k += 1
    return (0.6 * out / (np.max(np.abs(out)) or 1.0)).astype(np.float32)


CLEAN = {"music": rich_music, "babble": babble, "impacts": impacts}


def clean_signal(kind: str, duration: float, sr: int, seed: int = 0) -> np.ndarray:
    return CLEAN[kind](duration, sr, seed=seed)


def add_noise(x: np.ndarray, snr_db: float, color: str = "white", seed: int = 1) -> np.ndarray:
    """x plus stationary white or pink noise at `snr_db` relative to x's mean power."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(len(x))
    if color == "pink":
        spectrum = np.fft.rfft(noise)
        spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
        spectrum[0] = 0
        noise = np.fft.irfft(spectrum, len(x))
    elif color != "white":
        raise ValueError(f"unknown noise colour {color!r}")
    p_signal = float(np.mean(x.astype(np.float64) ** 2))
    noise *= np.sqrt(p_signal / 10 ** (snr_db / 10) / float(np.mean(noise**2)))
    return (x + noise).astype(np.float32)


def hard_clip(x: np.ndarray, depth_db: float) -> np.ndarray:
    """Clip `depth_db` below the peak (as if amplified by that much into full scale), then restore the peak level."""
    peak = float(np.max(np.abs(x))) or 1.0
    level = peak * 10 ** (-depth_db / 20)
    return (np.clip(x, -level, level) * (peak / level)).astype(np.float32)


def low_pass(x: np.ndarray, sr: int, cutoff_hz: float) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    sos = butter(8, cutoff_hz, btype="low", fs=sr, output="sos")
    return sosfiltfilt(sos, x).astype(np.float32)


def insert_dropouts(x: np.ndarray, sr: int, times: list[float], length: float = 0.05) -> np.ndarray:
    y = x.copy()
    for t in times:
        y[int(t * sr): int((t + length) * sr)] = 0.0
    return y
