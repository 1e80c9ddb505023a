"""Voice activity detection with the Silero VAD ONNX model that ships inside the `faster-whisper` wheel.

The model reads 16 kHz mono audio in 512-sample windows (32 ms), each with the previous window's last 64 samples as
context, and returns a speech probability per window. Segments use hysteresis (enter at 0.5, leave below 0.35), bridge
pauses shorter than 0.3 s and drop segments shorter than 0.2 s. One ONNX session per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..models import onnx_session, require_package_file

RATE = 16000
WINDOW = 512
CONTEXT = 64
ENTER, LEAVE = 0.5, 0.35
MIN_SILENCE_S, MIN_SPEECH_S = 0.3, 0.2

MODEL = "assets/silero_vad_v6.onnx"


def model_path() -> Path:
    return require_package_file("faster_whisper", MODEL, "speech detection (faster-whisper >= 1.2 ships it)")


def _session():
    return onnx_session(model_path())


def speech_probabilities(audio16: np.ndarray) -> np.ndarray:
    """Speech probability per 32 ms window of 16 kHz mono audio."""
    audio = np.asarray(audio16, dtype=np.float32)
    if audio.size == 0:
        return np.zeros(0, np.float32)
    audio = np.pad(audio, (0, (-len(audio)) % WINDOW))
    windows = audio.reshape(-1, WINDOW)
    context = np.zeros((len(windows), CONTEXT), np.float32)
    context[1:] = windows[:-1, -CONTEXT:]
    batch = np.concatenate([context, windows], axis=1)
    session = _session()
    state_h = np.zeros((1, 1, 128), np.float32)
    state_c = np.zeros((1, 1, 128), np.float32)
    outputs = []
    for start in range(0, len(batch), 4096):
        probs, state_h, state_c = session.run(None, {"input": batch[start:start + 4096], "h": state_h, "c": state_c})
        outputs.append(np.asarray(probs, np.float32).reshape(-1))
    return np.concatenate(outputs)


@dataclass
class VadResult:
    segments: list[tuple[float, float]]  # seconds
    duration: float
    mean_probability: float

    @property
    def speech_seconds(self) -> float:
        return float(sum(b - a for a, b in self.segments))

    @property
    def fraction(self) -> float:
        return self.speech_seconds / self.duration if self.duration > 0 else 0.0

    def summary(self, max_segments: int = 12) -> dict:
        return {
            "speech_seconds": round(self.speech_seconds, 2), "speech_fraction": round(self.fraction, 3),
            "segments": [[round(a, 2), round(b, 2)] for a, b in self.segments[:max_segments]],
            "n_segments": len(self.segments),
        }


def segments_from_probabilities(probs: np.ndarray, duration: float) -> list[tuple[float, float]]:
    step = WINDOW / RATE
    segments: list[list[float]] = []
    active = False
    for i, p in enumerate(probs):
        if not active and p >= ENTER:
            active = True
            segments.append([i * step, (i + 1) * step])
        elif active:
            if p >= LEAVE:
                segments[-1][1] = (i + 1) * step
            else:
                active = False
    merged: list[list[float]] = []
    for seg in segments:
        if merged and seg[0] - merged[-1][1] < MIN_SILENCE_S:
            merged[-1][1] = seg[1]
        else:
            merged.append(seg)
    return [(a, min(b, duration)) for a, b in merged if b - a >= MIN_SPEECH_S]


def detect(audio16: np.ndarray) -> VadResult:
    """Speech segments of 16 kHz mono audio."""
    duration = len(audio16) / RATE
    probs = speech_probabilities(audio16)
    return VadResult(segments_from_probabilities(probs, duration), duration, float(probs.mean()) if probs.size else 0.0)
