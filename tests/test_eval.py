import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from avgenbench.cli import app
from avgenbench.dimensions import DIMENSION_IDS
from avgenbench.store import Store
from clipmaker import make_audio_only, make_clip, make_corrupt

PROMPTS = {
    "good": "A red square slides across a noisy wall; two sharp clicks.",
    "silent": "The same scene with a silent soundtrack.",
    "mute": "The same scene with no audio track at all.",
    "corrupt": "A file that is not a video.",
    "short": "A clip too short to judge.",
    "audio only": "Only a sound, no picture.",
    "missing": "Nobody generated this one.",
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    suite = root / "suite"
    (suite / "prompts").mkdir(parents=True)
    items = [{"content": k, "prompt": v} for k, v in PROMPTS.items()]
    (suite / "prompts" / "ads.json").write_text(json.dumps(items))
    videos = root / "model_x"
    folder = videos / "ads"
    good = make_clip(folder / "good.mp4", duration=2.0)
    make_clip(folder / "silent.mp4", duration=2.0, silent=True)
    make_clip(folder / "mute.mp4", duration=2.0, sr=None)
    make_corrupt(folder / "corrupt.mp4")
    make_clip(folder / "short.mp4", duration=0.2, clicks=())
    make_audio_only(folder / "audio only.mp4")
    return {"root": root, "suite": suite, "videos": videos, "good": good}


def _eval(ws, out, *extra):
    args = ["eval", str(ws["videos"]), "--suite", str(ws["suite"]), "--out", str(out), "--json", *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_video_and_dimension_gets_a_status(workspace):
    out = workspace["root"] / "out1"
    report = _eval(workspace, out)
    assert report["eval"]["run"] == "model_x"
    results = CliRunner().invoke(app, ["results", str(out), "--json"])
    records = json.loads(results.stdout)
    assert len(records) == len(PROMPTS) * len(DIMENSION_IDS)
    for record in records:
        for key in ("category", "content", "video_path", "dimension", "status", "raw", "normalized", "tier", "backend", "message"):
            assert key in record
    status = {(r["content"], r["dimension"]): r["status"] for r in records}
    assert status[("missing", "vis")] == "missing_video"
    assert status[("corrupt", "vis")] == "unreadable"
    assert status[("short", "vis")] == "too_short"
    assert status[("audio only", "vis")] == "no_video_stream"
    assert status[("mute", "aud")] == "no_audio_stream" and status[("mute", "vis")] == "ok"
    assert status[("good", "vis")] == "ok" and status[("good", "hi_phy")] == "unavailable_in_tier"
    silent_aud = next(r for r in records if r["content"] == "silent" and r["dimension"] == "aud")
    assert silent_aud["status"] != "error"
    for record in records:
        assert record["tier"] == "lite"
        if record["status"] != "ok":
            assert record["message"], record
    # Every decoded video was decoded exactly once for all its dimensions.
    decodes = {k: v["media"]["decodes"] for k, v in report["eval"]["videos"].items()}
    assert decodes["ads/good"] == 1 and decodes["ads/silent"] == 1 and decodes["ads/corrupt"] == 1
    assert decodes["ads/missing"] == 0
    score = report["score"]
    assert score["tier"] == "lite" and 0 < score["coverage"] < 1
    assert score["dimensions"]["vis"]["n"] == 7  # 3 scored + missing/corrupt/short/audio-only at worst (strict)


def test_second_run_does_no_work_and_force_recomputes(workspace):
    out = workspace["root"] / "out2"
    first = _eval(workspace, out, "--dimensions", "vis,aud")
    assert first["eval"]["units_run"] == len(PROMPTS)
    again = _eval(workspace, out, "--dimensions", "vis,aud")
    assert again["eval"]["units_run"] == 0 and again["eval"]["rows_written"] == 0
    assert again["eval"]["rows_skipped"] == 2 * len(PROMPTS)
    assert again["score"]["total"] == first["score"]["total"]
    forced = _eval(workspace, out, "--dimensions", "vis", "--force")
    assert forced["eval"]["units_run"] == len(PROMPTS)
    # New dimensions are added to the same run without redoing finished ones.
    more = _eval(workspace, out, "--dimensions", "vis,aud,text")
    assert more["eval"]["rows_written"] == len(PROMPTS) and more["eval"]["rows_skipped"] == 2 * len(PROMPTS)


def test_changed_video_is_recomputed(workspace, tmp_path):
    videos = tmp_path / "model_y"
    (videos / "ads").mkdir(parents=True)
    target = videos / "ads" / "good.mp4"
    target.write_bytes(workspace["good"].read_bytes())
    ws = {**workspace, "videos": videos}
    out = tmp_path / "out"
    _eval(ws, out, "--dimensions", "vis")
    make_clip(target, duration=2.0, width=160, height=90)
    again = _eval(ws, out, "--dimensions", "vis")
    assert again["eval"]["units_run"] == 1 and "ads/good" in again["eval"]["videos"]


def test_parallel_workers_match_in_process(workspace):
    serial = _eval(workspace, workspace["root"] / "serial", "--dimensions", "vis,aud")
    parallel = _eval(workspace, workspace["root"] / "parallel", "--dimensions", "vis,aud", "--workers", "2")
    assert parallel["score"]["total"] == pytest.approx(serial["score"]["total"])
    assert all(v["media"]["decodes"] <= 1 for v in parallel["eval"]["videos"].values())


def test_tiers_never_mix_in_one_run(workspace):
    out = workspace["root"] / "out3"
    _eval(workspace, out, "--dimensions", "vis")
    result = CliRunner().invoke(app, ["eval", str(workspace["videos"]), "--suite", str(workspace["suite"]),
                                      "--out", str(out), "--tier", "paper", "--dimensions", "vis", "--allow-unavailable"])
    assert result.exit_code == 2 and "tiers are never mixed" in result.output
    paper = _eval(workspace, out, "--tier", "paper", "--run", "model_x_paper", "--dimensions", "vis,hi_phy",
                  "--allow-unavailable")
    assert paper["score"]["tier"] == "paper"
    with Store(out) as store:
        tiers = {r["run"]: r["tier"] for r in store.runs()}
    assert tiers == {"model_x": "lite", "model_x_paper": "paper"}


def test_score_and_results_commands(workspace):
    out = workspace["root"] / "out4"
    _eval(workspace, out, "--dimensions", "vis,aud")
    strict = json.loads(CliRunner().invoke(app, ["score", str(out), "--json"]).stdout)
    reference = json.loads(CliRunner().invoke(app, ["score", str(out), "--json", "--failure-policy", "reference"]).stdout)
    assert strict["dimensions"]["vis"]["n"] > reference["dimensions"]["vis"]["n"]
    assert "ads" in strict["categories"]
    missing = CliRunner().invoke(app, ["score", str(workspace["root"] / "nowhere")])
    assert missing.exit_code == 3
    bad_run = CliRunner().invoke(app, ["score", str(out), "--run", "nope"])
    assert bad_run.exit_code == 3 and "no run 'nope'" in bad_run.output


def test_bad_arguments_exit_2(workspace, tmp_path):
    runner = CliRunner()
    base = ["eval", str(workspace["videos"]), "--suite", str(workspace["suite"]), "--out", str(tmp_path / "o")]
    assert runner.invoke(app, base + ["--dimensions", "vis,colour"]).exit_code == 2
    assert runner.invoke(app, base + ["--tier", "gold"]).exit_code == 2
    bad_suite = tmp_path / "bad"
    (bad_suite / "prompts").mkdir(parents=True)
    (bad_suite / "prompts" / "ads.json").write_text("[{]")
    result = runner.invoke(app, ["eval", str(workspace["videos"]), "--suite", str(bad_suite), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "ads.json" in result.output


def test_help_everywhere():
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    top = subprocess.run([sys.executable, "-m", "avgenbench", "--help"], capture_output=True, text=True, env=env)
    assert top.returncode == 0 and "eval" in top.stdout and "Exit codes" in top.stdout
    for command in (["eval"], ["score"], ["results"], ["total"], ["demo"], ["suite", "validate"], ["suite", "paths"],
                    ["runs", "list"], ["runs", "rm"]):
        result = CliRunner().invoke(app, command + ["--help"])
        assert result.exit_code == 0 and "--" in result.output, command


def test_frozen_annotations_from_a_file_are_used_and_checked(workspace, tmp_path):
    from avgenbench.annotations import annotate_suite
    from avgenbench.suite import load_suite

    frozen = annotate_suite(load_suite(workspace["suite"]))
    frozen["items"]["ads/good"]["required_text"] = ["HELLO THERE"]
    path = tmp_path / "frozen.json"
    path.write_text(json.dumps(frozen))
    report = _eval(workspace, tmp_path / "out", "--dimensions", "text", "--annotations", str(path))
    assert report["eval"]["units_run"] == len(PROMPTS)
    records = json.loads(CliRunner().invoke(app, ["results", str(tmp_path / "out"), "--json"]).stdout)
    text = {r["content"]: r for r in records}
    assert text["good"]["status"] == "ok" and text["good"]["raw"] == 0.0  # required text never appears
    assert text["silent"]["status"] == "not_applicable"

    frozen["items"]["ads/nope"] = {}
    frozen["items"]["ads/good"]["required_text"] = "not a list"
    path.write_text(json.dumps(frozen))
    base = ["eval", str(workspace["videos"]), "--suite", str(workspace["suite"]), "--out", str(tmp_path / "o2")]
    result = CliRunner().invoke(app, base + ["--annotations", str(path)])
    assert result.exit_code == 2
    assert "items['ads/nope']" in result.output and "items['ads/good'].required_text" in result.output


def test_markup_in_names_is_printed_as_text(workspace, tmp_path):
    result = CliRunner().invoke(app, ["eval", str(workspace["videos"]), "--suite", str(tmp_path / "[bold]nowhere"),
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "[bold]nowhere" in result.output


def test_dimensions_the_prompt_does_not_ask_for_are_settled_without_decoding(workspace, tmp_path):
    """Text on a prompt with no required text: not_applicable even for a missing video, and no decode at all."""
    report = _eval(workspace, tmp_path / "out", "--dimensions", "text,music")
    assert all(v["media"]["decodes"] == 0 for v in report["eval"]["videos"].values())
    records = json.loads(CliRunner().invoke(app, ["results", str(tmp_path / "out"), "--json"]).stdout)
    assert {r["status"] for r in records} == {"not_applicable"}


def test_score_bootstrap_settings(workspace, tmp_path):
    out = tmp_path / "out"
    _eval(workspace, out, "--dimensions", "vis,aud")

    def total_ci(*extra):
        result = CliRunner().invoke(app, ["score", str(out), "--json", *extra])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["total_ci"]

    assert total_ci("--seed", "3") == total_ci("--seed", "3")
    # With few resamples the interval's ends depend on which prompts were drawn, so the seed shows.
    assert total_ci("--seed", "3", "--draws", "20") != total_ci("--seed", "4", "--draws", "20")
    assert total_ci("--draws", "0") is None


def test_bracketed_prompt_names_print_as_text(tmp_path):
    """Rich markup in a prompt's content ('[/x]') must neither crash the tables nor disappear from them."""
    suite = tmp_path / "suite"
    (suite / "prompts").mkdir(parents=True)
    (suite / "prompts" / "ads.json").write_text(json.dumps([{"content": "Teaser [/b] [bold]NOW", "prompt": "p"}]))
    videos = tmp_path / "v"
    make_clip(videos / "ads" / "Teaser [_b] [bold]NOW.mp4", duration=1.0)
    result = CliRunner().invoke(app, ["eval", str(videos), "--suite", str(suite), "--out", str(tmp_path / "o"),
                                      "--dimensions", "vis"])
    assert result.exit_code == 0, result.output
    table = CliRunner().invoke(app, ["results", str(tmp_path / "o")])
    assert table.exit_code == 0 and "[bold]NOW" in table.output.replace("\n", "")


def test_a_stream_cut_by_the_memory_cap_is_named_in_the_evidence(workspace, tmp_path, monkeypatch):
    """Streams that reach the cap stop there, and every row that read them says where; whole streams go unmentioned."""
    import avgenbench.media as media

    monkeypatch.setattr(media, "MAX_STREAM_BYTES", 3 * 320 * 180)  # 320x180 clips: 3 grey frames, or 12 at 160x90
    out = tmp_path / "out"
    _eval(workspace, out, "--dimensions", "vis,av")
    with Store(out) as store:
        rows = {r.dimension: r for r in store.results("model_x") if r.content == "good"}
    assert rows["vis"].evidence["frames_truncated_at_s"] == {"2fps/480px/gray": 1.5, "native/160px/gray": 0.5}
    # AV also reads the face streams (mouth events): 3 grey frames at 25 fps, and the 2 colour frames a stream keeps at least
    assert rows["av"].evidence["frames_truncated_at_s"] == {"native/160px/gray": 0.5, "25fps/640px/gray": 0.12,
                                                            "2.5fps/640px/rgb": 0.8}
    assert "frames read up to 0.5 s of 2.0 s" in rows["vis"].message
    monkeypatch.setattr(media, "MAX_STREAM_BYTES", 64 << 20)
    _eval(workspace, tmp_path / "whole", "--dimensions", "vis")
    with Store(tmp_path / "whole") as store:
        assert not any("frames_truncated_at_s" in r.evidence for r in store.results("model_x"))


@pytest.mark.parametrize("columns", [80, 140])
def test_score_table_fits_the_terminal_and_keeps_every_status(workspace, tmp_path, monkeypatch, columns):
    from avgenbench import cli

    out = tmp_path / "out"
    _eval(workspace, out, "--dimensions", "vis,aud")
    monkeypatch.setattr(cli.out, "_width", columns)
    text = CliRunner().invoke(app, ["score", str(out)]).output
    assert max(len(line) for line in text.splitlines()) <= columns
    for status in ("missing_video", "unreadable", "no_audio_stream", "too_short", "ok"):
        assert f"{status}:" in text
    assert ("statuses per dimension:" in text) == (columns < 110)


def test_ocr_detector_choice_is_recorded_and_checked(workspace, tmp_path):
    out = tmp_path / "out"
    versions = []
    for extra in (["--ocr-detector", "fp32"], []):  # the default (int8) is another identity: every row is redone
        _eval(workspace, out, "--dimensions", "text", *extra)
        with Store(out) as store:
            versions.append({r.backend_version for r in store.results("model_x")})
    assert versions == [{"2.0+det-fp32"}, {"2.0+det-int8c1"}]
    bad = CliRunner().invoke(app, ["eval", str(workspace["videos"]), "--suite", str(workspace["suite"]), "--out",
                                   str(tmp_path / "o2"), "--ocr-detector", "fp16"])
    assert bad.exit_code == 2 and "unknown --ocr-detector 'fp16'" in bad.output


def test_eval_says_how_many_videos_it_found_and_lists_unread_files(workspace, tmp_path):
    videos = tmp_path / "model_z"
    make_clip(videos / "ads" / "good.MP4", duration=1.0)  # any letter case of an accepted extension is read
    make_clip(videos / "ads" / "sillent.mp4", duration=1.0)  # misnamed
    result = CliRunner().invoke(app, ["eval", str(videos), "--suite", str(workspace["suite"]), "--out",
                                      str(tmp_path / "o"), "--dimensions", "text"])
    assert result.exit_code == 0, result.output
    assert f"found 1 of {len(PROMPTS)} videos in {videos}" in result.output
    assert "ads/sillent.mp4: matches no prompt's file name; closest expected name: ads/silent.mp4" in result.output


def test_eval_refuses_a_folder_with_no_video_unless_asked(workspace, tmp_path):
    flat = tmp_path / "flat"
    make_clip(flat / "good.mp4", duration=1.0)  # directly in VIDEOS_DIR, not in ads/
    out = tmp_path / "o"
    base = ["eval", str(flat), "--suite", str(workspace["suite"]), "--out", str(out), "--dimensions", "vis"]
    refused = CliRunner().invoke(app, base)
    assert refused.exit_code == 2
    assert f"found 0 of {len(PROMPTS)} videos" in refused.output and "lie directly in" in refused.output
    assert "--allow-missing" in refused.output
    assert not (out / "avgenbench.sqlite").exists()  # no run full of missing_video rows
    allowed = CliRunner().invoke(app, base + ["--allow-missing", "--json"])
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["discovery"]["layout"] == "flat"
    with Store(out) as store:
        assert {r.status for r in store.results("flat")} == {"missing_video"}


def test_a_run_name_keeps_its_videos_folder(workspace, tmp_path):
    """A second model's folder with the same name must not silently replace the first model's rows."""
    out = tmp_path / "out"
    _eval(workspace, out, "--dimensions", "text")
    other = tmp_path / "elsewhere" / "model_x"  # same folder name: the same default run name
    make_clip(other / "ads" / "good.mp4", duration=1.0)
    base = ["eval", str(other), "--suite", str(workspace["suite"]), "--out", str(out), "--dimensions", "text"]
    refused = CliRunner().invoke(app, base)
    assert refused.exit_code == 2
    message = refused.output.replace("\n", "")
    assert str(workspace["videos"].resolve()) in message and "--replace" in message and "--run" in message
    with Store(out) as store:
        assert {r.video_path for r in store.results("model_x") if r.content == "good"} == {str(workspace["videos"] / "ads" / "good.mp4")}
    replaced = CliRunner().invoke(app, base + ["--replace"])
    assert replaced.exit_code == 0, replaced.output
    assert f"deleted run 'model_x' (lite tier, videos {workspace['videos'].resolve()}, {len(PROMPTS)} result rows)" \
        in replaced.output.replace("\n", "")
    with Store(out) as store:
        assert store.run_info("model_x")["videos_dir"] == str(other.resolve())
        assert {r.video_path for r in store.results("model_x") if r.video_path} == {str(other / "ads" / "good.mp4")}
    # The same folder under the same run resumes, whatever path spelling reaches it.
    again = CliRunner().invoke(app, ["eval", str(other / ".." / "model_x"), "--suite", str(workspace["suite"]), "--out",
                                     str(out), "--dimensions", "text", "--run", "model_x", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["eval"]["rows_written"] == 0


def test_runs_list_and_rm(workspace, tmp_path):
    out = tmp_path / "out"
    _eval(workspace, out, "--dimensions", "text")
    _eval(workspace, out, "--dimensions", "text", "--run", "second")
    listed = CliRunner().invoke(app, ["runs", "list", str(out), "--json"])
    assert listed.exit_code == 0, listed.output
    runs = {r["run"]: r for r in json.loads(listed.stdout)}
    assert set(runs) == {"model_x", "second"}
    assert runs["model_x"]["tier"] == "lite" and runs["model_x"]["result_rows"] == len(PROMPTS)
    assert runs["model_x"]["videos_dir"] == str(workspace["videos"].resolve()) and runs["model_x"]["created"] > 0
    table = CliRunner().invoke(app, ["runs", "list", str(out)])
    assert table.exit_code == 0 and "second" in table.output and "model_x" in table.output
    removed = CliRunner().invoke(app, ["runs", "rm", str(out), "second"])
    assert removed.exit_code == 0 and "removed run 'second'" in removed.output
    assert f"{len(PROMPTS)} result rows" in removed.output
    with Store(out) as store:
        assert [r["run"] for r in store.runs()] == ["model_x"] and not store.results("second")
        assert len(store.results("model_x")) == len(PROMPTS)
    unknown = CliRunner().invoke(app, ["runs", "rm", str(out), "second"])
    assert unknown.exit_code == 3 and "no run 'second'" in unknown.output
    assert CliRunner().invoke(app, ["runs", "list", str(tmp_path / "nowhere")]).exit_code == 3


def test_a_recorded_videos_folder_is_compared_as_a_folder(tmp_path, monkeypatch):
    from avgenbench.store import same_folder

    monkeypatch.chdir(tmp_path)
    (tmp_path / "videos").mkdir()
    (tmp_path / "other" / "videos").mkdir(parents=True)
    assert same_folder("videos", str(tmp_path / "videos"))  # an older store's relative path: read from here
    assert not same_folder("videos", str(tmp_path / "other" / "videos"))
    assert same_folder(str(tmp_path / "other" / ".." / "videos"), str(tmp_path / "videos"))
    assert same_folder(str(tmp_path / "gone"), str(tmp_path / "x" / ".." / "gone"))  # moved away: compared by path
