"""calibrate: the fast probe subset, end to end through every lite backend, meets the issue's targets; recovery reads
the evidence the real backends report; figures, caching, CLI and unavailable renderers behave."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
from typer.testing import CliRunner

from avgenbench.calibrate import availability, calibrate, score_of
from avgenbench.cli import app
from avgenbench.dimensions import DIMENSION_IDS, get_backend
from avgenbench.dimensions.base import Measurement, Status
from avgenbench.synthetic import probes
from avgenbench.synthetic.spec import ClipSpec

LITE = [d for d in DIMENSION_IDS if get_backend(d, "lite") is not None]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("calibrate")


@pytest.fixture(scope="module")
def report(cache):
    return calibrate(None, cache, fast=True)


def test_every_lite_dimension_is_checked_and_meets_the_targets(report):
    assert set(LITE) >= {"vis", "aud", "av", "lip", "text", "face", "music", "speech"}
    assert sorted(report["checked"]) == sorted(LITE), report["not_checked"]
    for dim_id in set(DIMENSION_IDS) - set(LITE):
        assert report["dimensions"][dim_id]["status"] == "missing_backend"
    failures = {d: (r["recovery"], r["monotonicity"]["failing"]) for d, r in report["dimensions"].items()
                if d in LITE and not r["targets_met"]}
    assert report["targets_met"] and not failures, json.dumps(failures, default=str)[:3000]


def test_recovery_is_measured_from_real_evidence_and_within_target(report):
    dims = report["dimensions"]
    for dim_id in ("av", "lip", "text", "face", "music", "speech"):
        rec = dims[dim_id]["recovery"]
        assert rec["applicable"] and rec["measurable"] and rec["total"] >= 1, (dim_id, rec)
    worst = {d: dims[d]["recovery"]["worst"] for d in dims if d in LITE and dims[d]["recovery"]["applicable"]}
    assert worst["av"]["error_ms"] <= probes.AV_TARGET_MS
    assert worst["lip"]["error_frames"] <= probes.LIP_TARGET_FRAMES
    assert worst["text"]["cer"] <= probes.CER_TARGET
    assert worst["music"]["wrong"] == 0 and worst["face"]["wrong"] == 0
    assert worst["speech"]["onset_error_s"] <= probes.SPEECH_ONSET_TARGET_S
    kinds = {r["kind"] for r in dims["music"]["recovery"]["clips"]}
    assert kinds == {"notes", "chord"}


def test_offset_signs_follow_the_backends_conventions(report):
    """AV: + = sound later; Lip: + = audio after the mouth. A nonzero truth is found with the same sign."""
    rows = report["dimensions"]["av"]["recovery"]["clips"] + report["dimensions"]["lip"]["recovery"]["clips"]
    signed = [(r.get("expected_ms", r.get("expected_frames")), r.get("found_ms", r.get("found_frames"))) for r in rows]
    nonzero = [(e, f) for e, f in signed if e]
    assert nonzero and all(e * f > 0 for e, f in nonzero), signed
    lip_generator = [r for r in report["dimensions"]["lip"]["recovery"]["clips"] if r["source"] == "generator"]
    if not _generator_renders(report, "lip"):
        return
    assert lip_generator and all(r["expected_frames"] < 0 for r in lip_generator)  # the mouth lags: audio leads


def _generator_renders(report, dim_id: str) -> bool:
    """Lip's and Speech's generator probes speak espeak-ng lines; without espeak-ng they must be listed as skipped,
    with why."""
    if shutil.which("espeak-ng") or dim_id not in ("lip", "speech"):
        return True
    skipped = report["dimensions"][dim_id]["skipped"]
    assert any("espeak" in s["reason"] for s in skipped), skipped
    return False


def test_both_probe_sources_are_used(report):
    for dim_id in LITE:
        sources = report["dimensions"][dim_id]["sources"]
        assert any(s != "generator" for s in sources), (dim_id, sources)
        if dim_id != "vis" and _generator_renders(report, dim_id):
            assert "generator" in sources, (dim_id, sources)
    vis_pairs = report["dimensions"]["vis"]["monotonicity"]["all_pairs"]
    assert {"blur-s3", "noise-s25", "bitrate-40k"} <= {p["perturbation"] for p in vis_pairs}  # perturb.py on real scenes


def test_monotonicity_figures_are_consistent(report):
    for dim_id in report["checked"]:
        mono = report["dimensions"][dim_id]["monotonicity"]
        outcomes = [p["outcome"] for p in mono["all_pairs"]]
        assert mono["pairs"] == len(outcomes) > 0 and mono["passed"] == outcomes.count("pass")
        assert mono["pass_rate"] == pytest.approx(mono["passed"] / mono["pairs"], abs=1e-4)
        assert len(mono["failing"]) == mono["pairs"] - mono["passed"]
        for p in mono["all_pairs"]:
            if p["outcome"] in ("pass", "fail"):
                assert (p["outcome"] == "pass") == (p["clean"] > p["perturbed"])
        assert mono["ok"] == (mono["pass_rate"] >= 0.95)
    assert report["targets_met"] == (not report["missed"])


def test_speech_perturbations_remove_or_cut_the_speech(report):
    names = {p["perturbation"] for p in report["dimensions"]["speech"]["monotonicity"]["all_pairs"]}
    assert names and not any("noise" in n or "lowpass" in n for n in names)


def test_recovery_readers_on_backend_shaped_evidence():
    ok = lambda **ev: Measurement(Status.OK, 1.0, ev)  # noqa: E731
    assert probes.av_recovery(ok(offset_ms=-95.0), {"audio_offset_ms": -120})["ok"]
    assert not probes.av_recovery(ok(offset_ms=120.0), {"offset_ms": -120})["ok"]  # wrong direction
    tracks = [{"offset": 9, "frames": 30, "confident": False}, {"offset": -3, "frames": 90, "confident": True}]
    assert probes.lip_recovery(ok(tracks=tracks), {"faces": [{"lip_sync": True, "lip_offset_frames": 3}]})["ok"]
    assert not probes.lip_recovery(ok(tracks=tracks), {"offset_frames": 3})["ok"]
    detected = [{"t": 1.2, "midi": 64}, {"t": 0.4, "midi": 60}]
    assert probes.music_recovery(ok(detected=detected), {"midi": [60, 64], "kind": "sequence"})["ok"]
    assert probes.music_recovery(ok(detected=detected + [{"t": 0.41, "midi": 55}]),
                                 {"midi": [60, 64, 67], "kind": "chord"})["ok"]  # pitch classes, octave-free
    read = probes.text_recovery(ok(required=[{"best_match": "Fresh Evory Time"}]), {"strings": ["Fresh Every Time"]})
    assert not read["ok"] and read["cer"] == pytest.approx(1 / 14, abs=1e-3)
    assert probes.face_recovery(ok(primary_ids=2), {"identities": ["a", "b"]})["ok"]
    spoken = {"speech": [{"text": "hi", "babble": False, "start": 0.5}]}
    assert probes.speech_recovery(ok(vad={"segments": [[0.62, 1.4]]}), spoken)["ok"]
    assert not probes.speech_recovery(ok(vad={"segments": [[1.2, 1.4]]}), spoken)["ok"]
    assert not probes.speech_recovery(Measurement(Status.OK, 0.0, {"vad": {"segments": []}}), spoken)["ok"]


def test_scores_follow_the_strict_policy():
    assert score_of("aud", Measurement(Status.OK, 5.5)) == pytest.approx(55.0)
    assert score_of("aud", Measurement(Status.NO_AUDIO_STREAM)) == pytest.approx(10.0)  # worst raw 1 -> 10
    assert score_of("aud", Measurement(Status.NOT_APPLICABLE)) is None


def test_generator_probe_specs_are_valid_and_fast_is_a_subset():
    from avgenbench.synthetic.perturb import PERTURBATIONS

    for dim_id in LITE:
        assert availability(dim_id) == ("ok", "")
    builders = [probes._av_clips, probes._aud_clips, probes._music_clips, probes._text_clips, probes._face_clips,
                probes._lip_clips, probes._speech_clips]
    for clips in builders:
        fast, full = clips(True), clips(False)
        assert {c.name for c in fast} <= {c.name for c in full}
        for clip in full:
            ClipSpec.from_dict(clip.spec)
            assert all(p.fn in PERTURBATIONS for p in clip.perturbations)


def test_probe_clips_are_cached_and_reused(report, cache):
    clips = sorted(cache.rglob("*.mp4"))
    stamps = {p: p.stat().st_mtime_ns for p in clips}
    again = calibrate(["speech"], cache, fast=True)
    same = again["dimensions"]["speech"]["monotonicity"]["all_pairs"]
    assert same == report["dimensions"]["speech"]["monotonicity"]["all_pairs"]
    assert sorted(cache.rglob("*.mp4")) == clips and all(p.stat().st_mtime_ns == stamps[p] for p in clips)


def test_cli_json_and_exit_code(report, cache):
    result = CliRunner().invoke(app, ["calibrate", "--fast", "--json", "--dimensions", "av,speech", "--out", str(cache)])
    data = json.loads(result.stdout)
    assert set(data["dimensions"]) == {"av", "speech"}
    assert data["dimensions"]["av"]["recovery"]["worst"]["error_ms"] <= probes.AV_TARGET_MS
    assert result.exit_code == (0 if data["targets_met"] else 1)
    assert CliRunner().invoke(app, ["calibrate", "--dimensions", "nope"]).exit_code == 2


def test_missing_renderers_are_reported_and_count_as_a_miss(cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "avgenbench.synthetic.faces", None)
    monkeypatch.setattr("avgenbench.calibrate._modules_missing",
                        lambda requires: [m for m in requires if m == "faces"])
    result = calibrate(["face"], cache, fast=True)
    face = result["dimensions"]["face"]
    assert face["status"] == "probe_unavailable" and "faces" in face["message"]
    assert result["missed"] == ["face"] and not result["targets_met"]


def test_without_espeak_the_speech_probes_that_need_it_are_skipped_not_failed(tmp_path, monkeypatch):
    monkeypatch.setattr("avgenbench.synthetic.speech.ESPEAK", "espeak-ng-not-installed")
    speech = calibrate(["speech"], tmp_path, fast=True)["dimensions"]["speech"]
    assert speech["status"] == "ok" and speech["targets_met"]
    assert speech["skipped"] and all("espeak-ng" in s["reason"] for s in speech["skipped"])
    assert speech["sources"] == ["speech_probes.speech_probes"]
