"""Paper tier end to end: `eval --tier paper --judge ...` over every judge dimension against the loopback server,
on generated clips with known content (an 'OPEN' sign with an A4 tone; a narrator prompt over noise)."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import numpy as np
import pytest
from judge_loopback import Loopback
from typer.testing import CliRunner

from avgenbench.cli import app
from avgenbench.synthetic.encode import write_clip
from avgenbench.synthetic.sound import tone
from avgenbench.synthetic.text_render import draw_text

CATEGORY = "ads"
PROMPTS = [
    {"content": "Shop sign", "prompt": "A shop window where a neon sign reads 'OPEN' while a tuning fork rings the note A4."},
    {"content": "Narrator", "prompt": "A narrator says 'hello there' on a calm beach at dusk."},
]
SIGN, NARRATOR = (f"{CATEGORY}/{p['content']}" for p in PROMPTS)
ALL_DIMS = "text,speech,music,face,lo_phy,hi_phy,holistic"
ANNOTATION_TEMPLATES = {"prompt.requirements", "hi_phy.expectations", "holistic.requirements"}
# Expected scores from the scripted verdicts below, computed by hand:
TEXT = (90 + 80 + 70 + 60 + 50) / 5  # mean of the five subscores = 70
MUSIC = 100 * 0.5 / 1  # one constraint, judged partial = 50
HI_PHY = 71  # semantic 100 − 30 − 12 = 58, visual 100 − 12 − 5 = 83, round(0.5·58 + 0.5·83) = 71 (half up)
HOLISTIC = 0.35 * 100 + 0.15 * 95 + 0.30 * 88 + 0.20 * 90  # = 93.65


def template_of(schema):
    props = set((schema or {}).get("properties", {}))
    for keys, name in ((("expectations",), "hi_phy.expectations"), (("checks",), "hi_phy.semantic"),
                       (("violations",), "hi_phy.visual"), (("story_beats",), "holistic.requirements"),
                       (("items",), "holistic.check"), (("required_text", "faces"), "prompt.requirements"),
                       (("rating",), "lo_phy.judge"), (("presence",), "text.judge"), (("verdicts",), "music.judge"),
                       (("score", "reasons"), "speech.judge")):
        if set(keys) <= props:
            return name
    raise AssertionError(f"unexpected schema {sorted(props)}")


def scripted_answer(schema, body):
    name = template_of(schema)
    sent = json.dumps(body)
    if name == "hi_phy.expectations":
        return {"expectations": [{"id": "E1", "statement": "light glows", "strength": "strong"},
                                 {"id": "E2", "statement": "fork vibrates", "strength": "weak"},
                                 {"id": "E3", "statement": "sound decays", "strength": "medium"}]}
    if name == "hi_phy.semantic":
        return {"checks": [{"id": "E1", "verdict": "mismatch", "severity": "severe", "evidence": "t=0.5"},
                           {"id": "E2", "verdict": "match", "severity": "none", "evidence": ""},
                           {"id": "E3", "verdict": "missing", "severity": "none", "evidence": ""}]}
    if name == "hi_phy.visual":
        return {"violations": [{"category": "imaging", "severity": "moderate", "description": "flicker", "start_s": 0.5,
                                "end_s": 1.0},
                               {"category": "gravity", "severity": "minor", "description": "floats", "start_s": 2.0,
                                "end_s": 2.2}], "hard_cuts_s": []}
    if name == "holistic.requirements":
        req = lambda i, core: {"id": i, "description": f"item {i}", "core": core}  # noqa: E731
        return {"story_beats": [req("N1", True)], "visual_attributes": [req("V1", True)],
                "audio_events": [req("A1", True)], "editing": [req("S1", False)]}
    if name == "holistic.check":
        return {"items": [{"id": "N1", "verdict": "met", "severity": "none", "evidence": ""},
                          {"id": "V1", "verdict": "flawed", "severity": "moderate", "evidence": "wrong colour"},
                          {"id": "A1", "verdict": "missing", "severity": "none", "evidence": ""},  # core: −10
                          {"id": "S1", "verdict": "missing", "severity": "none", "evidence": ""}],  # not core: −5
                "other_issues": []}
    if name == "prompt.requirements":
        sign = "tuning fork" in sent
        return {"required_text": ["OPEN"] if sign else [], "speech_required": not sign,
                "speech_lines": [] if sign else ["hello there"],
                "music": [{"kind": "note", "notes": ["A4"], "octave_strict": True, "source_text": "the note A4"}] if sign else [],
                "faces": {"min_ids": 0, "max_ids": 0} if sign else {"min_ids": 1, "max_ids": 1}}
    if name == "lo_phy.judge":
        return {"rating": 4, "reasons": ["plausible"]}
    if name == "text.judge":
        assert "OPEN" in sent  # the OCR track summary reached the judge
        return {"text_required": True, "presence": "required", "legibility": 90, "temporal_stability": 80,
                "spatial_stability": 70, "completeness": 60, "prompt_match": 50}
    if name == "music.judge":
        assert "A4" in sent  # the transcribed notes reached the judge
        return {"verdicts": [{"index": 0, "verdict": "partial", "reason": "A4 heard, too short"}]}
    raise AssertionError(name)


def call_templates(server):
    """How many model calls each template got (recognised by the answer schema sent)."""
    out = []
    for call in server.model_calls():
        body = call["json"]
        config = body.get("generationConfig")
        out.append(template_of(config["responseJsonSchema"] if config else body["response_format"]["json_schema"]["schema"]))
    return Counter(out)


def make_videos(folder, shade: int):
    """Model outputs: the sign (text 'OPEN', an A4 tone) and the narrator prompt (noise, no text)."""
    sr = 22050
    sign_frames = []
    for _ in range(30):
        img = np.full((180, 320, 3), 30 + shade, np.uint8)
        draw_text(img, "OPEN", 90, 50, 56, color=(255, 230, 80))
        sign_frames.append(img)
    a4 = np.concatenate([np.zeros(int(0.3 * sr)), tone(69, 1.5, sr, amplitude=0.4), np.zeros(int(0.7 * sr))])
    write_clip(folder / CATEGORY / "Shop sign.mp4", sign_frames, 12, a4.astype(np.float32), sr)
    beach = [np.tile(np.linspace(60 + shade, 200, 320, dtype=np.float32)[None, :, None], (180, 1, 3)).astype(np.uint8)
             for _ in range(30)]
    noise = (0.03 * np.random.default_rng(shade).standard_normal(int(2.5 * sr))).astype(np.float32)
    write_clip(folder / CATEGORY / "Narrator.mp4", beach, 12, noise, sr)


@pytest.fixture(scope="module")
def server():
    lb = Loopback(scripted_answer)
    yield lb
    lb.close()


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("paper")
    (root / "suite" / "prompts").mkdir(parents=True)
    (root / "suite" / "prompts" / f"{CATEGORY}.json").write_text(json.dumps(PROMPTS))
    make_videos(root / "model_a", 0)
    make_videos(root / "model_b", 12)
    return root


@pytest.fixture
def env(monkeypatch, tmp_path, server):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-paper-test")
    monkeypatch.setenv("GEMINI_API_KEY", "gm-paper-test")
    monkeypatch.setenv("AVGENBENCH_CACHE_DIR", str(tmp_path / "cache"))
    server.requests.clear()
    server.script.clear()
    return tmp_path


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def paper_eval(bench, videos, suite, out, judge, base_url, *extra):
    # Speech and Face cannot run here (no Whisper model, no InsightFace): accepted up front, so their errors exit 0
    result = cli("eval", bench / videos, "--suite", suite, "--out", out, "--tier", "paper", "--dimensions", ALL_DIMS,
                 "--judge", judge, "--judge-base-url", base_url, "--json", "--allow-unavailable", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def rows_of(out, run=None):
    listed = cli("results", out, "--json", *(("--run", run) if run else ()))
    assert listed.exit_code == 0, listed.output
    return {(r["video_key"], r["dimension"]): r for r in json.loads(listed.stdout)}


def check_scores(rows, music_from: str):
    text = rows[(SIGN, "text")]
    assert text["status"] == "ok" and text["raw"] == pytest.approx(TEXT) and text["backend"] == "text-ocr-judge"
    assert text["evidence"]["verdict"]["presence"] == "required"
    assert [t["text"] for t in text["evidence"]["ocr"]["tracks"]] == ["OPEN"]
    assert rows[(NARRATOR, "text")]["status"] == "not_applicable"  # nothing read, nothing required: no judge call
    music = rows[(SIGN, "music")]
    assert music["status"] == "ok" and music["raw"] == pytest.approx(MUSIC)
    assert music["evidence"]["constraints_from"].startswith(music_from)
    assert "A4" in [n["name"] for n in music["evidence"]["detected"]]  # Basic Pitch heard the tone
    assert music["evidence"]["verdicts"][0]["verdict"] == "partial"
    assert rows[(NARRATOR, "music")]["status"] == "not_applicable"
    for key in (SIGN, NARRATOR):
        assert rows[(key, "hi_phy")]["raw"] == HI_PHY and rows[(key, "hi_phy")]["evidence"]["semantic"] == 58
        assert rows[(key, "holistic")]["raw"] == pytest.approx(HOLISTIC), rows[(key, "holistic")]
        lo = rows[(key, "lo_phy")]
        assert lo["status"] == "ok" and lo["raw"] == 4 and lo["backend"] == "lo-phy-judge-not-videophy2"
        assert "not VideoPhy-2" in lo["evidence"]["method"]
        speech, face = rows[(key, "speech")], rows[(key, "face")]
        assert speech["status"] == "error" and "needs a Whisper model" in speech["message"]
        assert "--whisper-model" in speech["message"] and "never falls back" in speech["message"]
        assert face["status"] == "error" and "InsightFace" in face["message"] and "--face-model" in face["message"]


def test_openai_paper_eval_scores_every_judge_dimension_and_warm_rerun_makes_zero_calls(bench, env, server):
    out = env / "out"
    server.script.append(500)  # the first judge call fails once and is retried
    first = paper_eval(bench, "model_a", bench / "suite", out, "openai:gpt-4o?backoff=0.01&timeout=10",
                       f"{server.url}/v1", "--lo-phy", "judge")
    rows = rows_of(out)
    check_scores(rows, "judge prompt.requirements")  # rule-based suite annotations: the judge extracts constraints once
    asked = call_templates(server)
    per_prompt = {"hi_phy.expectations": 2, "hi_phy.semantic": 2, "hi_phy.visual": 2, "holistic.requirements": 2,
                  "holistic.check": 2, "lo_phy.judge": 2, "prompt.requirements": 2, "text.judge": 1, "music.judge": 1}
    assert sum(asked.values()) == sum(per_prompt.values()) + 1  # + the retried 500
    assert all(per_prompt[t] <= asked[t] <= per_prompt[t] + 1 for t in per_prompt) and set(asked) == set(per_prompt)
    assert first["judge"]["failed"] == 0 and first["judge"]["cache_hits"] == 0
    # the judge (not its timeout) and the OCR detector (paper: fp32 unless asked) are the identity
    assert rows[(SIGN, "text")]["backend_version"] == "2+openai:gpt-4o+det-fp32"

    before = len(server.model_calls())
    warm = paper_eval(bench, "model_a", bench / "suite", out, "openai:gpt-4o?backoff=0.01&timeout=10",
                      f"{server.url}/v1", "--lo-phy", "judge", "--force")
    assert len(server.model_calls()) == before and warm["judge"]["api_calls"] == 0
    assert warm["judge"]["cache_hits"] == sum(per_prompt.values())
    check_scores(rows_of(out), "judge prompt.requirements")

    # A new timeout is the same judge: finished rows are kept (only the two tool errors per clip are retried).
    kept = paper_eval(bench, "model_a", bench / "suite", out, "openai:gpt-4o?backoff=0.01&timeout=30",
                      f"{server.url}/v1", "--lo-phy", "judge")
    assert kept["eval"]["rows_skipped"] == 2 * 5 and kept["eval"]["rows_written"] == 2 * 2
    assert len(server.model_calls()) == before

    # Without --lo-phy judge the paper Lo-Phy says VideoPhy-2 is needed; nothing is asked or decoded for it.
    plain = cli("eval", bench / "model_a", "--suite", bench / "suite", "--out", env / "plain", "--tier", "paper",
                "--dimensions", "lo_phy", "--judge", "openai:gpt-4o", "--judge-base-url", f"{server.url}/v1", "--json",
                "--allow-unavailable")
    assert plain.exit_code == 0, plain.output
    for key in (SIGN, NARRATOR):
        row = rows_of(env / "plain")[(key, "lo_phy")]
        assert row["status"] == "error" and "VideoPhy-2" in row["message"] and "--lo-phy judge" in row["message"]
    assert len(server.model_calls()) == before


def test_gemini_eval_reuses_frozen_annotations_for_every_model(bench, env, server):
    suite = env / "suite"
    shutil.copytree(bench / "suite", suite)
    annotated = cli("annotate", "--suite", suite, "--judge", "gemini:gemini-2.5-flash?backoff=0.01",
                    "--judge-base-url", server.url, "--json")
    assert annotated.exit_code == 0, annotated.output
    frozen = json.loads((suite / "annotations.json").read_text())["items"]
    assert frozen[SIGN]["music"][0]["midi"] == [69] and frozen[NARRATOR]["faces"] == {"min_ids": 1, "max_ids": 1}
    assert call_templates(server) == Counter({t: 2 for t in ANNOTATION_TEMPLATES})

    for model in ("model_a", "model_b"):
        server.requests.clear()
        report = paper_eval(bench, model, suite, env / "out", "gemini:gemini-2.5-flash?backoff=0.01&timeout=10",
                            server.url, "--lo-phy", "judge", "--run", model)
        asked = call_templates(server)
        assert not ANNOTATION_TEMPLATES & set(asked), asked  # the frozen annotations are used, never re-derived
        video_calls = {"hi_phy.semantic": 2, "hi_phy.visual": 2, "holistic.check": 2, "lo_phy.judge": 2}
        if model == "model_a":
            assert asked == Counter({**video_calls, "text.judge": 1, "music.judge": 1})
        else:  # model B's videos differ, but its OCR tracks and notes match A's: those text-only answers are cached
            assert asked == Counter(video_calls) and report["judge"]["cache_hits"] == 2
        assert report["judge"]["api_calls"] == sum(asked.values())
        rows = rows_of(env / "out", model)
        check_scores(rows, "frozen judge annotation")
        assert rows[(SIGN, "hi_phy")]["evidence"]["expectations"]["frozen"] is True
    video_call = next(c["json"] for c in server.model_calls() if "inlineData" in json.dumps(c["json"]))
    assert "video/mp4" in json.dumps(video_call)  # Gemini gets the file itself


def test_insightface_scoring_arithmetic_and_judge_face_counts(server, env):
    """The InsightFace backend cannot load here; its scoring of embeddings and the judge's face counts can be checked."""
    from avgenbench.annotations import annotate_rules
    from avgenbench.dimensions.face import score_identities
    from avgenbench.judge.backends import make_backend
    from avgenbench.judge.cache import JudgeCache
    from avgenbench.judge.client import ClientSettings, JudgeClient
    from avgenbench.judge.spec import parse_spec
    from avgenbench.dimensions.face import expected_faces
    from avgenbench.suite import PromptItem

    a, b = np.eye(4)[0], np.eye(4)[1]
    one = [(i, a) for i in range(10)]
    assert score_identities(one + [(3, b)], 10, 1, 1)[0] == pytest.approx(100.0)  # b on 1 of 10 frames: not primary
    score, detail = score_identities(one + [(i, b) for i in range(10)], 10, 1, 1)
    assert detail["primary_ids"] == 2 and score == pytest.approx(40 * 0.5 + 60 * 1.0)  # one too many of max 1
    drift = [(i, (a if i < 5 else (a + 1.2 * b) / np.linalg.norm(a + 1.2 * b))) for i in range(10)]
    score, detail = score_identities(drift, 10, 1, 1)  # one identity whose look drifts: cos to its mean ≈ 0.91
    assert detail["primary_ids"] == 1 and detail["stability"] == pytest.approx(1.0)
    far = (a + 3 * b) / np.linalg.norm(a + 3 * b)  # cos(a, far) ≈ 0.32: a different person
    assert score_identities([(i, a if i < 5 else far) for i in range(10)], 10, 1, 1)[1]["primary_ids"] == 2

    client = JudgeClient(make_backend(parse_spec("openai:gpt-4o"), f"{server.url}/v1"),
                         JudgeCache(env / "faces.sqlite"), ClientSettings(backoff=0.01, timeout=5))
    item = PromptItem(CATEGORY, 1, "Narrator", PROMPTS[1]["prompt"])
    rules = annotate_rules(item)
    # The wording's count (a narrator is no face on screen) yields to the judge's, and stands without a judge.
    assert (rules.faces.min_ids, rules.faces.max_ids, rules.expected_faces_source) == (0, 0, "rules")
    assert expected_faces(client, item, rules) == ((1, 1), "judge prompt.requirements@1")
    assert expected_faces(None, item, rules) == ((0, 0), "rules")
    assert expected_faces(None, item, rules.model_copy(update={"faces": None})) == (None, "none")


def test_paper_tier_without_judge_or_models_says_what_is_missing(bench, env, server):
    out = env / "out"
    args = ("eval", bench / "model_a", "--suite", bench / "suite", "--out", out, "--tier", "paper", "--dimensions", ALL_DIMS)
    refused = cli(*args, "--json")  # checked before any work: one checklist, nothing written
    assert refused.exit_code == 2 and "nothing requested can run" in refused.stderr
    assert sorted(json.loads(refused.stdout)["preflight"]["missing"]) == sorted(ALL_DIMS.split(","))
    assert not (out / "avgenbench.sqlite").exists()
    result = cli(*args, "--json", "--allow-unavailable")  # asked for anyway: every row says what is missing
    assert result.exit_code == 0, result.output
    rows = rows_of(out)
    for key in (SIGN, NARRATOR):
        for dim in ("text", "music", "hi_phy", "holistic"):
            assert rows[(key, dim)]["status"] == "no_judge" and "--judge" in rows[(key, dim)]["message"]
        assert rows[(key, "lo_phy")]["status"] == "error" and "VideoPhy-2" in rows[(key, "lo_phy")]["message"]
        assert rows[(key, "speech")]["status"] == "error" and "Whisper" in rows[(key, "speech")]["message"]
        assert rows[(key, "face")]["status"] == "error" and "InsightFace" in rows[(key, "face")]["message"]
    score = json.loads(cli("score", out, "--json").stdout)
    assert score["total"] is None and score["coverage"] == 0  # nothing scored, nothing faked
    bad = cli("eval", bench / "model_a", "--suite", bench / "suite", "--out", env / "bad", "--tier", "paper",
              "--dimensions", "lo_phy", "--lo-phy", "gpt", "--json")
    assert bad.exit_code == 2 and "unknown --lo-phy" in bad.output
    assert server.model_calls() == []


def test_text_not_asked_for_is_scored_when_incidental_and_skipped_when_noise(bench, env, server):
    """The sign clip under a prompt that asks no text: the judge's presence verdict decides inclusion, as in the paper."""
    from avgenbench.annotations import PromptAnnotation
    from avgenbench.dimensions.base import ItemContext
    from avgenbench.dimensions.text import DIMENSION, paper_backend
    from avgenbench.media import decode
    from avgenbench.suite import PromptItem

    item = PromptItem(CATEGORY, 9, "Shop sign", "A quiet shop window at night.")
    backend = paper_backend()
    clip = decode(bench / "model_a" / CATEGORY / "Shop sign.mp4", DIMENSION.needs)
    options = {"judge": "openai:gpt-4o?backoff=0.01", "judge_base_url": f"{server.url}/v1",
               "judge_cache": str(env / "cache" / "judge.sqlite"), "judge_session": "t1", "judge_repeats": 1}
    verdict = {"text_required": False, "legibility": 100, "temporal_stability": 90, "spatial_stability": 80,
               "completeness": 70, "prompt_match": 60}
    original = server.answer
    try:
        server.answer = lambda schema, body: {**verdict, "presence": "incidental"}
        m = backend.measure(clip, ItemContext(item, PromptAnnotation(), "paper", options))
        assert m.status == "ok" and m.raw == pytest.approx(80.0) and m.evidence["verdict"]["presence"] == "incidental"
        server.answer = lambda schema, body: {**verdict, "presence": "noise"}
        noise_item = PromptItem(CATEGORY, 10, "Shop sign", "A dark shop window, nothing written anywhere.")
        m = backend.measure(clip, ItemContext(noise_item, PromptAnnotation(), "paper", options))
        assert m.status == "not_applicable" and "noise" in m.message
    finally:
        server.answer = original
    assert [template_of(c["json"]["response_format"]["json_schema"]["schema"]) for c in server.model_calls()] == \
        ["text.judge", "text.judge"]
