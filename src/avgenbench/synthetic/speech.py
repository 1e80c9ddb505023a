"""Speech and speech-like sounds with known content, for probes and tests.

`speak` renders real words with the system's `espeak-ng` (Debian package `espeak-ng`); `babble` synthesises a
speech-like signal without any external tool: a voiced harmonic source (f0 100–200 Hz with intonation) shaped by
moving vowel formants, cut into ~4 Hz syllables grouped in phrases with pauses. `non_speech` gives sounds that a
voice activity detector should not call speech.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from math import gcd
from pathlib import Path

import numpy as np

from .sound import chord, mix_into

ESPEAK = "espeak-ng"
# (F1, F2, F3) in Hz of a few vowels (adult male averages).
VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410), (660, 1720, 2410))
BANDWIDTHS = (90.0, 110.0, 170.0)


def espeak_available() -> bool:
    return shutil.which(ESPEAK) is not None


def _resample(audio: np.ndarray, src: int, dst: int) -> np.ndarray:
    if src == dst:
        return audio.astype(np.float32)
    from scipy.signal import resample_poly

    g = gcd(src, dst)
    return resample_poly(audio, dst // g, src // g).astype(np.float32)


def speak(text: str, sr: int, voice: str = "en-us", words_per_minute: int = 160, amplitude: float = 0.5) -> np.ndarray:
    """`text` spoken by espeak-ng, mono float32 at `sr`, peak `amplitude`. RuntimeError when espeak-ng is missing."""
    exe = shutil.which(ESPEAK)
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (Debian/Ubuntu: apt-get install espeak-ng); it is needed to render speech")
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = Path(tmp) / "speech.wav"
        result = subprocess.run([exe, "-v", voice, "-s", str(int(words_per_minute)), "-w", str(wav_path), "--stdin"],
                                input=text.encode("utf-8"), capture_output=True, timeout=60)
        if result.returncode != 0 or not wav_path.is_file():
            raise RuntimeError(f"espeak-ng failed (exit {result.returncode}): {result.stderr.decode(errors='replace')[:200]}")
        with wave.open(str(wav_path), "rb") as fh:
            rate, width, channels = fh.getframerate(), fh.getsampwidth(), fh.getnchannels()
            raw = fh.readframes(fh.getnframes())
    if width != 2:
        raise RuntimeError(f"espeak-ng wrote {8 * width}-bit audio; expected 16-bit")
    audio = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        audio = audio.reshape(-1, channels).mean(axis=1)
    audio = _resample(audio, rate, sr)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return (audio * (amplitude / peak)).astype(np.float32) if peak > 0 else audio


def _formant_gain(freqs: np.ndarray, formants: np.ndarray) -> np.ndarray:
    """Magnitude of a cascade of resonances at `freqs` (..., n) for formant centres `formants` (..., 3)."""
    gain = np.ones_like(freqs)
    for i, bw in enumerate(BANDWIDTHS):
        centre = formants[..., i:i + 1]
        gain *= centre**2 / np.sqrt((centre**2 - freqs**2) ** 2 + (bw * freqs) ** 2)
    return gain


def babble(duration: float, sr: int, seed: int = 0, amplitude: float = 0.5) -> np.ndarray:
    """Speech-like sound: phrases of 3–8 syllables (~4 per second) separated by 0.2–0.6 s pauses, from the start."""
    rng = np.random.default_rng(seed)
    n = int(round(duration * sr))
    # Syllable plan: (start, length) in seconds; the envelope is a raised cosine per syllable.
    envelope_points: list[tuple[float, float]] = []
    t = 0.05
    while t < duration:
        for _ in range(int(rng.integers(3, 9))):
            length = float(rng.uniform(0.18, 0.3))
            if t + length > duration:
                break
            envelope_points.append((t, length))
            t += length + float(rng.uniform(0.0, 0.04))
        t += float(rng.uniform(0.2, 0.6))
    # Control signals at 200 Hz, interpolated to audio rate: f0, formants, envelope.
    ctrl_rate = 200
    m = int(duration * ctrl_rate) + 2
    ct = np.arange(m) / ctrl_rate
    f0 = np.full(m, float(rng.uniform(110, 160)))
    env = np.zeros(m)
    formants = np.tile(np.array(VOWELS[0], float), (m, 1))
    for start, length in envelope_points:
        i0, i1 = int(start * ctrl_rate), min(m, int((start + length) * ctrl_rate))
        u = np.linspace(0, 1, i1 - i0)
        env[i0:i1] = np.sin(np.pi * u) ** 0.7
        a, b = VOWELS[int(rng.integers(len(VOWELS)))], VOWELS[int(rng.integers(len(VOWELS)))]
        formants[i0:i1] = np.outer(1 - u, a) + np.outer(u, b)
        base = float(rng.uniform(105, 185))
        f0[i0:i1] = base * (1 + 0.08 * np.sin(np.pi * u + rng.uniform(0, np.pi)))
    # Smooth control tracks so transitions glide like articulation.
    kernel = np.hanning(9) / np.hanning(9).sum()
    f0 = np.convolve(f0, kernel, mode="same")
    formants = np.stack([np.convolve(formants[:, k], kernel, mode="same") for k in range(3)], axis=1)
    ts = np.arange(n) / sr
    f0_s = np.interp(ts, ct, f0)
    env_s = np.interp(ts, ct, env)
    phase = 2 * np.pi * np.cumsum(f0_s) / sr
    n_harm = int(min(sr / 2 - 200, 4500) // 100)
    ctrl_freqs = f0[:, None] * np.arange(1, n_harm + 1)[None, :]
    gains = _formant_gain(ctrl_freqs, formants) / np.arange(1, n_harm + 1)[None, :]  # -6 dB/oct glottal tilt
    gains[ctrl_freqs >= sr / 2 - 100] = 0.0
    wave_ = np.zeros(n)
    for k in range(n_harm):
        wave_ += np.interp(ts, ct, gains[:, k]) * np.sin((k + 1) * phase)
    # A little aspiration noise in the high band, following the envelope.
    noise = rng.standard_normal(n)
    noise = np.diff(noise, prepend=0.0) * 0.02
    out = (wave_ / (np.max(np.abs(wave_)) or 1.0) + noise) * env_s
    # Fricatives ('s', 'f'): short high-passed noise bursts before some syllables.
    for start, _ in envelope_points:
        if rng.random() < 0.4:
            length = int(rng.uniform(0.05, 0.09) * sr)
            burst = np.diff(np.diff(rng.standard_normal(length + 2))) * np.hanning(length) * 0.08
            mix_into(out, burst, max(0.0, start - length / sr * 0.5), sr)
    peak = float(np.max(np.abs(out))) or 1.0
    return (amplitude * out / peak).astype(np.float32)


def non_speech(duration: float, sr: int, kind: str = "hum", seed: int = 0, amplitude: float = 0.4) -> np.ndarray:
    """A sound that is not speech: 'hum' (50 Hz mains hum with harmonics), 'noise' (steady pink noise) or
    'music' (a repeating piano chord progression)."""
    n = int(round(duration * sr))
    t = np.arange(n) / sr
    rng = np.random.default_rng(seed)
    if kind == "hum":
        out = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 2, 3, 4, 5)) + 0.01 * rng.standard_normal(n)
    elif kind == "noise":
        spectrum = np.fft.rfft(rng.standard_normal(n))
        freqs = np.fft.rfftfreq(n, 1 / sr)
        spectrum[1:] /= np.sqrt(freqs[1:])
        spectrum[0] = 0
        out = np.fft.irfft(spectrum, n)
    elif kind == "music":
        out = np.zeros(n, np.float32)
        progression = ([60, 64, 67], [57, 60, 64], [53, 57, 60], [55, 59, 62])
        step, i = 0.75, 0
        while i * step < duration:
            mix_into(out, chord(progression[i % 4], min(step + 0.3, duration), sr, "piano", amplitude=1.0), i * step, sr)
            i += 1
    else:
        raise ValueError(f"unknown non-speech kind {kind!r}; use hum, noise or music")
    out = np.asarray(out, dtype=np.float64)
    peak = float(np.max(np.abs(out))) or 1.0
    return (amplitude * out / peak).astype(np.float32)
