"""Lip's mouth-darkness signal and its offset posterior, on generated clips and curves with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from avgenbench.dimensions import face, lip
from avgenbench.media import decode
from avgenbench.perception import faces as pf
from avgenbench.synthetic import face_probes as fp
from avgenbench.synthetic.faces import list_identities

LAGS = np.abs(np.arange(-lip.MAX_LAG, lip.MAX_LAG + 1))
CHANCE = float(LAGS.mean())  # E|offset| when every lag is equally likely: ~7.74


def expected_abs(curves) -> float:
    return float(np.sum(lip.offset_posterior(curves) * LAGS[None, :]))


def lip_target() -> float:
    from avgenbench.synthetic.probes import LIP_TARGET_FRAMES

    return LIP_TARGET_FRAMES


def peaked(lag: int, height: float, width: float = 2.0) -> np.ndarray:
    return height * np.exp(-0.5 * ((np.arange(-lip.MAX_LAG, lip.MAX_LAG + 1) - lag) / width) ** 2)


def test_posterior_gathers_strong_evidence_at_its_lag():
    """A mouth following the audio well (c 0.8 over 125 frames) puts E|offset| within a frame of its lag
    (the synthetic calibrate target; a peak a few lags wide folds some mass onto |lag| > 0)."""
    for lag in (0, 3, -6):
        assert expected_abs([(peaked(lag, 0.8), 125)]) == pytest.approx(abs(lag), abs=lip_target())


def test_posterior_spreads_weak_evidence_towards_chance():
    flat = np.zeros(2 * lip.MAX_LAG + 1)
    assert expected_abs([(flat, 125)]) == pytest.approx(CHANCE, abs=1e-9)
    # Anti-correlation is no evidence of sync.
    assert expected_abs([(-peaked(0, 0.6), 125)]) > CHANCE - 0.5
    # Weak evidence at lag 0 reads better than chance but far from 0; the same at +10 reads worse than chance.
    weak_sync, weak_late = expected_abs([(peaked(0, 0.35), 125)]), expected_abs([(peaked(10, 0.35), 125)])
    assert 2.0 < weak_sync < CHANCE - 0.3 and weak_late > CHANCE
    # Fewer frames, less evidence: the same curve over 50 frames is nearer chance.
    assert weak_sync < expected_abs([(peaked(0, 0.35), 50)]) < CHANCE


def test_posterior_charges_for_trying_more_faces():
    """Another face that follows nothing spreads the mass: the speaker's reading gets nearer chance, never better."""
    speaker = (peaked(1, 0.5), 125)
    alone = expected_abs([speaker])
    with_listener = expected_abs([speaker, (np.zeros(2 * lip.MAX_LAG + 1), 125)])
    assert alone < with_listener < CHANCE
    posterior = lip.offset_posterior([speaker, (np.zeros(2 * lip.MAX_LAG + 1), 125)])
    assert posterior.sum() == pytest.approx(1.0) and posterior[0].sum() > posterior[1].sum()


@pytest.fixture(scope="module")
def talking(tmp_path_factory):
    out = tmp_path_factory.mktemp("lip_dark")
    ids = list_identities()
    return {"late3": fp.talking_clip(out / "late3.mp4", ids[1], 3, seconds=3.2, seed=7),
            "closed": fp.talking_clip(out / "closed.mp4", ids[2], 0, seconds=3.2, seed=8, lips=False)}


def _darkness_offset(path):
    clip = decode(path, lip.LipLandmarkLite().needs())
    frames = clip.frames_for(face.FRAMES)
    (track,) = pf.tracks_for_frames(frames)
    envelope = lip.speech_envelope(clip.audio_at(lip.AUDIO_RATE), lip.AUDIO_RATE, len(frames))
    dark = pf.mouth_darkness(frames.images, track)
    assert dark.shape == (len(track),)
    offset, confidence, _ = lip.sync_offset(dark, np.asarray(track.frames), envelope)
    return offset, confidence * np.sqrt(len(track) / lip.DECORRELATION_FRAMES), dark


def test_mouth_darkness_alone_recovers_a_known_offset(talking):
    """The mouth cavity's darkness follows the rendered opening: alone it finds the voice 3 frames late."""
    offset, z, _ = _darkness_offset(talking["late3"])
    assert abs(offset - 3) <= 1 and z >= lip.MIN_Z, (offset, z)


def test_mouth_darkness_of_closed_lips_follows_nothing(talking):
    offset, z, dark = _darkness_offset(talking["closed"])
    _, _, moving = _darkness_offset(talking["late3"])
    assert np.std(dark) < 0.5 * np.std(moving), (np.std(dark), np.std(moving))
    assert z < lip.MIN_Z, (offset, z)
