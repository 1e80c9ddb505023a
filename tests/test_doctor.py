"""What a tier needs, checked before any work (`doctor`, eval's preflight), and runs with tool errors not passing as clean."""

import json

import pytest
from typer.testing import CliRunner

from avgenbench.cli import app
from avgenbench.store import DB_NAME, Store
from clipmaker import make_clip

PROMPTS = ["a bouncing ball", "a quiet room", "a street"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("doctor")
    (root / "suite" / "prompts").mkdir(parents=True)
    (root / "suite" / "prompts" / "ads.json").write_text(json.dumps([{"content": c, "prompt": f"{c}."} for c in PROMPTS]))
    for content in PROMPTS:
        make_clip(root / "model_x" / "ads" / f"{content}.mp4", duration=1.0, width=160, height=90)
    return root


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def eval_args(ws, out, *extra):
    return ("eval", ws / "model_x", "--suite", ws / "suite", "--out", out, *extra)


@pytest.fixture
def no_keys(monkeypatch, tmp_path):
    for key in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AVGENBENCH_CACHE_DIR", str(tmp_path / "cache"))


def test_doctor_lite_is_ready_and_lists_what_the_tier_never_measures():
    result = cli("doctor", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["tier"] == "lite" and data["missing"] == []
    assert data["ready"] == ["vis", "aud", "av", "lip", "text", "face", "music", "speech"]
    assert data["not_in_tier"] == ["lo_phy", "hi_phy", "holistic"]
    named = cli("doctor", "--dimensions", "vis,hi_phy")
    assert named.exit_code == 2 and "not in tier Hi-Phy" in named.stdout and "--tier paper" in named.stdout


def test_doctor_paper_without_judge_or_models_names_each_fix(no_keys):
    result = cli("doctor", "--tier", "paper")
    assert result.exit_code == 2
    text = result.stdout
    assert "paper tier: 0 of 11 dimensions ready" in text and "not in tier" not in text  # every dimension has a backend
    for line in ("missing     Hi-Phy", "missing     Speech", "missing     Face", "missing     Lo-Phy", "missing     Vis",
                 "missing     Aud", "missing     AV", "missing     Lip"):
        assert line in text
    assert "or pass --whisper-model DIR" in text and "or pass --lo-phy judge together with --judge" in text
    for dim in ("vis", "aud", "av", "lip", "lo_phy", "speech"):
        assert f"run `avgenbench setup paper --dimensions {dim} [--weights DIR]`" in text
    assert "judge: none configured; pass --judge gemini:MODEL" in text
    data = json.loads(cli("doctor", "--tier", "paper", "--json", "--judge", "gemini:gemini-2.5-pro").stdout)
    assert data["judge"]["configured"] and not data["judge"]["ready"] and "GEMINI_API_KEY" in data["judge"]["reason"]
    hi_phy = next(d for d in data["dimensions"] if d["dimension"] == "hi_phy")
    assert hi_phy["state"] == "missing" and "GEMINI_API_KEY" in hi_phy["reason"] and "API key" in hi_phy["fix"]


def test_paper_eval_without_its_parts_stops_before_any_work(workspace, tmp_path, no_keys):
    out = tmp_path / "out"
    result = cli(*eval_args(workspace, out, "--tier", "paper"))
    assert result.exit_code == 2
    assert "missing     Holistic" in result.stderr and "cannot run here" in result.stderr
    for dim in ("vis", "aud", "av", "lip", "lo_phy"):  # the model environments, each with the command that sets it up
        assert f"avgenbench setup paper --dimensions {dim}" in result.stderr
    assert "--allow-unavailable" in result.stderr
    assert not (out / DB_NAME).exists()  # nothing written, not even the run
    as_json = cli(*eval_args(workspace, out, "--tier", "paper", "--json", "--dimensions", "hi_phy"))
    assert as_json.exit_code == 2 and json.loads(as_json.stdout)["preflight"]["missing"] == ["hi_phy"]


def test_allow_unavailable_records_the_missing_dimensions_and_says_so(workspace, tmp_path, no_keys):
    out = tmp_path / "out"
    result = cli(*eval_args(workspace, out, "--tier", "paper", "--dimensions", "speech,hi_phy", "--allow-unavailable",
                            "--json"))
    assert result.exit_code == 0, result.output  # the errors were accepted up front
    assert "--allow-unavailable" in result.stderr and "Speech: 3 (accepted" in result.stderr
    with Store(out) as store:
        statuses = {(r.dimension, r.status) for r in store.results("model_x")}
    assert statuses == {("speech", "error"), ("hi_phy", "no_judge")}
    assert json.loads(result.stdout)["tool_errors"]["speech"]["count"] == 3


def test_judge_with_the_lite_tier_is_ignored_with_a_warning(workspace, tmp_path, no_keys):
    result = cli(*eval_args(workspace, tmp_path / "out", "--dimensions", "vis", "--judge", "gemini:gemini-2.5-pro", "--json"))
    assert result.exit_code == 0, result.output  # no GEMINI_API_KEY needed: the judge is not used
    assert "--judge gemini:gemini-2.5-pro is ignored in the lite tier" in result.stderr
    with Store(tmp_path / "out") as store:
        assert "judge" not in store.run_info("model_x")["config"]


def test_tool_errors_end_eval_with_exit_4_and_say_where_to_look(workspace, tmp_path, monkeypatch):
    from avgenbench.dimensions import get_backend

    def broken(clip, ctx):
        raise RuntimeError("the model fell over")

    monkeypatch.setattr(get_backend("aud", "lite"), "measure", broken)
    out = tmp_path / "out"
    result = cli(*eval_args(workspace, out, "--dimensions", "vis,aud"))
    assert result.exit_code == 4
    assert "3 row(s) ended in a tool error" in result.stderr
    assert "Aud: 3; first: RuntimeError: the model fell over" in result.stderr
    assert f"avgenbench results {out} --run model_x --status error" in result.stderr
    monkeypatch.undo()
    again = cli(*eval_args(workspace, out, "--dimensions", "vis,aud"))  # errors are retried; now clean
    assert again.exit_code == 0, again.output and "tool error" not in again.stderr


def test_results_filters(workspace, tmp_path):
    out = tmp_path / "out"
    assert cli(*eval_args(workspace, out, "--dimensions", "vis,aud,music")).exit_code == 0

    def listed(*filters):
        result = cli("results", out, "--json", *filters)
        assert result.exit_code == 0, result.output
        return [(r["content"], r["dimension"], r["status"]) for r in json.loads(result.stdout)]

    assert len(listed()) == 9
    assert sorted(listed("--video", "QUIET")) == [("a quiet room", "aud", "ok"), ("a quiet room", "music", "not_applicable"),
                                                  ("a quiet room", "vis", "ok")]
    assert {d for _, d, _ in listed("--dimension", "vis,aud")} == {"vis", "aud"}
    assert {d for _, d, _ in listed("--dimension", "vis", "--dimension", "music")} == {"vis", "music"}
    assert {s for _, _, s in listed("--status", "not_applicable")} == {"not_applicable"}
    assert listed("--status", "error,no_judge") == []
    assert listed("--video", "street", "--dimension", "vis", "--status", "ok") == [("a street", "vis", "ok")]
    assert cli("results", out, "--status", "broken").exit_code == 2
    assert cli("results", out, "--dimension", "colour").exit_code == 2
    table = cli("results", out, "--status", "not_applicable")
    assert table.stdout.count("not_applicable") == 3 and " ok " not in table.stdout
