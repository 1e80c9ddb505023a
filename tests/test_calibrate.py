"""calibrate: recovery checks on known inputs, and the probe -> perturb -> eval -> compare machinery on real clips."""

from __future__ import annotations

import importlib.util
import json

import pytest
from typer.testing import CliRunner

from avgenbench.calibrate import availability, calibrate, score_of
from avgenbench.cli import app
from avgenbench.dimensions import get_backend
from avgenbench.dimensions.base import Measurement, Status
from avgenbench.synthetic import probes
from avgenbench.synthetic.spec import ClipSpec


def ok(raw=1.0, **evidence) -> Measurement:
    return Measurement(Status.OK, raw, evidence)


def test_av_recovery_uses_the_signed_offset_when_reported():
    truth = {"audio_offset_ms": 200}
    assert probes.av_recovery(ok(0.21, offset_s=0.21), truth) | {} == {
        "measurable": True, "expected_ms": 200, "found_ms": 210.0, "error_ms": 10.0, "ok": True}
    assert probes.av_recovery(ok(0.2, offset_s=-0.2), truth)["ok"] is False  # wrong direction
    assert probes.av_recovery(ok(0.13), {"audio_offset_ms": -120})["error_ms"] == 10.0  # magnitude only
    assert probes.av_recovery(Measurement(Status.NO_EVENTS), truth)["ok"] is False


def test_music_recovery_exact_notes_and_chord_pitch_classes():
    seq = {"notes": [{"midi": [m], "kind": "note"} for m in (60, 64, 67, 72)]}
    assert probes.music_recovery(ok(detected_midi=[60, 64, 67, 72]), seq)["ok"]
    wrong = probes.music_recovery(ok(detected_notes=["C4", "E4", "G4", "C4"]), seq)
    assert not wrong["ok"] and wrong["wrong"] == 1
    chord = {"notes": [{"midi": [60, 64, 67], "kind": "chord"}]}
    assert probes.music_recovery(ok(detected_midi=[[48, 64, 67, 72]]), chord)["ok"]  # octave-free on chords
    assert not probes.music_recovery(ok(detected_midi=[[60, 63, 67]]), chord)["ok"]
    assert probes.music_recovery(ok(), seq) == probes.not_measurable("detected_midi, detected_notes")


def test_text_recovery_is_character_error_rate_against_the_rendered_string():
    truth = {"texts": [{"rendered": "Fresh Every Time"}]}
    assert probes.cer("fresh  every time", "Fresh Every Time") == 0.0
    assert probes.cer("Fresh Evory Time", "Fresh Every Time") == pytest.approx(1 / 16)
    good = probes.text_recovery(ok(ocr_lines=["BAKERY", "Fresh Every", "Time", "since 1990"]), truth)
    assert good["ok"] and good["cer"] == 0.0
    bad = probes.text_recovery(ok(ocr_text="Frsh Evry Tme"), truth)
    assert not bad["ok"] and bad["cer"] == pytest.approx(3 / 16, abs=1e-3)
    assert not probes.text_recovery(ok(), truth)["measurable"]


def test_face_lip_speech_recovery():
    assert probes.face_recovery(ok(n_identities=2), {"identities": ["a", "b"]})["ok"]
    assert not probes.face_recovery(ok(identities=["a"]), {"identities": ["a", "b"]})["ok"]
    lip_truth = {"faces": [{"lip_offset_frames": 3}]}  # mouth 3 frames late = audio 3 frames early
    assert probes.lip_recovery(ok(offset_frames=-2.5), lip_truth)["ok"]
    assert not probes.lip_recovery(ok(offset_frames=3), lip_truth)["ok"]
    spoken = {"speech": [{"text": "hi", "babble": False, "start": 0.5, "end": 1.5}]}
    assert probes.speech_recovery(ok(speech_segments=[[0.62, 1.4]]), spoken)["ok"]
    assert not probes.speech_recovery(ok(speech_segments=[[1.2, 1.4]]), spoken)["ok"]
    assert not probes.speech_recovery(Measurement(Status.NO_SPEECH), spoken)["ok"]
    assert probes.speech_recovery(Measurement(Status.NO_SPEECH), {"speech": []})["ok"]


def test_scores_follow_the_strict_policy():
    assert score_of("aud", Measurement(Status.OK, 5.5)) == pytest.approx(55.0)
    assert score_of("aud", Measurement(Status.NO_AUDIO_STREAM)) == pytest.approx(10.0)  # worst raw 1 -> 10
    assert score_of("aud", Measurement(Status.NOT_APPLICABLE)) is None


@pytest.mark.parametrize("dim_id", sorted(probes.PROBES))
def test_every_probe_set_is_a_valid_spec(dim_id):
    needs = {"face": ("faces",), "lip": ("faces", "speech")}.get(dim_id, ())
    for module in needs:
        pytest.importorskip(f"avgenbench.synthetic.{module}")
    for fast in (True, False):
        built = probes.PROBES[dim_id](fast)
        assert built.clips and built.perturbations and any(c.clean for c in built.clips)
        for clip in built.clips:
            ClipSpec.from_dict(clip.spec)
        from avgenbench.synthetic.perturb import PERTURBATIONS
        assert all(p.fn in PERTURBATIONS for p in built.perturbations)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("calibrate")


@pytest.fixture(scope="module")
def report(cache):
    return calibrate(["vis", "aud", "av", "lo_phy"], cache, fast=True)


def test_report_lists_unchecked_dimensions_with_the_reason(report):
    dims = report["dimensions"]
    assert dims["lo_phy"]["status"] == "no_probe"
    expected_av = "missing_backend" if get_backend("av", "lite") is None else dims["av"]["status"]
    assert dims["av"]["status"] == expected_av
    for dim_id in ("vis", "aud"):
        assert availability(dim_id) == ("ok", "") and dims[dim_id]["status"] == "ok"
    assert set(report["checked"]) >= {"vis", "aud"} and "lo_phy" in report["not_checked"]


def test_monotonicity_figures_are_consistent(report):
    for dim_id in report["checked"]:
        mono = report["dimensions"][dim_id]["monotonicity"]
        outcomes = [p["outcome"] for p in mono["all_pairs"]]
        assert mono["pairs"] == len(outcomes) > 0 and mono["passed"] == outcomes.count("pass")
        assert mono["pass_rate"] == pytest.approx(mono["passed"] / mono["pairs"], abs=1e-4)
        assert len(mono["failing"]) == mono["pairs"] - mono["passed"]
        for p in mono["all_pairs"]:
            assert (p["outcome"] == "pass") == (p["clean"] > p["perturbed"])
        assert mono["ok"] == (mono["pass_rate"] >= 0.95)
    assert report["targets_met"] == (not report["missed"])


def test_blur_lowers_vis_through_the_normal_eval_path(report):
    pairs = report["dimensions"]["vis"]["monotonicity"]["all_pairs"]
    blur = next(p for p in pairs if p["perturbation"] == "blur-s3")
    assert blur["clean_status"] == blur["perturbed_status"] == "ok" and blur["outcome"] == "pass"


def test_probe_clips_are_cached_and_reused(report, cache):
    clips = sorted((cache / "clips").glob("*.mp4"))
    stamps = {p: p.stat().st_mtime_ns for p in clips}
    again = calibrate(["vis"], cache, fast=True)
    assert again["dimensions"]["vis"]["monotonicity"]["all_pairs"] == report["dimensions"]["vis"]["monotonicity"]["all_pairs"]
    assert sorted((cache / "clips").glob("*.mp4")) == clips and all(p.stat().st_mtime_ns == stamps[p] for p in clips)


def test_cli_json_and_exit_code(report, cache):
    result = CliRunner().invoke(app, ["calibrate", "--fast", "--json", "--dimensions", "vis,aud", "--out", str(cache)])
    data = json.loads(result.stdout)
    assert set(data["dimensions"]) == {"vis", "aud"}
    assert result.exit_code == (0 if data["targets_met"] else 1)
    bad = CliRunner().invoke(app, ["calibrate", "--dimensions", "nope"])
    assert bad.exit_code == 2


def test_probe_needing_unmerged_renderers_is_reported_not_crashed(cache, monkeypatch):
    if importlib.util.find_spec("avgenbench.synthetic.faces") is not None:
        import sys
        monkeypatch.setitem(sys.modules, "avgenbench.synthetic.faces", None)

    class FaceLite:
        name, version = "face-test-double", "0"

        def unavailable_reason(self, options):
            return None

    monkeypatch.setattr("avgenbench.calibrate.get_backend", lambda d, t: FaceLite())
    result = calibrate(["face"], cache, fast=True)["dimensions"]["face"]
    assert result["status"] == "probe_unavailable" and "faces" in result["message"]


def test_text_probes_are_readable_by_the_lite_ocr(cache):
    """The probe is fair: the OCR package of the lite tier reads every probe string at CER <= 5 % on a middle frame."""
    rapidocr = pytest.importorskip("rapidocr")
    from avgenbench.calibrate import clip_path
    from avgenbench.media import FrameSpec, MediaNeeds, decode
    from avgenbench.synthetic.generator import read_truth

    engine = rapidocr.RapidOCR()
    for clip in probes.PROBES["text"](False).clips:
        path = clip_path(cache, clip)
        frames = decode(path, MediaNeeds(frames=(FrameSpec(fps=1),))).frames_for(FrameSpec(fps=1)).images
        read = " ".join(engine(frames[len(frames) // 2]).txts or ())
        for item in read_truth(path)["texts"]:
            assert probes.cer(probes._best_window(read, item["rendered"]), item["rendered"]) <= probes.CER_TARGET, read
