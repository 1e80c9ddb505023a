"""Aud lite: production quality falls under noise, clipping and band-limiting, on several clean sounds."""

from __future__ import annotations

import numpy as np
import pytest

from avgenbench.dimensions.aud import DIMENSION, assess, clipping_excess, dropouts
from avgenbench.media import _resample
from avgenbench.runner import Unit, run_unit
from avgenbench.suite import PromptItem
from avgenbench.synthetic.audio_faults import add_noise, clean_signal, hard_clip, insert_dropouts, low_pass
from avgenbench.synthetic.encode import write_clip

SR = 48000
KINDS = ("music", "babble", "impacts")


def score(x: np.ndarray) -> float:
    m = assess(x, _resample(x, SR, 16000))
    assert m.status == "ok"
    return m.raw


@pytest.fixture(scope="module")
def clean() -> dict[str, np.ndarray]:
    return {kind: clean_signal(kind, 5.0, SR, seed=2) for kind in KINDS}


@pytest.fixture(scope="module")
def clean_scores(clean) -> dict[str, float]:
    return {kind: score(x) for kind, x in clean.items()}


@pytest.mark.parametrize("kind", KINDS)
def test_white_noise_lowers_aud_monotonically(kind, clean, clean_scores):
    scores = [score(add_noise(clean[kind], snr)) for snr in (30, 20, 10, 0)]
    assert scores[0] <= clean_scores[kind] + 1e-6
    assert clean_scores[kind] > scores[1] > scores[2] > scores[3], (kind, clean_scores[kind], scores)


@pytest.mark.parametrize("kind", KINDS)
def test_pink_noise_lowers_aud(kind, clean, clean_scores):
    assert score(add_noise(clean[kind], 10, "pink")) < clean_scores[kind] - 1.0


@pytest.mark.parametrize("kind", KINDS)
def test_clipping_lowers_aud(kind, clean, clean_scores):
    mild, heavy = score(hard_clip(clean[kind], 6)), score(hard_clip(clean[kind], 12))
    assert clean_scores[kind] > mild >= heavy, (kind, clean_scores[kind], mild, heavy)
    assert clean_scores[kind] - heavy > 2.0


@pytest.mark.parametrize("kind", KINDS)
def test_band_limiting_lowers_aud_monotonically(kind, clean, clean_scores):
    scores = [score(low_pass(clean[kind], SR, cutoff)) for cutoff in (8000, 4000, 2000)]
    assert clean_scores[kind] > scores[0] > scores[1] > scores[2], (kind, clean_scores[kind], scores)


def test_clean_sounds_score_high_and_evidence_names_the_measures(clean):
    m = assess(clean["music"], _resample(clean["music"], SR, 16000))
    assert m.raw >= 8.5
    assert set(m.evidence["measures"]) == {"snr", "clipping", "bandwidth", "loudness", "dynamics", "dc", "dropouts"}
    assert m.evidence["weakest"] is None
    noisy = assess(add_noise(clean["music"], 10), _resample(add_noise(clean["music"], 10), SR, 16000))
    assert noisy.evidence["weakest"] == "snr"


def test_dnsmos_is_blended_only_where_speech_dominates(clean):
    speechy = assess(clean["babble"], _resample(clean["babble"], SR, 16000)).evidence
    assert speechy["speech_fraction"] > 0.5 and 1.0 <= speechy["dnsmos"]["ovrl"] <= 5.0
    assert "dnsmos" not in assess(clean["impacts"], _resample(clean["impacts"], SR, 16000)).evidence


def test_dropouts_and_clipping_detectors_on_known_faults(clean):
    music = clean["music"]
    assert dropouts(music, SR) == []
    assert len(dropouts(insert_dropouts(music, SR, [1.03, 2.51, 3.77]), SR)) >= 1
    assert clipping_excess(music) < 0.01 < clipping_excess(hard_clip(music, 12))


def test_dc_offset_lowers_aud(clean, clean_scores):
    assert score(clean["music"] * 0.8 + 0.05) < clean_scores["music"] - 0.5


# Through the real pipeline: AAC encode, decode once, runner.

@pytest.fixture(scope="module")
def aac_scores(tmp_path_factory, clean) -> dict[str, tuple[str, float, dict]]:
    folder = tmp_path_factory.mktemp("aud")
    frame = np.full((180, 320, 3), 80, np.uint8)
    music = clean["music"]
    audios = {"clean": music, "noise10": add_noise(music, 10), "clip12": hard_clip(music, 12),
              "lowpass4k": low_pass(music, SR, 4000), "silent": np.zeros_like(music)}
    item = PromptItem("test", 0, "aud", "aud")
    out = {}
    for name, audio in audios.items():
        path = write_clip(folder / f"{name}.mp4", (frame for _ in range(60)), 12, audio, SR)
        m = run_unit(Unit(item, str(path), ["aud"], "lite", {}, {})).measurements[0][3]
        out[name] = (m.status, m.raw, m.evidence)
    return out


def test_aac_clips_keep_the_ordering(aac_scores):
    status, clean_raw, _ = aac_scores["clean"]
    assert status == "ok" and clean_raw >= 8.0
    for name in ("noise10", "clip12", "lowpass4k"):
        assert aac_scores[name][0] == "ok"
        assert aac_scores[name][1] < clean_raw - 2.0, (name, aac_scores[name][1], clean_raw)


def test_silent_track_scores_worst_with_evidence(aac_scores):
    status, raw, evidence = aac_scores["silent"]
    assert status == "ok" and raw == DIMENSION.worst_raw == 1.0
    assert evidence["silent"] is True


def test_declaration_unchanged():
    assert (DIMENSION.id, DIMENSION.group, DIMENSION.worst_raw, DIMENSION.normalize(5.0)) == ("aud", "basic", 1.0, 50.0)
    assert 48000 in DIMENSION.needs.audio_rates and DIMENSION.needs.needs_audio


def test_aud_probes_meet_their_truths(tmp_path):
    from avgenbench.synthetic.speech_probes import aud_probes

    item = PromptItem("test", 0, "aud", "aud")

    def measure(path, annotation):
        return run_unit(Unit(item, path, ["aud"], "lite", annotation, {})).measurements[0][3]

    probes = aud_probes(tmp_path)
    assert {p["truth"]["content"] for p in probes} == {"music", "babble", "impacts", "silence"}
    for probe in probes:
        m = measure(probe["path"], probe["annotation"])
        truth = probe["truth"]
        if truth["content"] == "silence":
            assert (m.raw, m.evidence.get("silent")) == (1.0, True)
            continue
        assert m.raw >= truth["clean_raw_min"], (truth, m.raw)
        for pert in probe["perturbations"]:
            assert measure(pert["path"], probe["annotation"]).raw < m.raw, (truth["content"], pert["name"])


def test_a_fatal_fault_leaves_the_other_measures_a_say():
    """Two clips with the same fatal fault (q = 0) are still ordered by their other measures, not tied at 1 (on the
    real dev clips a steak hitting a board reads as clipped, and tied with its noisy copy; see test_calibrate_real)."""
    from avgenbench.dimensions.aud import WEIGHTS, signal_pq

    clipped = {key: {"q": 1.0} for key in WEIGHTS} | {"clipping": {"q": 0.0}}
    clipped_and_noisy = clipped | {"snr": {"q": 0.1}}
    assert 1.0 < signal_pq(clipped_and_noisy) < signal_pq(clipped) <= 1.16
    assert signal_pq({key: {"q": 1.0} for key in WEIGHTS}) == 9.0
