"""AV lite: offsets recovered on impact clips with known audio shifts, no-events statuses, evidence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avgenbench.annotations import PromptAnnotation
from avgenbench.dimensions import av
from avgenbench.dimensions.base import ItemContext, Status, status_kind
from avgenbench.media import decode
from avgenbench.runner import Unit, run_unit
from avgenbench.suite import PromptItem
from avgenbench.synthetic.av_probes import SR, _texture, av_probes, impact_clip
from avgenbench.synthetic.encode import write_clip
from avgenbench.synthetic.generator import render
from avgenbench.synthetic.sound import click, mix_into

ITEM = PromptItem("physical_experiment", 0, "bouncing ball", "a ball bounces on the floor")
TOLERANCE_S = 0.04


def render_spec(spec: dict, path: Path) -> Path:
    """Render a synthetic clip spec to `path` (its truth sidecar beside it)."""
    render(spec, path)
    return Path(path)


def measure(path):
    ctx = ItemContext(ITEM, PromptAnnotation())
    return av.AVOnsetAlignLite().measure(decode(path, av.DIMENSION.needs), ctx)


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    return av_probes(tmp_path_factory.mktemp("av_probes"))


@pytest.fixture(scope="module")
def probe_results(probes):
    return [(p, measure(p["path"]), measure(p["perturbations"][0]["path"])) for p in probes]


def test_probe_offsets_recovered_both_signs(probe_results):
    truths = [p["truth"]["offset_ms"] / 1000 for p, _, _ in probe_results]
    assert min(truths) < -0.2 and max(truths) > 0.2
    for probe, m, _ in probe_results:
        truth = probe["truth"]["offset_ms"] / 1000
        assert m.status == Status.OK, m.message
        assert abs(m.evidence["offset_ms"] / 1000 - truth) <= TOLERANCE_S, (truth, m.evidence)
        assert abs(m.raw - abs(truth)) <= TOLERANCE_S, (truth, m.raw)
        assert m.evidence["confidence"] > 0.5
        assert m.evidence["audio_onsets"] == len(probe["truth"]["impacts_s"])


def test_larger_shift_scores_worse(probe_results):
    for probe, clean, shifted in probe_results:
        truth = probe["perturbations"][0]["truth"]["offset_ms"] / 1000
        assert shifted.status == Status.OK
        assert abs(shifted.evidence["offset_ms"] / 1000 - truth) <= TOLERANCE_S, (truth, shifted.evidence)
        assert shifted.raw > clean.raw + 0.15


@pytest.mark.parametrize("fps,offset", [(30, -0.21), (25, 0.37)])
def test_other_frame_rates(tmp_path, fps, offset):
    path = impact_clip(tmp_path / "clip.mp4", [0.5, 1.3, 1.9, 2.7, 3.3], offset, duration=4.0, fps=fps, seed=7)
    m = measure(path)
    assert abs(m.evidence["offset_ms"] / 1000 - offset) <= TOLERANCE_S, m.evidence


def test_events_late_in_the_clip_count(tmp_path):
    """The whole clip is aligned, not only its first seconds: here every impact comes after 5 s."""
    path = impact_clip(tmp_path / "late.mp4", [5.6, 6.4, 7.1, 8.0], -0.25, duration=9.0, seed=4)
    m = measure(path)
    assert m.status == Status.OK
    assert min(m.evidence["audio_onset_times_s"]) > 5.0
    assert abs(m.evidence["offset_ms"] / 1000 + 0.25) <= TOLERANCE_S, m.evidence


def test_impacts_during_a_camera_pan(tmp_path):
    """Nine impacts over 7 s: six over 5 s under a pan beat the event-shuffle chance level only at p ~0.07."""
    path = impact_clip(tmp_path / "pan.mp4", [0.7, 1.5, 2.1, 3.0, 3.6, 4.4, 5.1, 5.9, 6.4], 0.2, duration=7.0, pan=3,
                       seed=2)
    m = measure(path)
    assert m.status == Status.OK
    assert abs(m.evidence["offset_ms"] / 1000 - 0.2) <= TOLERANCE_S, m.evidence


def test_sound_unrelated_to_motion_is_inconclusive_not_scored(tmp_path):
    """Sound events at times unrelated to the bounces: the alignment is no better than chance, so no offset is claimed
    and the row is not scored (it used to read ~0.5 s, the worst, as if the clip were known to be out of sync)."""
    path = impact_clip(tmp_path / "unrelated.mp4", [0.7, 1.5, 2.1, 3.0, 3.6, 4.4], duration=5.0, seed=2,
                       sound_times=[0.4, 1.2, 2.6, 3.3, 4.7])
    m = measure(path)
    assert m.status == Status.INCONCLUSIVE and m.raw is None, m.evidence
    assert status_kind(m.status) == "not_scored"
    assert m.evidence["p_value"] > av.ALPHA and "chance" in m.evidence["reason"]


@pytest.mark.parametrize("offset", [0.0, 0.2])
def test_periodic_impacts_take_the_alias_nearest_zero(tmp_path, offset):
    """Impacts every 0.75 s: lags 0.75 s apart fit equally well. The peak nearest zero is the offset and the expectation
    stays on it (aliases at ±0.75 s used to enter E|offset|: a synced clip read ~0.2 s)."""
    impacts = [0.6 + 0.75 * k for k in range(6)]
    m = measure(impact_clip(tmp_path / "periodic.mp4", impacts, offset, duration=5.4, seed=5))
    assert m.status == Status.OK, m.evidence
    assert abs(m.evidence["offset_ms"] / 1000 - offset) <= TOLERANCE_S, m.evidence
    assert abs(m.raw - offset) <= TOLERANCE_S and m.evidence["confidence"] > 0.5, m.evidence


@pytest.mark.parametrize("impacts,limit", [([0.8, 1.6, 2.5, 3.2], TOLERANCE_S), ([0.5, 1.5, 2.5, 3.5], 0.1)])
def test_provider_clip_is_in_sync(tmp_path, impacts, limit):
    """The provider's clips are in sync; evenly spaced impacts leave some ambiguity, but little."""
    path = render_spec({"impacts": impacts, "duration": 4.0, "width": 480, "height": 270}, tmp_path / "p.mp4")
    m = measure(path)
    assert m.status == Status.OK
    assert abs(m.evidence["offset_ms"]) <= 1000 * TOLERANCE_S
    assert m.raw <= limit, m.evidence


def test_silent_audio_is_no_events(tmp_path):
    m = measure(impact_clip(tmp_path / "silent.mp4", [0.7, 1.5, 2.4], silent=True, duration=3.0))
    assert m.status == Status.NO_EVENTS and m.raw is None
    assert m.evidence["reason"] == "silent audio"


def test_no_motion_is_no_events(tmp_path):
    m = measure(impact_clip(tmp_path / "still.mp4", [0.7, 1.5, 2.4], still=True, duration=3.0))
    assert m.status == Status.NO_EVENTS
    assert m.evidence["visual_events"] == 0 and m.evidence["audio_onsets"] == 3


def test_steady_pan_with_steady_noise_is_no_events(tmp_path):
    texture = _texture(300, 640, 3)
    frames = [texture[10:280, 2 * i:2 * i + 480] for i in range(72)]
    noise = 0.05 * np.random.default_rng(0).standard_normal(3 * SR).astype(np.float32)
    m = measure(write_clip(tmp_path / "pan.mp4", frames, 24, noise, SR))
    assert m.status == Status.NO_EVENTS
    assert m.evidence["audio_onsets"] == 0 and m.evidence["visual_events"] == 0


def test_clicks_over_static_scene_is_no_events(tmp_path):
    texture = _texture(270, 480, 4)
    audio = np.zeros(3 * SR, np.float32)
    for t in (0.6, 1.4, 2.2):
        mix_into(audio, click(SR), t, SR)
    m = measure(write_clip(tmp_path / "static.mp4", [texture] * 72, 24, audio, SR))
    assert m.status == Status.NO_EVENTS
    assert m.evidence["reason"] == "no visual motion events"


def test_evidence_is_readable_json(probe_results):
    _, m, _ = probe_results[0]
    text = json.dumps(m.evidence)
    assert len(text) < 2000
    for key in ("offset_ms", "expected_abs_offset_ms", "confidence", "audio_onsets", "visual_events", "lag_window_s",
                "audio_onset_times_s", "visual_event_times_s", "sign", "p_value", "best_pair", "channels"):
        assert key in m.evidence
    assert m.evidence["lag_window_s"] == [-1.0, 1.0]


def test_runner_measures_av_and_vis_from_one_decode(probes):
    unit = Unit(ITEM, probes[1]["path"], ["vis", "av"], "lite", PromptAnnotation().model_dump())
    result = run_unit(unit)
    assert result.decodes == 1
    by_dim = {dim: m for dim, _, _, m, _, _ in result.measurements}
    assert by_dim["av"].status == Status.OK and by_dim["vis"].status == Status.OK
    assert abs(by_dim["av"].evidence["offset_ms"] - probes[1]["truth"]["offset_ms"]) <= 1000 * TOLERANCE_S


def test_a_single_event_is_too_little_to_align(tmp_path):
    """One bounce and one knock: any offset fits equally well, so no offset is claimed."""

    path = tmp_path / "one.mp4"
    render_spec({"duration": 3.0, "width": 320, "height": 180, "impacts": [1.5]}, path)
    m = measure(path)
    assert m.status == Status.NO_EVENTS and m.evidence["reason"].startswith("only 1")


@pytest.fixture(scope="module")
def talking_head(tmp_path_factory):
    """A face speaking (TTS, or babble without espeak-ng) with its mouth driven by the voice, and the same clip with
    the sound 300 ms late."""
    from avgenbench.synthetic.generator import render
    from avgenbench.synthetic.perturb import shift_audio

    out = tmp_path_factory.mktemp("talk")
    line = "Good evening. Here is the news at nine. The weather stays dry all week."
    speech = {"text": line, "start": 0.8, "duration": 6.0, "babble_without_tts": True}  # babble without espeak-ng
    spec = {"duration": 8.0, "width": 640, "height": 360, "fps": 24, "background": "texture", "seed": 3,
            "faces": [{"identity": "#1", "cx": 0.5, "cy": 0.45, "height": 0.6}], "speech": [speech]}
    render(spec, out / "sync.mp4")
    shift_audio(out / "sync.mp4", out / "late.mp4", 300)
    return out / "sync.mp4", out / "late.mp4"


def _av(path):
    result = run_unit(Unit(PromptItem("t", 0, "c", "p"), str(path), ["av"], "lite", PromptAnnotation().model_dump()))
    return result.measurements[0][3]


def test_a_talking_face_gives_mouth_events_that_carry_the_offset(talking_head):
    """Speech onsets do not line up with whole-frame motion; the mouth's opening does. In sync the speaker reads near
    zero (the synthetic mouth opens ~50 ms after the voice onset it follows), 300 ms late reads ~300 ms later and worse."""
    sync, late = (_av(p) for p in talking_head)
    assert sync.status == late.status == "ok"
    assert sync.evidence["mouth_events"] >= 8 and sync.evidence["mouth_event_times_s"]
    assert -150 <= sync.evidence["offset_ms"] <= 50 and sync.raw < 0.3
    assert 200 <= late.evidence["offset_ms"] - sync.evidence["offset_ms"] <= 400
    assert late.raw > sync.raw + 0.05


def test_without_face_models_av_uses_motion_only(talking_head, monkeypatch):
    from avgenbench.perception import faces

    monkeypatch.setattr(faces, "missing_reason", lambda: "no face models here")
    m = _av(talking_head[0])
    assert m.evidence["mouth_events"] == 0 and m.evidence["motion_events"] == m.evidence["visual_events"]


REAL_CLIPS = [("dialogue", "Woman with closed eyes speaks"), ("music", "Acoustic guitar"), ("music", "Trumpet player")]


@pytest.fixture(scope="module")
def real_pairs(realclips_dir, tmp_path_factory):
    """Three real dev clips, each clean and with its audio 400 ms late (perturb.shift_audio), measured."""
    from avgenbench.synthetic.perturb import shift_audio
    from conftest import realclip

    out = tmp_path_factory.mktemp("real_av")
    pairs = []
    for category, content in REAL_CLIPS:
        clean = realclip(realclips_dir, category, content)
        late = out / f"{content}.late.mp4"
        shift_audio(clean, late, 400)
        pairs.append((content, measure(clean), measure(late)))
    return pairs


def test_real_clips_cannot_tell_is_not_out_of_sync(real_pairs):
    """On real clips whose sound no visual event explains, AV says so (inconclusive / no events, not scored) instead
    of the worst offset: these three used to read E|offset| 0.49-0.50 s (score ~0) at confidence ~0.05."""
    for content, clean, _ in real_pairs:
        assert clean.status in (Status.OK, Status.INCONCLUSIVE, Status.NO_EVENTS), (content, clean.message)
        if clean.status == Status.OK:
            assert clean.evidence["p_value"] <= av.ALPHA
            assert clean.raw < 0.45 or clean.evidence["confidence"] > 0.5, (content, clean.evidence)


@pytest.mark.xfail(strict=True, reason="known AV fault on real content (issue: real videos): with CenterFace mouth "
                   "tracks the trumpet player reads a conclusive -78 ms clean and -63 ms with the sound 400 ms late, "
                   "so the late copy scores better; strict, so a fix makes this test fail until the mark is removed")
def test_real_clips_shifted_audio_never_scores_better(real_pairs):
    """400 ms late audio is never read as better synced than the clean clip when both are conclusive, and a clean
    reading that is conclusive stays so (or moves by about the shift) with the sound late."""
    for content, clean, late in real_pairs:
        if clean.status == Status.OK and late.status == Status.OK:
            assert late.raw > clean.raw or abs(late.evidence["offset_ms"] - clean.evidence["offset_ms"] - 400) <= 60, \
                (content, clean.evidence, late.evidence)
