"""The ground-truth generator: the mp4 it writes holds what its truth sidecar says, where and when it says."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from avgenbench.media import FrameSpec, MediaNeeds, decode
from avgenbench.synthetic.generator import read_truth, render, truth_path
from avgenbench.synthetic.sound import midi_to_hz
from avgenbench.synthetic.spec import ClipSpec
from avgenbench.synthetic.probes import edit_distance

SR = 48000
ALL = FrameSpec()


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def cer(found: str, expected: str) -> float:
    """Character error rate of `found` against `expected` (case and spacing ignored)."""
    expected, found = _norm(expected), _norm(found)
    return edit_distance(found, expected) / max(1, len(expected))


def _best_window(found: str, expected: str) -> str:
    """The run of words in `found` closest to `expected` (OCR output may hold other text too)."""
    words = found.split()
    n = len(expected.split())
    if len(words) <= n:
        return found
    windows = [" ".join(words[i:i + k]) for k in (n - 1, n, n + 1) if k > 0 for i in range(len(words) - k + 1)]
    return min(windows, key=lambda w: cer(w, expected))


def onsets(audio: np.ndarray, sr: int, threshold: float = 0.1, gap: float = 0.2) -> list[float]:
    """Times where |audio| first crosses `threshold` after at least `gap` s below it."""
    above = np.flatnonzero(np.abs(audio) > threshold)
    out, last = [], -1e9
    for i in above:
        if (i - last) / sr > gap:
            out.append(i / sr)
        last = i
    return out


def peak_hz(segment: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(segment * np.hanning(len(segment)), 8 * len(segment)))
    return float(np.fft.rfftfreq(8 * len(segment), 1 / sr)[np.argmax(spectrum)])


@pytest.fixture(scope="module")
def impact_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("synth") / "impacts.mp4"
    truth = render({"width": 320, "height": 180, "duration": 3.0, "background": "flat",
                    "impacts": [0.5, 1.25, 2.0], "audio_offset_ms": 150}, path)
    return path, truth, decode(path, MediaNeeds(frames=(ALL,), audio_rates=(SR,)))


@pytest.fixture(scope="module")
def notes_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("synth") / "notes.mp4"
    spec = {"width": 320, "height": 180, "duration": 3.0, "background": "gradient",
            "notes": [{"sequence": ["C4", "E4", "G4"], "start": 0.2, "step": 0.6, "duration": 0.55},
                      {"chord": ["C4", "E4", "G4"], "start": 2.0, "duration": 0.9}]}
    truth = render(spec, path)
    return path, truth, decode(path, MediaNeeds(frames=(ALL,), audio_rates=(SR,)))


@pytest.fixture(scope="module")
def text_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("synth") / "text.mp4"
    spec = {"width": 480, "height": 270, "duration": 2.0, "background": "flat",
            "texts": [{"text": "Fresh Every Time", "size": 36, "y": 40},
                      {"text": "OPEN LATE", "size": 36, "y": 150, "start": 1.0, "garble_edits": 2, "seed": 3, "jitter_px": 3}]}
    truth = render(spec, path)
    return path, truth, decode(path, MediaNeeds(frames=(ALL,)))


def test_spec_from_dict_expands_names_sequences_and_rejects_unknown_keys():
    spec = ClipSpec.from_dict({"notes": [{"sequence": ["C4", "E4", 67], "start": 1.0, "step": 0.5},
                                         {"chord": ["A3", "C#4", "E4"], "start": 3.0}], "impacts": [1.0, {"time": 2, "lane": 1}]})
    assert [n.pitches for n in spec.notes] == [[60], [64], [67], [57, 61, 64]]
    assert [n.start for n in spec.notes] == [1.0, 1.5, 2.0, 3.0]
    assert (spec.width, spec.height, spec.fps, spec.duration) == (1280, 720, 24.0, 8.0)
    assert spec.impacts[1].lane == 1
    with pytest.raises(ValueError, match="unknown clip spec keys"):
        ClipSpec.from_dict({"impact": [1.0]})
    with pytest.raises(ValueError, match="timbre"):
        ClipSpec.from_dict({"notes": [{"note": "A4", "timbre": "kazoo"}]})
    with pytest.raises(ValueError, match="octave"):
        ClipSpec.from_dict({"notes": [{"note": "A"}]})


def test_clip_has_requested_geometry_and_a_truth_sidecar(impact_clip):
    path, truth, clip = impact_clip
    assert clip.ok and (clip.width, clip.height) == (320, 180) and clip.n_frames == 72 and clip.has_audio
    assert abs(clip.duration - 3.0) < 0.05
    assert truth_path(path).is_file() and read_truth(path) == json.loads(json.dumps(truth))
    assert truth["video"]["n_frames"] == 72


def test_impact_sounds_follow_contacts_by_the_chosen_offset(impact_clip):
    path, truth, clip = impact_clip
    found = onsets(clip.audio_at(SR), SR)
    expected = [imp["audio_onset"] for imp in truth["impacts"]]
    assert expected == pytest.approx([0.65, 1.4, 2.15])
    assert len(found) == 3
    assert np.max(np.abs(np.array(found) - expected)) < 0.003


def test_ball_touches_the_floor_exactly_at_impact_frames(impact_clip):
    path, truth, clip = impact_clip
    images = clip.frames_for(ALL).images.astype(int)
    yellow = (images[..., 0] > 180) & (images[..., 1] > 150) & (images[..., 2] < 120)
    bottoms = np.array([np.flatnonzero(m.any(axis=1)).max() if m.any() else -1 for m in yellow])
    for impact in truth["impacts"]:
        f = impact["frame"]
        assert bottoms[f] >= bottoms[f - 3] + 5 and bottoms[f] >= bottoms[f + 3] + 5  # lowest near contact
        assert bottoms[f] == bottoms[f - 2:f + 3].max()


def test_notes_sound_at_their_pitch_and_time(notes_clip):
    path, truth, clip = notes_clip
    audio = clip.audio_at(SR)
    singles = [n for n in truth["notes"] if n["kind"] == "note"]
    assert [n["names"] for n in singles] == [["C4"], ["E4"], ["G4"]]
    for note in singles:
        a = int((note["start"] + 0.05) * SR)
        hz = peak_hz(audio[a:a + int(0.4 * SR)], SR)
        assert abs(12 * np.log2(hz / midi_to_hz(note["midi"][0]))) < 0.3
    silent_gap = audio[int(0.01 * SR):int(0.15 * SR)]
    assert np.sqrt(np.mean(silent_gap**2)) < 1e-3  # nothing before the first note
    chord = next(n for n in truth["notes"] if n["kind"] == "chord")
    seg = audio[int(2.05 * SR):int(2.65 * SR)]
    spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    freqs = np.fft.rfftfreq(len(seg), 1 / SR)
    for m in chord["midi"]:
        band = (freqs > midi_to_hz(m) * 0.98) & (freqs < midi_to_hz(m) * 1.02)
        assert spectrum[band].max() > 0.2 * spectrum.max()


def test_keyboard_lights_the_sounding_key(notes_clip):
    path, truth, clip = notes_clip
    images = clip.frames_for(ALL).images.astype(int)
    lit = (np.abs(images[..., 0] - 90) < 30) & (images[..., 2] > 220) & (images[..., 1] > 170)
    top = truth["keyboard"]["top"]
    lit_rows = lit[:, top:, :].sum(axis=(1, 2))
    fps = truth["video"]["fps"]
    for note in truth["notes"]:
        assert lit_rows[int((note["start"] + 0.2) * fps)] > 20
    assert lit_rows[int(1.98 * fps)] == 0  # between the arpeggio and the chord


def test_text_is_on_screen_only_when_said_and_garbled_by_the_known_distance(text_clip):
    path, truth, clip = text_clip
    late = truth["texts"][1]
    assert late["rendered"] != "OPEN LATE" and edit_distance(late["rendered"], "OPEN LATE") == 2 == late["edit_distance"]
    images = clip.frames_for(ALL).images.astype(int)
    band = images[:, 140:210].mean(axis=-1).std(axis=(1, 2))
    assert band[:24].max() < 3 and band[24:].min() > 30  # the text appears at 1.0 s (frame 24), not before
    jittering = np.abs(np.diff(images[30:45, 140:210], axis=0)).mean()
    stable = np.abs(np.diff(images[30:45, 30:90], axis=0)).mean()
    assert jittering > 2 and stable < jittering / 5  # jitter moves the late text; the first one stays put


def test_rendered_text_reads_back_with_ocr(text_clip):
    rapidocr = pytest.importorskip("rapidocr")
    path, truth, clip = text_clip
    result = rapidocr.RapidOCR()(clip.frames_for(ALL).images[36])
    read = " ".join(result.txts or ())
    for item in truth["texts"]:
        assert cer(_best_window(read, item["rendered"]), item["rendered"]) <= 0.05, (read, item["rendered"])


def test_faces_and_speech_are_listed_as_skipped_when_their_modules_are_absent(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "avgenbench.synthetic.faces", None)
    monkeypatch.setitem(sys.modules, "avgenbench.synthetic.speech", None)
    truth = render({"width": 64, "height": 48, "duration": 1.0, "faces": [{"identity": "x"}],
                    "speech": [{"text": "hello"}]}, tmp_path / "skip.mp4")
    assert {s["element"] for s in truth["skipped"]} == {"faces", "speech[0]"}
    assert truth["faces"] == [] and truth["speech"] == []


def test_faces_and_speech_render_through_their_modules(tmp_path):
    faces = pytest.importorskip("avgenbench.synthetic.faces")
    speech = pytest.importorskip("avgenbench.synthetic.speech")
    try:
        speech.speak("test", SR)
    except RuntimeError as exc:
        pytest.skip(f"no TTS here: {exc}")
    ident = faces.list_identities()[0]
    path = tmp_path / "anchor.mp4"
    truth = render({"width": 320, "height": 180, "duration": 3.0, "faces": [{"identity": ident, "height": 0.6}],
                    "speech": [{"text": "Good evening and welcome.", "start": 0.5}]}, path)
    assert truth["skipped"] == [] and truth["identities"] == [ident]
    clip = decode(path, MediaNeeds(frames=(ALL,), audio_rates=(SR,)))
    audio = clip.audio_at(SR)
    rms = lambda a, b: float(np.sqrt(np.mean(audio[int(a * SR):int(b * SR)] ** 2)))  # noqa: E731
    seg = truth["speech"][0]
    assert rms(0.0, 0.45) < 1e-3 < rms(seg["start"], seg["end"])
    images = clip.frames_for(ALL).images.astype(int)
    face = truth["faces"][0]
    region = images[:, face["cy"] - 20:face["cy"] + 20, face["cx"] - 20:face["cx"] + 20]
    assert np.abs(region - images[:, 5:45, 5:45]).mean() > 10  # something other than backdrop at the face


def test_mouth_follows_the_speech_envelope_with_the_given_lag(tmp_path, monkeypatch):
    """The faces/speech calling contract, with stand-in renderers: the mouth opening tracks the voice, lagged."""
    import types

    calls: list[tuple] = []

    def paste_face(frame, identity, cx, cy, height, mouth_open=0.0, variant="plain"):
        calls.append((identity, cx, cy, height, round(mouth_open, 4), variant))

    def speak(text, sr):  # two bursts of voice-like tone: 0.0-0.5 s and 1.0-1.5 s of the line
        t = np.arange(int(1.5 * sr)) / sr
        return (np.sin(2 * np.pi * 150 * t) * ((t < 0.5) | (t >= 1.0))).astype(np.float32)

    monkeypatch.setitem(sys.modules, "avgenbench.synthetic.faces",
                        types.SimpleNamespace(paste_face=paste_face, list_identities=lambda: ["ann", "bob"]))
    monkeypatch.setitem(sys.modules, "avgenbench.synthetic.speech", types.SimpleNamespace(speak=speak, babble=None))
    mouths = {}
    for lag in (0, 3):
        calls.clear()
        truth = render({"width": 160, "height": 120, "duration": 2.5, "fps": 24, "background": "flat",
                        "faces": [{"identity": "#1", "lip_offset_frames": lag}], "speech": [{"text": "x", "start": 0.5}]},
                       tmp_path / f"lag{lag}.mp4")
        assert truth["skipped"] == [] and truth["identities"] == ["bob"] and truth["faces"][0]["lip_sync"]
        assert all(c[0] == "bob" and (c[1], c[2], c[3]) == (80, 54, 60) for c in calls) and len(calls) == 60
        mouths[lag] = np.array([c[4] for c in calls])
    open_frames = np.flatnonzero(mouths[0] > 0.5)
    voiced = [i for i in range(60) if 0.5 <= i / 24 < 1.0 or 1.5 <= i / 24 < 2.0]
    assert set(open_frames) <= set(range(11, 50)) and len(set(open_frames) & set(voiced)) >= 0.9 * len(voiced)
    assert np.array_equal(mouths[3][3:], mouths[0][:-3]) and np.all(mouths[3][:3] == 0)


def test_babble_stands_in_for_tts_when_asked(tmp_path, monkeypatch):
    """Without espeak-ng a spec may ask for babble instead of silence; the truth file says so."""
    from avgenbench.synthetic import speech

    def no_tts(text, sr):
        raise RuntimeError("espeak-ng is not installed")

    monkeypatch.setattr(speech, "speak", no_tts)
    spec = {"width": 64, "height": 48, "duration": 2.0, "speech": [{"text": "hello", "start": 0.2, "duration": 1.0}]}
    skipped = render(spec, tmp_path / "skip.mp4")
    assert skipped["speech"] == [] and skipped["skipped"][0]["element"] == "speech[0]"
    spec["speech"][0]["babble_without_tts"] = True
    truth = render(spec, tmp_path / "babble.mp4")
    assert truth["substituted"] == [{"element": "speech[0]", "reason": "espeak-ng is not installed", "used": "babble"}]
    assert truth["speech"][0]["babble"] and truth["speech"][0]["end"] == pytest.approx(1.2, abs=0.01)
