"""Face and Lip (lite) on generated clips of real faces with known identities, mouth motion and lip offsets."""

from __future__ import annotations

import numpy as np
import pytest

from avgenbench.annotations import PromptAnnotation
from avgenbench.dimensions import face, get_backend, lip
from avgenbench.runner import Unit, run_unit
from avgenbench.suite import PromptItem
from avgenbench.synthetic import face_probes as fp
from avgenbench.synthetic.faces import VARIANTS, face_crop, list_identities, paste_face
from avgenbench.perception import faces as pf

ITEM = PromptItem("test", 0, "content", "a prompt")


def evaluate(path, annotation: dict | None = None, dims=("face", "lip")) -> dict:
    """Both dimensions through the real runner path (one decode with the merged needs)."""
    ann = PromptAnnotation.model_validate(annotation or {}).model_dump()
    result = run_unit(Unit(ITEM, str(path), list(dims), "lite", ann))
    measured = {dim: m for dim, _, _, m, _, _ in result.measurements}
    # Decoded once, or not at all when the prompt alone settled every dimension (e.g. no faces expected).
    settled = all(m.status == "not_applicable" for m in measured.values())
    assert result.decodes == 1 or (settled and result.decodes == 0)
    return measured


def ann(min_ids=None, max_ids=None, speech=False) -> dict:
    faces = {"min_ids": min_ids, "max_ids": max_ids} if min_ids is not None else None
    return {"faces": faces, "speech_required": speech}


def single_face(identity: str, mouth_open: float = 0.0, variant: str = "plain", height: int = 220) -> np.ndarray:
    frame = fp.background(seed=5)
    paste_face(frame, identity, 320, 180, height, mouth_open, variant)
    return frame


# --- the renderer -------------------------------------------------------------------------------------------------

def test_identities_are_distinct_and_variants_keep_identity():
    ids = list_identities()
    assert len(ids) >= 4 and len(set(ids)) == len(ids)
    assert face_crop(ids[0]).shape == (256, 256, 3) and face_crop(ids[0], "mirror").dtype == np.uint8
    embeddings = {}
    for identity in ids:
        for variant in ("plain", "mirror", "warm"):
            frame = single_face(identity, 0.3, variant)
            boxes = pf.detect_faces(frame)
            assert len(boxes) == 1, f"{identity}/{variant}: {len(boxes)} faces"
            embeddings[identity, variant] = pf.embed(frame, boxes[0])[1]
    for (a, va), ea in embeddings.items():
        for (b, vb), eb in embeddings.items():
            d = float(np.linalg.norm(ea - eb))
            if a == b:
                assert d < face.STABLE_DISTANCE, (a, va, vb, d)
            else:
                assert d > face.SAME_IDENTITY, (a, b, d)


def test_mouth_opening_grows_with_mouth_open():
    for identity in list_identities():
        for variant in VARIANTS:
            openings, box = [], None
            for m in (0.0, 0.5, 1.0):
                head = np.ascontiguousarray(single_face(identity, m, variant)[50:310, 190:450])
                if box is None:  # the head does not move: one box (of the closed mouth) isolates the mouth's change
                    (box,) = pf.detect_faces(head)
                openings.append(pf.mouth_opening(pf.landmarks_in(head, box)))
            assert openings[0] < openings[1] < openings[2], (identity, variant, openings)
            assert openings[2] - openings[0] > 0.05, (identity, variant, openings)


def test_unknown_identity_and_variant_are_refused():
    with pytest.raises(KeyError):
        face_crop("nobody")
    with pytest.raises(KeyError):
        face_crop(list_identities()[0], "sepia")


# --- Face ----------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def face_clips(tmp_path_factory):
    out = tmp_path_factory.mktemp("faces")
    a, b, c, d = list_identities()[2:6]
    n = 3 * fp.FPS
    S = fp.FaceSpan
    clips = {
        "three": fp.faces_clip(out / "three.mp4", [S(a, 0, n, 110, 180, 180), S(b, 0, n, 320, 180, 180, "warm"),
                                                   S(c, 0, n, 530, 180, 180, "mirror")]),
        # A cut: one person, then another elsewhere in the frame.
        "cut": fp.faces_clip(out / "cut.mp4", [S(a, 0, n // 2, 220, 180), S(d, n // 2, n, 420, 170)], seed=2),
        # The same person leaves and comes back (mirrored, tinted): still one identity.
        "return": fp.faces_clip(out / "return.mp4", [S(b, 0, 30, 200, 180), S(b, 45, n, 430, 180, 220, "cool")], seed=3),
        "empty": fp.faces_clip(out / "empty.mp4", [], seed=4),
        # Shot / reverse shot: two people framed alike, cut back and forth (hard cuts are not identity drift).
        "reverse": fp.shots_clip(out / "reverse.mp4", [(10, [S(a, 0, 25, 320, 180)]), (11, [S(d, 0, 25, 320, 180)]),
                                                       (10, [S(a, 0, 25, 320, 180)]), (11, [S(d, 0, 25, 330, 175)])]),
        # Look-alikes on screen together are two people.
        "twins": fp.faces_clip(out / "twins.mp4", [S(b, 0, n, 170, 180, 200), S(b, 0, n, 470, 180, 200, "mirror")], seed=6),
        # Faces of about 45 px: below the plain HOG pass, found by the upsampled second look.
        "small": fp.faces_clip(out / "small.mp4", [S(a, 0, n, 200, 180, 90), S(c, 0, n, 440, 200, 90)], seed=5),
    }
    probes = fp.face_probes(out / "probes")
    return clips, probes


def test_face_counts_identities_exactly(face_clips):
    clips, probes = face_clips
    for name, expected in (("three", 3), ("cut", 2), ("return", 1), ("small", 2), ("twins", 2), ("reverse", 2)):
        m = evaluate(clips[name], ann(expected, expected), dims=("face",))["face"]
        assert m.status == "ok", (name, m.message)
        assert m.evidence["primary_ids"] == expected, (name, m.evidence)
        assert m.raw == pytest.approx(100.0, abs=1.0), (name, m.evidence)
    # Wrong expectations cost the count term only, with a linear decay.
    m = evaluate(clips["three"], ann(1, 1), dims=("face",))["face"]
    assert m.evidence["count_term"] == 0.0 and m.raw == pytest.approx(60.0, abs=1.0)
    m = evaluate(clips["three"], ann(1, 2), dims=("face",))["face"]
    assert m.evidence["count_term"] == 0.5 and m.raw == pytest.approx(80.0, abs=1.0)


def test_face_probes_drop_under_perturbations(face_clips):
    _, probes = face_clips
    assert len(probes) >= 2
    for probe in probes:
        base = evaluate(probe["path"], probe["annotation"], dims=("face",))["face"]
        assert base.status == "ok" and base.evidence["primary_ids"] == probe["truth"]["identities"]
        assert base.raw >= 95, base.evidence
        assert probe["perturbations"]
        for pert in probe["perturbations"]:
            worse = evaluate(pert["path"], probe["annotation"], dims=("face",))["face"]
            assert worse.status == "ok"
            assert worse.raw < base.raw - 10, (pert["name"], worse.evidence)
            if pert["name"].startswith("identity_"):
                assert worse.evidence["stability"] < 0.8, worse.evidence


def test_face_statuses(face_clips):
    clips, _ = face_clips
    assert evaluate(clips["empty"], ann(1, 1), dims=("face",))["face"].status == "no_face"
    allowed = evaluate(clips["empty"], ann(0, 1), dims=("face",))["face"]
    assert allowed.status == "ok" and allowed.raw == 100.0 and allowed.evidence["primary_ids"] == 0
    assert evaluate(clips["cut"], ann(), dims=("face",))["face"].status == "not_applicable"
    assert evaluate(clips["cut"], ann(0, 0), dims=("face",))["face"].status == "not_applicable"


def test_face_evidence_has_tracks_with_times(face_clips):
    clips, _ = face_clips
    m = evaluate(clips["cut"], ann(2, 2), dims=("face",))["face"]
    tracks = m.evidence["tracks"]
    assert len(tracks) == 2 and tracks[0]["identity"] != tracks[1]["identity"]
    assert tracks[0]["start_s"] == pytest.approx(0.0, abs=0.05) and tracks[0]["end_s"] == pytest.approx(1.5, abs=0.1)
    assert tracks[1]["start_s"] == pytest.approx(1.5, abs=0.45) and tracks[1]["end_s"] == pytest.approx(3.0, abs=0.1)
    assert all(t["face_px"] > 60 for t in tracks)
    assert m.evidence["embedder"] == pf.embedder_name() == "onnx-dlib-resnet-v1"



def test_grey_tracking_with_colour_embeddings_matches_colour_tracking(face_clips):
    """Face/Lip track on grey 25 fps frames and embed from a 2.5 fps colour stream: the colour images are the very
    same frames, so embeddings agree with tracking on colour frames (up to the detector's box, which grey moves by a
    few px), taken only on the 0.4 s grid, also after a cut; a colour stream that does not line up is refused."""
    from avgenbench.media import FrameSpec, MediaNeeds, decode

    clips, _ = face_clips
    colour25, grey, colour = FrameSpec(25, 640), face.FRAMES, face.COLOR_FRAMES
    clip = decode(clips["cut"], MediaNeeds(frames=(colour25, grey, colour)))
    assert np.array_equal(clip.frames_for(colour).images, clip.frames_for(colour25).images[::10])
    assert grey.gray and not colour.gray and grey.fps / colour.fps == 10
    split = pf.tracks_for_frames(clip.frames_for(grey), color=clip.frames_for(colour))
    whole, _ = pf.find_faces(clip.frames_for(colour25).images, clip.frames_for(colour25).times)
    assert len(split) == len(whole) == 2
    for a, b in zip(split, whole):
        assert all(i % 10 == 0 for i in a.embed_frames) and a.embed_frames
        shared = sorted(set(a.embed_frames) & set(b.embed_frames))
        assert shared, (a.embed_frames, b.embed_frames)
        for i in shared:
            va, vb = a.embeddings[a.embed_frames.index(i)], b.embeddings[b.embed_frames.index(i)]
            assert float(np.linalg.norm(va - vb)) < 0.1 < face.STABLE_DISTANCE  # same face, box within a few px
    assert split[1].start == pytest.approx(1.5, abs=0.45) and split[1].embed_frames[0] % 10 == 0
    with pytest.raises(ValueError):
        pf.tracks_for_frames(clip.frames_for(grey), color=clip.frames_for(colour25).__class__(
            FrameSpec(3, 640), clip.frames_for(colour).times, clip.frames_for(colour).images))


# --- Lip -----------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lip_clips(tmp_path_factory):
    out = tmp_path_factory.mktemp("lips")
    ids = list_identities()
    clips = {f"offset{o:+d}": fp.talking_clip(out / f"talk{o:+d}.mp4", ids[i], o, seconds=3.2, seed=i)
             for i, o in enumerate((0, 3, -4))}
    clips["silent"] = fp.talking_clip(out / "silent.mp4", ids[3], 0, seconds=3.2, seed=3, voice=False)
    clips["closed_lips"] = fp.talking_clip(out / "closed.mp4", ids[4], 0, seconds=3.2, seed=4, lips=False)
    clips["faceless"] = fp.faces_clip(out / "faceless.mp4", [], seconds=2.0)
    clips["brief"] = fp.talking_clip(out / "brief.mp4", ids[5], 0, seconds=1.4, seed=5)
    return clips


@pytest.mark.parametrize("offset", [0, 3, -4])
def test_lip_offset_recovered_within_one_frame(lip_clips, offset):
    m = evaluate(lip_clips[f"offset{offset:+d}"], ann(1, 1, speech=True), dims=("lip",))["lip"]
    assert m.status == "ok", m.message
    assert m.raw == pytest.approx(abs(offset), abs=1.0), m.evidence
    (track,) = m.evidence["tracks"]
    assert track["confident"] and abs(track["offset"] - offset) <= 1, track


def test_lip_statuses(lip_clips):
    speech, no_speech = ann(1, 1, speech=True), ann(1, 1)
    assert evaluate(lip_clips["faceless"], speech, dims=("lip",))["lip"].status == "no_face"
    assert evaluate(lip_clips["faceless"], no_speech, dims=("lip",))["lip"].status == "not_applicable"
    assert evaluate(lip_clips["silent"], speech, dims=("lip",))["lip"].status == "no_speech"
    assert evaluate(lip_clips["silent"], no_speech, dims=("lip",))["lip"].status == "not_applicable"
    # A voice but lips that never move: the visible face does not follow the speech.
    m = evaluate(lip_clips["closed_lips"], speech, dims=("lip",))["lip"]
    assert m.status == "ok" and m.raw == lip.WORST and m.evidence["confident_tracks"] == 0, m.evidence
    assert evaluate(lip_clips["closed_lips"], no_speech, dims=("lip",))["lip"].status == "not_applicable"
    # A face on screen too briefly to align anything.
    brief = evaluate(lip_clips["brief"], speech, dims=("lip",))["lip"]
    assert brief.status == "no_events" and brief.evidence["tracks"][0]["frames"] < lip.MIN_TRACK_FRAMES


@pytest.fixture(scope="module")
def lip_probe_set(tmp_path_factory):
    return fp.lip_probes(tmp_path_factory.mktemp("lip_probes"))


def test_lip_probes_shape(lip_probe_set):
    assert len(lip_probe_set) >= 2
    for probe in lip_probe_set:
        assert set(probe) == {"path", "truth", "annotation", "perturbations"}
        PromptAnnotation.model_validate(probe["annotation"])
        assert probe["annotation"]["speech_required"]
        for pert in probe["perturbations"]:
            offset = int(pert["name"].split("_")[1])
            assert abs(offset) > abs(probe["truth"]["offset_frames"]) + 3


def test_lip_probe_offsets_measured(lip_probe_set):
    probe = lip_probe_set[1]
    base = evaluate(probe["path"], probe["annotation"], dims=("lip",))["lip"]
    assert base.raw == pytest.approx(abs(probe["truth"]["offset_frames"]), abs=1.0)
    for pert in probe["perturbations"]:
        worse = evaluate(pert["path"], probe["annotation"], dims=("lip",))["lip"]
        assert worse.raw > base.raw + 3, (pert["name"], worse.evidence)


def test_unrelated_envelopes_are_rarely_confident():
    n = 100
    zs, zs_matched = [], []
    rng = np.random.default_rng(1)
    for seed in range(60):
        mouth = fp.syllable_envelope(n, seed) + rng.normal(0, 0.1, n)
        for audio, out in ((fp.syllable_envelope(n, seed + 500), zs), (np.roll(fp.syllable_envelope(n, seed), 2), zs_matched)):
            offset, confidence, corr = lip.sync_offset(mouth, np.arange(n), audio)
            assert len(corr) == 2 * lip.MAX_LAG + 1
            out.append(confidence * np.sqrt(n / lip.DECORRELATION_FRAMES))
    assert np.mean(np.array(zs) >= lip.MIN_Z) < 0.1
    assert np.mean(np.array(zs_matched) >= lip.MIN_Z) > 0.9


def test_speech_envelope_follows_band_energy():
    rate, n = 16000, 50
    env = np.zeros(n)
    env[10:20] = 1.0
    sound = fp.voiced_sound(env, 0, n / fp.FPS, rate)
    measured = lip.speech_envelope(sound, rate, n)
    assert measured[12:18].min() > 20 * measured[:8].max()
    assert lip.speech_seconds(measured) == pytest.approx(0.4, abs=0.12)
    # Out-of-band rumble carries no speech energy.
    rumble = 0.5 * np.sin(2 * np.pi * 60 * np.arange(int(2 * rate)) / rate)
    assert lip.speech_seconds(lip.speech_envelope(rumble, rate, 50)) == 0.0
    # A steady in-band hum is not speech either.
    hum = 0.3 * np.sin(2 * np.pi * 1000 * np.arange(int(2 * rate)) / rate)
    assert lip.speech_seconds(lip.speech_envelope(hum, rate, 50)) == 0.0


def test_missing_model_files_are_named(monkeypatch, tmp_path):
    monkeypatch.setattr(pf, "model_dir", lambda: tmp_path)
    reason = pf.missing_reason()
    assert reason and "shape_predictor_68_face_landmarks.dat" in reason and str(tmp_path) in reason
    assert face.FaceDlibLite().unavailable_reason({}) == reason


def test_backends_registered_and_models_load():
    assert pf.missing_reason() is None
    assert isinstance(get_backend("face", "lite"), face.FaceDlibLite)
    assert isinstance(get_backend("lip", "lite"), lip.LipLandmarkLite)
    models = pf.load_models()
    assert models is pf.load_models()


def test_face_and_lip_share_one_tracking_per_clip(lip_clips, monkeypatch):
    calls = []
    original = pf.track_faces
    monkeypatch.setattr(pf, "track_faces", lambda *a, **k: calls.append(1) or original(*a, **k))
    pf._TRACK_CACHE.clear()
    pf._CACHE_ORDER.clear()
    both = evaluate(lip_clips["offset+3"], ann(1, 1, speech=True))
    assert both["face"].status == "ok" and both["lip"].status == "ok"
    assert len(calls) == 1


def test_official_annotation_flows_to_face(official_suite_dir, face_clips):
    from avgenbench.annotations import annotation_for
    from avgenbench.suite import load_suite

    suite = load_suite(official_suite_dir)
    single = next(i for i in suite.items if i.expected_faces and (i.expected_faces.min_ids, i.expected_faces.max_ids) == (1, 1))
    faceless = next(i for i in suite.items if i.expected_faces and i.expected_faces.max_ids == 0)
    _, probes = face_clips
    one_face = probes[0]["path"]
    assert evaluate(one_face, annotation_for(suite, single).model_dump(), dims=("face",))["face"].raw >= 95
    assert evaluate(one_face, annotation_for(suite, faceless).model_dump(), dims=("face",))["face"].status == "not_applicable"
