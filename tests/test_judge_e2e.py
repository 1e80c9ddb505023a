"""End to end: `avgenbench eval --tier paper --judge openai:...` and `annotate` against a loopback judge server."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from judge_loopback import Loopback
from typer.testing import CliRunner

from avgenbench.cli import app
from avgenbench.synthetic.encode import write_clip

KEY = "sk-e2e-SECRET-5d21"
PROMPTS = [
    {"content": "Ball drop", "prompt": "A red rubber ball is dropped onto a wooden floor and bounces twice."},
    {"content": "Glass of water", "prompt": "Water is poured into a clear glass on a table; a sign reads SALE."},
]


def scripted_answer(schema, body):
    """A judge with known verdicts, recognised by the answer schema each template asks for."""
    props = (schema or {}).get("properties", {})
    if "expectations" in props:
        return {"expectations": [{"id": "E1", "statement": "falls down", "strength": "strong"},
                                 {"id": "E2", "statement": "bounces lower", "strength": "medium"},
                                 {"id": "E3", "statement": "sound at contact", "strength": "weak"}]}
    if "checks" in props:  # semantic: 100 − 15 (moderate mismatch) − 6 (weak missing) = 79
        return {"checks": [{"id": "E1", "verdict": "match", "severity": "none", "evidence": "t=0.5"},
                           {"id": "E2", "verdict": "mismatch", "severity": "moderate", "evidence": "t=1.0"},
                           {"id": "E3", "verdict": "missing", "severity": "none", "evidence": ""}]}
    if "violations" in props:  # visual: 100 − 5 = 95; overall round(0.5·79 + 0.5·95) = 87
        return {"violations": [{"category": "gravity", "severity": "minor", "description": "hangs", "start_s": 1.0,
                                "end_s": 1.2}], "hard_cuts_s": []}
    if "story_beats" in props:
        req = lambda i, core: {"id": i, "description": f"item {i}", "core": core}  # noqa: E731
        return {"story_beats": [req("N1", True)], "visual_attributes": [req("V1", True)],
                "audio_events": [req("A1", True)], "editing": [req("S1", False)]}
    if "items" in props:  # narrative 100, shot 100, visual 75, audio 85 -> 89.5
        return {"items": [{"id": "N1", "verdict": "met", "severity": "none", "evidence": ""},
                          {"id": "V1", "verdict": "flawed", "severity": "severe", "evidence": "blue, not red"},
                          {"id": "A1", "verdict": "missing", "severity": "none", "evidence": ""},
                          {"id": "S1", "verdict": "met", "severity": "none", "evidence": ""}],
                "other_issues": [{"area": "audio", "severity": "minor", "description": "hiss"}]}
    if "required_text" in props:
        return {"required_text": ["SALE"], "speech_required": True, "speech_lines": ["hello there"],
                "music": [{"kind": "note", "notes": ["A4"], "octave_strict": True, "source_text": "an A4"}],
                "faces": {"min_ids": 1, "max_ids": 2}}
    if "rating" in props:
        return {"rating": 4, "reasons": ["plausible"]}
    raise AssertionError(f"unexpected schema {list(props)}")


@pytest.fixture(scope="module")
def server():
    lb = Loopback(scripted_answer)
    yield lb
    lb.close()


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    suite = root / "suite"
    (suite / "prompts").mkdir(parents=True)
    (suite / "prompts" / "physical_experiment.json").write_text(json.dumps(PROMPTS))
    rng = np.random.default_rng(1)
    for i, p in enumerate(PROMPTS):
        frames = [np.full((64, 96, 3), (30 * i + 7 * k) % 255, np.uint8) for k in range(24)]
        audio = (0.1 * rng.standard_normal(2 * 16000)).astype(np.float32)
        write_clip(root / "videos" / "physical_experiment" / f"{p['content']}.mp4", frames, 12, audio, 16000)
    return root


@pytest.fixture
def env(monkeypatch, tmp_path, server):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("AVGENBENCH_CACHE_DIR", str(tmp_path / "cache"))
    server.requests.clear()
    server.script.clear()
    return tmp_path


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result


def eval_args(bench, out, server, *extra):
    return ("eval", bench / "videos", "--suite", bench / "suite", "--out", out, "--tier", "paper",
            "--dimensions", "hi_phy,holistic", "--judge", "openai:gpt-4o?backoff=0.01&timeout=5",
            "--judge-base-url", f"{server.url}/v1", "--json", *extra)


def results(out):
    return json.loads(cli("results", out, "--json").stdout)


def test_eval_paper_tier_scores_from_verdicts_and_warm_rerun_makes_zero_calls(bench, env, server):
    out = env / "out"
    first = cli(*eval_args(bench, out, server))
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    dims = report["score"]["dimensions"]
    assert dims["hi_phy"]["raw_mean"] == pytest.approx(87.0) and dims["hi_phy"]["n"] == 2
    assert dims["holistic"]["raw_mean"] == pytest.approx(89.5)
    # per prompt: 2 text-only stages (expectations, checklist) + 2 Hi-Phy video calls + 1 Holistic video call
    assert report["judge"]["api_calls"] == len(server.model_calls()) == 2 * 5
    assert report["judge"]["cost_usd"] > 0 and report["judge"]["cache_hits"] == 0
    rows = results(out)
    hp = next(r for r in rows if r["dimension"] == "hi_phy")
    assert hp["status"] == "ok" and hp["evidence"]["semantic"] == 79 and hp["evidence"]["visual"] == 95
    assert hp["evidence"]["expectations"]["frozen"] is False
    sent = server.model_calls()[-1]["json"]["messages"][1]["content"]
    assert any(c["type"] == "image_url" for c in sent) and any(c["type"] == "input_audio" for c in sent)

    before = len(server.model_calls())
    warm = cli(*eval_args(bench, out, server, "--force"))
    assert warm.exit_code == 0, warm.output
    again = json.loads(warm.stdout)
    assert len(server.model_calls()) == before and again["judge"]["api_calls"] == 0
    assert again["judge"]["cache_hits"] == 10
    assert again["score"]["dimensions"]["holistic"]["raw_mean"] == pytest.approx(89.5)

    # the key went to the server, and nowhere else
    assert server.model_calls()[0]["headers"]["authorization"] == f"Bearer {KEY}"
    for text in (first.output, warm.output, cli("results", out, "--json").stdout, cli("score", out, "--json").stdout):
        assert KEY not in text
    for path in list(out.glob("*.sqlite*")) + list((env / "cache").glob("*")):
        assert KEY.encode() not in path.read_bytes()


def test_without_a_judge_the_judge_dimensions_are_no_judge(bench, env, server):
    out = env / "out"
    args = ("eval", bench / "videos", "--suite", bench / "suite", "--out", out, "--tier", "paper",
            "--dimensions", "hi_phy,holistic", "--json")
    refused = cli(*args)
    assert refused.exit_code == 2 and "no judge configured" in refused.stdout
    result = cli(*args, "--allow-unavailable")
    assert result.exit_code == 0, result.output
    statuses = {(r["dimension"], r["status"]) for r in results(out)}
    assert statuses == {("hi_phy", "no_judge"), ("holistic", "no_judge")}
    assert server.model_calls() == []


def test_max_cost_stops_and_says_so(bench, env, server):
    out = env / "out"
    result = cli(*eval_args(bench, out, server, "--max-cost", "0"))
    assert result.exit_code == 4, result.output  # finished, but with tool errors: not a clean success
    assert "4 row(s) ended in a tool error" in result.stderr and "--status error" in result.stderr
    judge = json.loads(result.stdout)["judge"]
    assert judge["budget_stop"] and judge["api_calls"] == 0 and "max cost $0.00 reached" in judge["text"]
    rows = results(out)
    assert all(r["status"] == "error" and "budget" in r["message"] for r in rows)
    assert server.model_calls() == []


def test_judge_repeats_report_variance(bench, env, server):
    out = env / "out"
    result = cli(*eval_args(bench, out, server, "--judge-repeats", "2"))
    assert result.exit_code == 0, result.output
    judge = json.loads(result.stdout)["judge"]
    assert judge["variance"]["hi_phy"] == {"videos": 2, "mean_std": 0.0}
    hp = next(r for r in results(out) if r["dimension"] == "hi_phy")
    assert hp["evidence"]["judge_repeats"]["k"] == 2
    # the extra sample bypasses the first answer's cache entry: 2 prompts × (2 text + 3 video × 2 repeats)
    assert judge["api_calls"] == 2 * (2 + 3 * 2)


def test_annotate_freezes_annotations_and_eval_reuses_them(bench, env, server, tmp_path):
    suite_copy = tmp_path / "suite"
    suite_copy.mkdir()
    (suite_copy / "prompts").mkdir()
    (suite_copy / "prompts" / "physical_experiment.json").write_text(json.dumps(PROMPTS))
    result = cli("annotate", "--suite", suite_copy, "--judge", "openai:gpt-4o?backoff=0.01", "--judge-base-url",
                 f"{server.url}/v1", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads((suite_copy / "annotations.json").read_text())
    assert doc["made_by"]["judge"] == "openai:gpt-4o" and doc["made_by"]["templates"]["hi_phy.expectations"] == "1"
    ann = doc["items"]["physical_experiment/Ball drop"]
    assert ann["source"] == "judge:openai:gpt-4o" and "hi_phy.expectations@1" in ann["version"]
    assert ann["required_text"] == ["SALE"] and ann["speech_lines"] == ["hello there"]
    assert ann["music"][0]["midi"] == [69] and ann["faces"] == {"min_ids": 1, "max_ids": 2}
    assert len(ann["judge"]["hi_phy"]["expectations"]) == 3 and ann["judge"]["holistic"]["requirements"]["editing"]
    assert len(server.model_calls()) == 2 * 3  # three text-only stages per prompt

    # a different template answer now would show up if eval re-derived the expectations: it must not
    ann["judge"]["hi_phy"]["expectations"] = ann["judge"]["hi_phy"]["expectations"][:2]  # E3 dropped: semantic 85
    doc["items"]["physical_experiment/Ball drop"] = ann
    (suite_copy / "annotations.json").write_text(json.dumps(doc))
    out = env / "out"
    server.requests.clear()
    args = list(eval_args(bench, out, server))
    args[args.index("--suite") + 1] = suite_copy
    result = cli(*args)
    assert result.exit_code == 0, result.output
    rows = {(r["video_key"], r["dimension"]): r for r in results(out)}
    ball = rows[("physical_experiment/Ball drop", "hi_phy")]
    assert ball["evidence"]["expectations"] == {"count": 2, "frozen": True, "template": "hi_phy.expectations@1"}
    assert ball["raw"] == 90  # round(0.5·85 + 0.5·95)
    assert rows[("physical_experiment/Ball drop", "holistic")]["evidence"]["checklist"]["frozen"] is True
    assert not any("List between 3 and 10 physical expectations" in json.dumps(c["json"]) for c in server.model_calls())


def test_annotate_without_judge_writes_rule_based(env, tmp_path):
    suite_copy = tmp_path / "rules_suite"
    (suite_copy / "prompts").mkdir(parents=True)
    (suite_copy / "prompts" / "physical_experiment.json").write_text(json.dumps(PROMPTS))
    target = tmp_path / "elsewhere.json"
    result = cli("annotate", "--suite", suite_copy, "--out", target, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(target.read_text())
    assert doc["made_by"]["judge"] is None and len(doc["items"]) == 2
    assert {a["source"] for a in doc["items"].values()} == {"rules"}
    assert not (suite_copy / "annotations.json").exists()


def test_cache_stats_and_clear(bench, env, server):
    cli(*eval_args(bench, env / "out", server))
    stats = json.loads(cli("cache", "stats", "--json").stdout)
    assert stats["answers"] == 10 and stats["ledger"]["api_calls"] == 10
    assert {r["template"] for r in stats["by_judge_and_template"]} >= {"hi_phy.semantic@1", "holistic.check@1"}
    cleared = json.loads(cli("cache", "clear", "--json").stdout)
    assert cleared["removed"] == 10
    assert json.loads(cli("cache", "stats", "--json").stdout)["answers"] == 0
    with sqlite3.connect(stats["path"]) as db:
        assert db.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 0


def test_process_pool_builds_the_judge_in_each_worker(bench, env, server):
    out = env / "out"
    result = cli(*eval_args(bench, out, server, "--workers", "2"))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["score"]["dimensions"]["hi_phy"]["n"] == 2 and report["judge"]["api_calls"] == 10


def test_gemini_end_to_end_with_endpoint_from_the_environment(bench, env, server, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)
    out = env / "out"
    args = ("eval", bench / "videos", "--suite", bench / "suite", "--out", out, "--tier", "paper",
            "--dimensions", "hi_phy,holistic", "--judge", "gemini:gemini-2.5-flash?backoff=0.01&timeout=5", "--json")
    first = cli(*args)
    assert first.exit_code == 0, first.output
    dims = json.loads(first.stdout)["score"]["dimensions"]
    assert dims["hi_phy"]["raw_mean"] == pytest.approx(87.0) and dims["holistic"]["raw_mean"] == pytest.approx(89.5)
    video_calls = [c for c in server.model_calls() if "inlineData" in json.dumps(c["json"])]
    assert len(video_calls) == 2 * 3 and all(c["headers"]["x-goog-api-key"] == KEY for c in video_calls)
    before = len(server.model_calls())
    warm = cli(*args, "--force")
    assert json.loads(warm.stdout)["judge"]["api_calls"] == 0 and len(server.model_calls()) == before
    for path in list(out.glob("*.sqlite*")) + list((env / "cache").glob("*")):
        assert KEY.encode() not in path.read_bytes()


def test_lo_phy_judge_backend_is_labelled_and_scores_the_rating(bench, env, server):
    from avgenbench.annotations import PromptAnnotation
    from avgenbench.dimensions.base import ItemContext
    from avgenbench.dimensions.lo_phy import DIMENSION, judge_backend
    from avgenbench.media import decode
    from avgenbench.suite import load_suite

    backend = judge_backend()
    assert backend.unavailable_reason({}).startswith("no judge")
    options = {"judge": "openai:gpt-4o?backoff=0.01", "judge_base_url": f"{server.url}/v1",
               "judge_cache": str(env / "cache" / "judge.sqlite"), "judge_session": "s1", "judge_repeats": 1}
    assert backend.unavailable_reason(options) is None
    item = load_suite(bench / "suite").items[0]
    clip = decode(item.find_video(bench / "videos"), DIMENSION.needs)
    m = backend.measure(clip, ItemContext(item, PromptAnnotation(), "paper", options))
    assert m.status == "ok" and m.raw == 4.0 and "not VideoPhy-2" in m.evidence["method"]
    assert "not-videophy2" in backend.name


def test_human_output_prints_the_judge_summary(bench, env, server):
    args = [a for a in eval_args(bench, env / "out", server) if a != "--json"]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert "judge openai:gpt-4o?backoff=0.01&timeout=5: 10 requests, 10 API calls, 0 cache hits" in result.output
    assert "cost $0.00" in result.output and KEY not in result.output
    assert "judge 10 calls, 0 cached, 0" in result.output  # the progress line


def test_bad_spec_or_missing_key_fails_fast(bench, env, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    base = ("eval", bench / "videos", "--suite", bench / "suite", "--out", env / "out", "--tier", "paper")
    missing = cli(*base, "--judge", "gemini:gemini-2.5-pro")
    assert missing.exit_code == 2 and "GEMINI_API_KEY" in missing.output
    bad = cli(*base, "--judge", "claude:opus")
    assert bad.exit_code == 2 and "unknown judge backend" in bad.output


def test_changing_the_judge_redoes_judge_rows(bench, env, server):
    out = env / "out"
    assert cli(*eval_args(bench, out, server)).exit_code == 0
    same = json.loads(cli(*eval_args(bench, out, server)).stdout)
    assert same["eval"]["rows_skipped"] == 4 and same["eval"]["rows_written"] == 0
    args = list(eval_args(bench, out, server))
    args[args.index("--judge") + 1] = "openai:gpt-4o-mini?backoff=0.01"
    other = json.loads(cli(*args).stdout)
    assert other["eval"]["rows_written"] == 4 and other["judge"]["api_calls"] == 10
    assert {r["evidence"]["judge"] for r in results(out)} == {"openai:gpt-4o-mini"}


def test_annotate_official_prompts_keeps_the_suites_face_labels(official_suite_dir, env, server):
    from avgenbench.annotations.judged import annotate
    from avgenbench.judge.client import client_from_options
    from avgenbench.suite import Suite, load_suite

    suite = load_suite(official_suite_dir)
    with_faces = [i for i in suite.items if i.expected_faces][:6]
    without = [i for i in suite.items if not i.expected_faces][:6]
    subset = Suite(suite.root, with_faces + without)
    client = client_from_options({"judge": "openai:gpt-4o?backoff=0.01", "judge_base_url": f"{server.url}/v1",
                                  "judge_cache": str(env / "cache" / "judge.sqlite"), "judge_session": "official"})
    doc, failures = annotate(subset, client)
    assert failures == [] and len(doc["items"]) == 12
    for item in with_faces:
        ann = doc["items"][item.key]
        assert ann["faces"] == item.expected_faces.model_dump() and ann["judge"]["requirements"]["faces_from"] == "suite"
    for item in without:
        ann = doc["items"][item.key]
        assert ann["faces"] == {"min_ids": 1, "max_ids": 2} and ann["judge"]["requirements"]["faces_from"] == "judge"
    sent = [c["json"]["messages"][1]["content"][0]["text"] for c in server.model_calls()]
    assert all(any(item.prompt in text for text in sent) for item in subset.items)  # each real prompt went in verbatim
