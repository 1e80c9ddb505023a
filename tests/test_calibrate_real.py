"""calibrate --real: degraded copies, one run per degradation, pairs scored against an equally re-encoded reference."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from avgenbench.calibrate_real import REFERENCE, _donors, calibrate_real, suite_and_videos
from avgenbench.cli import app
from avgenbench.suite import load_suite, safe_filename

from clipmaker import make_clip


def _suite(root: Path, prompts: dict[str, list[str]]) -> Path:
    (root / "prompts").mkdir(parents=True)
    for category, contents in prompts.items():
        rows = [{"content": c, "prompt": f"{c}: a red square slides while a click sounds"} for c in contents]
        (root / "prompts" / f"{category}.json").write_text(json.dumps(rows), encoding="utf-8")
    return root


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    _suite(folder / "suite", {"sfx": ["one", "two"], "other": ["three"]})
    for category, content, clicks in (("sfx", "one", (0.4, 1.2)), ("sfx", "two", (0.9,)), ("other", "three", (0.6, 1.6))):
        out = folder / "videos" / category / f"{safe_filename(content)}.mp4"
        out.parent.mkdir(parents=True, exist_ok=True)
        make_clip(out, duration=2.0, clicks=clicks)
    return folder


def test_donors_prefer_the_same_category_and_never_the_clip_itself(tmp_path):
    suite = load_suite(_suite(tmp_path / "s", {"a": ["x", "y"], "b": ["z"]}))
    donors = {k: v.key for k, v in _donors(suite.items).items()}
    assert donors == {"a/x": "a/y", "a/y": "a/x", "b/z": "a/x"}


def test_noise_is_found_by_aud_and_copies_are_reused(tmp_path):
    suite, videos = suite_and_videos(_folder(tmp_path), None)
    work = tmp_path / "work"
    result = calibrate_real(suite, videos, work, ["aud"])
    assert result.clips == ["other/three", "sfx/one", "sfx/two"]
    made = {p.name for p in work.iterdir() if p.name != "store"}
    assert made == {REFERENCE, "noise_0db", "lowpass_1khz"}  # only the copies aimed at the dimensions asked for
    aud_pairs = [p for p in result.pairs if p.dimension == "aud"]
    assert {p.degradation for p in aud_pairs} == {"noise_0db", "lowpass_1khz"}
    assert len(aud_pairs) == 6
    report = result.dimension_report("aud")
    assert report["clips_applicable"] == 3 and report["conclusive"] == 3
    noise = [p for p in aud_pairs if p.degradation == "noise_0db"]
    assert all(p.won for p in noise), [p.as_dict() for p in noise]  # white noise at 0 dB must cost audio quality
    stamp = {p: p.stat().st_mtime_ns for p in work.rglob("*.mp4")}
    again = calibrate_real(suite, videos, work, ["aud"])
    assert {p: p.stat().st_mtime_ns for p in work.rglob("*.mp4")} == stamp  # nothing re-encoded
    assert [p.as_dict() for p in again.pairs] == [p.as_dict() for p in result.pairs]


def test_cli_reports_pairs_in_json_and_refuses_a_folder_without_suite(tmp_path):
    folder = _folder(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["calibrate", "--real", str(folder), "--dimensions", "aud", "--out", str(tmp_path / "w"),
                              "--json"])
    data = json.loads(res.stdout)
    assert data["clips"] == 3 and data["dimensions"]["aud"]["pairs"] == 6
    assert all({"clip", "degradation", "reference", "degraded", "won"} <= set(p) for p in data["pairs"])
    assert res.exit_code == (0 if data["targets_met"] else 1)
    res = runner.invoke(app, ["calibrate", "--real", str(folder / "videos")])
    assert res.exit_code == 2 and "--suite" in res.stderr


def test_real_clips_reference_beats_noise_for_aud(realclips_dir, tmp_path):
    """On two real clips: the unchanged (re-encoded) clip has better audio than the same clip under 0 dB noise."""
    suite, videos = suite_and_videos(realclips_dir, None)
    suite.items = [i for i in suite.items if i.category == "sound_effects"][:2]
    result = calibrate_real(suite, videos, tmp_path / "work", ["aud"])
    noise = [p for p in result.pairs if p.degradation == "noise_0db"]
    assert len(noise) == 2 and all(p.won for p in noise), [p.as_dict() for p in noise]
