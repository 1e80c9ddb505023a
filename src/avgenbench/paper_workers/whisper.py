"""Speech, paper tier: faster-whisper large-v3 with its voice-activity filter, run in the `faster-whisper` environment.

This worker only transcribes; the Speech backend in the evaluating process scores the transcript (the verbatim score,
or the judge in contextual mode; dimensions/speech.py). The clip's whole audio arrives mono at 16 kHz; faster-whisper's
own Silero VAD (`vad_filter=True`, its default parameters) keeps the speech, decoded with beam size 5 as in the
reference, the language detected by the model (an English-only model such as tiny.en says English itself). The raw
value is the number of words recognised; the transcript, its segments and the language are in the evidence.
"""

from __future__ import annotations

import os

import numpy as np

from ..dimensions.base import Measurement, Status
from ..dimensions.in_env import DEVICE_ENV
from .common import PaperWorker, choose_device
from .identities import WHISPER

RATE = 16000
BEAM_SIZE = 5
MODEL = "faster-whisper-large-v3"  # the model folder under the weights (a CTranslate2 conversion)


def compute_type(device: str) -> str:
    """float16 on a GPU, int8 on the CPU (CTranslate2's fast CPU path)."""
    return "float16" if device.startswith("cuda") else "int8"


def device_and_index(device: str) -> tuple[str, int]:
    """CTranslate2 takes the device kind and its index apart: 'cuda:1' -> ('cuda', 1)."""
    kind, _, index = device.partition(":")
    return kind, int(index or 0)


class FasterWhisperSpeech(PaperWorker, identity=WHISPER):
    def _choose_device(self) -> str:
        import ctranslate2  # no torch in this environment: CTranslate2 says whether it sees a GPU

        return choose_device(os.environ.get(DEVICE_ENV), ctranslate2.get_cuda_device_count() > 0)

    def _build(self, weights):
        from faster_whisper import WhisperModel

        kind, index = device_and_index(self._device)
        return WhisperModel(str(weights / MODEL), device=kind, device_index=index,
                            compute_type=compute_type(self._device), local_files_only=True)

    def measure(self, clip, ctx) -> Measurement:
        audio = clip.audio.get(RATE)
        if audio is None or len(audio) == 0:
            return Measurement(Status.NO_AUDIO_STREAM, message="no audio to transcribe")
        model = self._load()
        segments, info = model.transcribe(np.asarray(audio, dtype=np.float32), beam_size=BEAM_SIZE, vad_filter=True)
        parts = [(round(float(s.start), 2), round(float(s.end), 2), s.text.strip()) for s in segments]
        text = " ".join(part[2] for part in parts).strip()
        return Measurement(Status.OK, float(len(text.split())), {
            "transcript": text, "segments": [list(part) for part in parts], "language": info.language,
            "language_probability": round(float(info.language_probability), 3),
            "seconds": round(float(info.duration), 2), "speech_seconds": round(float(info.duration_after_vad), 2),
            "vad": True, "beam_size": BEAM_SIZE, "device": self._device, "compute_type": compute_type(self._device)})


if __name__ == "__main__":
    from ..worker import serve

    serve(FasterWhisperSpeech())
