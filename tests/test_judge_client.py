"""Judge backends and client against a loopback server that speaks the real protocols (no internet)."""

from __future__ import annotations

import base64
import logging
import shutil
import time

import numpy as np
import pytest
from judge_loopback import Loopback

from avgenbench.judge.backends import make_backend
from avgenbench.judge.cache import JudgeCache
from avgenbench.judge.client import ClientSettings, JudgeClient
from avgenbench.judge.spec import parse_spec
from avgenbench.dimensions.judged import AV_NEEDS, media_parts
from avgenbench.judge.templates import load, request
from avgenbench.judge.types import BudgetExhausted, JudgeError, VideoPart
from avgenbench.media import decode, file_sha256
from avgenbench.synthetic.encode import write_clip

GEMINI_KEY = "gk-test-SECRET-7f3a"
OPENAI_KEY = "sk-test-SECRET-91bc"


@pytest.fixture(scope="module")
def server():
    lb = Loopback()
    yield lb
    lb.close()


@pytest.fixture
def lb(server, monkeypatch):
    server.script.clear()
    server.requests.clear()
    server.deleted.clear()
    server.answer = lambda schema, body: __import__("judge_loopback").instance_from_schema(schema or {})
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL", raising=False)
    return server


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    frames = [np.full((64, 96, 3), (i * 9) % 255, np.uint8) for i in range(24)]
    audio = (0.2 * rng.standard_normal(2 * 16000)).astype(np.float32)
    return write_clip(tmp_path_factory.mktemp("judge") / "clip.mp4", frames, 12, audio, 16000)


def make_client(lb, spec_text, tmp_path, **settings):
    spec = parse_spec(spec_text)
    base = lb.url + ("/v1" if spec.kind == "openai" else "")
    backend = make_backend(spec, base)
    defaults = dict(backoff=0.01, timeout=2.0, retries=3)
    defaults.update(settings)
    return JudgeClient(backend, JudgeCache(tmp_path / "judge.sqlite"), ClientSettings(**defaults))


def field(obj, snake):
    """The SDK may write proto field names in snake_case or camelCase; the API accepts both."""
    camel = snake.split("_")[0] + "".join(w.title() for w in snake.split("_")[1:])
    return obj[snake] if snake in obj else obj[camel]


def video(clip_file):
    return [VideoPart(str(clip_file), file_sha256(clip_file))]


def test_openai_frames_mode_request_shape(lb, clip_file, tmp_path):
    client = make_client(lb, "openai:gpt-4o-mini?frames=3&audio=1", tmp_path)
    clip = decode(clip_file, AV_NEEDS)
    answer = client.ask(request("lo_phy.judge", media_parts(client, clip, with_audio=True)))
    assert answer.data == {"rating": 1, "reasons": []} and answer.calls == 1
    body = lb.model_calls()[0]["json"]
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == load("lo_phy.judge").schema
    content = body["messages"][1]["content"]
    kinds = [c["type"] for c in content]
    assert kinds.count("image_url") == 3 and kinds.count("input_audio") == 1 and "video_url" not in kinds
    stamps = [c["text"] for c in content if c["type"] == "text" and c["text"].startswith("frame at")]
    assert stamps == ["frame at t=0.00s", "frame at t=1.00s", "frame at t=1.50s"]  # 2 s clip, frames at 2 fps, spread
    wav = base64.b64decode(next(c for c in content if c["type"] == "input_audio")["input_audio"]["data"])
    assert wav[:4] == b"RIFF" and len(wav) > 16000 * 2 * 1.5  # ~2 s of 16 kHz 16-bit mono
    assert body["messages"][0]["role"] == "system"
    assert lb.model_calls()[0]["headers"]["authorization"] == f"Bearer {OPENAI_KEY}"
    assert answer.usage.input_tokens == 100 and answer.cost == pytest.approx((100 * 0.15 + 20 * 0.60) / 1e6)


def test_openai_video_url_mode_sends_the_file(lb, clip_file, tmp_path):
    client = make_client(lb, "openai:qwen2.5-omni?video=video_url", tmp_path)
    client.ask(request("lo_phy.judge", video(clip_file)))
    part = next(c for c in lb.model_calls()[0]["json"]["messages"][1]["content"] if c["type"] == "video_url")
    prefix, data = part["video_url"]["url"].split(",", 1)
    assert prefix == "data:video/mp4;base64" and base64.b64decode(data) == clip_file.read_bytes()


def test_gemini_inline_request_shape(lb, clip_file, tmp_path):
    client = make_client(lb, "gemini:gemini-2.5-flash?fps=2", tmp_path)
    client.ask(request("lo_phy.judge", video(clip_file)))
    call = lb.model_calls()[0]
    assert call["path"].endswith("/models/gemini-2.5-flash:generateContent")
    assert call["headers"]["x-goog-api-key"] == GEMINI_KEY
    body = call["json"]
    config = body["generationConfig"]
    assert config["temperature"] == 0 and config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == load("lo_phy.judge").schema
    parts = body["contents"][0]["parts"]
    inline = next(p for p in parts if "inlineData" in p)
    assert field(inline["inlineData"], "mime_type") == "video/mp4" and inline["videoMetadata"]["fps"] == 2
    assert base64.urlsafe_b64decode(inline["inlineData"]["data"]) == clip_file.read_bytes()
    assert "physically plausible" in body["systemInstruction"]["parts"][0]["text"]
    assert not any(r["path"].startswith("/upload") for r in lb.requests)


def test_gemini_large_video_goes_through_files_api_and_is_deleted(lb, clip_file, tmp_path):
    lb.script.extend([429, "malformed"])  # a retry and a re-ask reuse the one upload
    client = make_client(lb, "gemini:gemini-2.5-pro?inline_mb=0.001", tmp_path)
    assert client.ask(request("lo_phy.judge", video(clip_file))).calls == 3
    uploads = [r for r in lb.requests if r["path"].startswith("/upload-session/")]
    assert len(uploads) == 1 and uploads[0]["size"] == clip_file.stat().st_size
    assert client.backend.uploads == 1 and client.backend.deleted == 1
    parts = lb.model_calls()[0]["json"]["contents"][0]["parts"]
    file_part = next(p for p in parts if "fileData" in p)
    name = "files/" + field(file_part["fileData"], "file_uri").rsplit("/", 1)[1]
    assert file_part["videoMetadata"]["fps"] == 1 and not any("inlineData" in p for p in parts)
    assert lb.deleted == [name]


@pytest.mark.parametrize("spec", ["openai:gpt-4o", "gemini:gemini-2.5-flash"])
def test_retries_on_429_and_5xx_then_success(lb, clip_file, tmp_path, spec):
    lb.script.extend([429, 500, 503])
    client = make_client(lb, spec, tmp_path, retries=3)
    answer = client.ask(request("lo_phy.judge", video(clip_file)))
    assert answer.ok and answer.calls == 4 and len(lb.model_calls()) == 4


def test_gives_up_after_retries_and_records_error(lb, clip_file, tmp_path):
    lb.script.extend([500, 502, 500])
    client = make_client(lb, "openai:gpt-4o", tmp_path, retries=2)
    with pytest.raises(JudgeError, match="after 3 attempt"):
        client.ask(request("lo_phy.judge", video(clip_file)))
    summary = client.cache.session_summary(client.settings.session)
    assert summary["failed"] == 1 and summary["api_calls"] == 3


def test_client_errors_are_not_retried(lb, clip_file, tmp_path):
    lb.script.append(("status", 404, "model not found"))
    client = make_client(lb, "gemini:nope", tmp_path)
    with pytest.raises(JudgeError, match="404"):
        client.ask(request("lo_phy.judge", video(clip_file)))
    assert len(lb.model_calls()) == 1


@pytest.mark.parametrize("spec", ["openai:gpt-4o", "gemini:gemini-2.5-flash"])
def test_slow_response_times_out_and_is_retried(lb, clip_file, tmp_path, spec):
    lb.script.append(("sleep", 2.0))
    client = make_client(lb, spec, tmp_path, timeout=0.5)
    t0 = time.perf_counter()
    answer = client.ask(request("lo_phy.judge", video(clip_file)))
    assert answer.ok and answer.calls == 2 and time.perf_counter() - t0 < 5


@pytest.mark.parametrize("spec", ["openai:gpt-4o", "gemini:gemini-2.5-flash"])
def test_malformed_answer_gets_one_reask_with_the_error(lb, clip_file, tmp_path, spec):
    lb.script.append("malformed")
    client = make_client(lb, spec, tmp_path)
    answer = client.ask(request("lo_phy.judge", video(clip_file)))
    assert answer.ok and answer.calls == 2
    second = lb.model_calls()[1]["json"]
    texts = (str(second["messages"][1]["content"]) if "messages" in second else str(second["contents"]))
    assert "could not be used: not valid JSON" in texts


def test_schema_invalid_answer_is_reasked(lb, clip_file, tmp_path):
    lb.script.append(("text", '{"rating": 9, "reasons": []}'))
    client = make_client(lb, "openai:gpt-4o", tmp_path)
    answer = client.ask(request("lo_phy.judge", video(clip_file)))
    assert answer.data["rating"] == 1
    assert "maximum 5" in str(lb.model_calls()[1]["json"]["messages"][1]["content"][-1])


def test_truncated_twice_is_an_error_and_not_cached(lb, clip_file, tmp_path):
    lb.script.extend(["truncated", "truncated"])
    client = make_client(lb, "gemini:gemini-2.5-flash", tmp_path)
    req = request("lo_phy.judge", video(clip_file))
    with pytest.raises(JudgeError, match="invalid judge answer after one re-ask"):
        client.ask(req)
    assert client.cache.get(client.cache_key(req)) is None
    assert client.ask(req).ok  # the next run tries again


def test_cache_hits_by_content_hash_not_path(lb, clip_file, tmp_path):
    client = make_client(lb, "openai:gpt-4o", tmp_path)
    first = client.ask(request("lo_phy.judge", video(clip_file)))
    copy = tmp_path / "elsewhere" / "renamed.mp4"
    copy.parent.mkdir()
    shutil.copy(clip_file, copy)
    again = client.ask(request("lo_phy.judge", video(copy)))
    assert not first.cached and again.cached and again.data == first.data
    assert len(lb.model_calls()) == 1
    other_model = make_client(lb, "openai:gpt-4o-mini", tmp_path)
    assert not other_model.ask(request("lo_phy.judge", video(copy))).cached
    extra_sample = client.ask(request("lo_phy.judge", video(copy), repeat=1))
    assert not extra_sample.cached and len(lb.model_calls()) == 3


def test_max_cost_stops_new_calls(lb, clip_file, tmp_path):
    client = make_client(lb, "openai:local?price_in=10000&price_out=0", tmp_path, max_cost=0.5)
    first = client.ask(request("lo_phy.judge", video(clip_file)))  # 100 tokens × $10000/M = $1
    assert first.cost == pytest.approx(1.0)
    with pytest.raises(BudgetExhausted, match="budget of \\$0.50 reached"):
        client.ask(request("speech.judge", prompt="p", transcript="t"))
    assert client.ask(request("lo_phy.judge", video(clip_file))).cached  # cached answers still served
    summary = client.cache.session_summary(client.settings.session)
    assert summary["api_calls"] == 1 and summary["skipped_for_budget"] == 1 and summary["cost_usd"] == pytest.approx(1.0)


def test_response_format_falls_back_when_unsupported(lb, clip_file, tmp_path):
    lb.script.append(("status", 400, "response_format json_schema is not supported by this server"))
    client = make_client(lb, "openai:llava", tmp_path)
    assert client.ask(request("lo_phy.judge", video(clip_file))).ok
    calls = lb.model_calls()
    assert calls[0]["json"]["response_format"]["type"] == "json_schema"
    assert calls[1]["json"]["response_format"] == {"type": "json_object"}
    assert "following this JSON schema" in calls[1]["json"]["messages"][1]["content"][-1]["text"]
    client.ask(request("speech.judge", prompt="p", transcript="t"))  # remembered: no second json_schema try
    assert lb.model_calls()[2]["json"]["response_format"] == {"type": "json_object"}


def test_rpm_limit_waits_for_the_window(lb, clip_file, tmp_path):
    client = make_client(lb, "openai:gpt-4o", tmp_path, rpm=2)
    now = time.time()
    db = client.cache._db
    db.execute("INSERT INTO sends VALUES ('openai', 'gpt-4o', ?)", (now - 59.7,))
    db.execute("INSERT INTO sends VALUES ('openai', 'gpt-4o', ?)", (now - 59.6,))
    t0 = time.perf_counter()
    client.ask(request("lo_phy.judge", video(clip_file)))
    assert time.perf_counter() - t0 >= 0.25


def test_keys_never_reach_logs_or_store(lb, clip_file, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    lb.script.extend([("status", 503, f"upstream said: bad key {OPENAI_KEY}")] * 2
                     + [("status", 401, f"invalid api key {OPENAI_KEY}")])
    client = make_client(lb, "openai:gpt-4o", tmp_path, retries=3)
    with pytest.raises(JudgeError) as info:
        client.ask(request("lo_phy.judge", video(clip_file)))
    assert "401" in str(info.value) and OPENAI_KEY not in str(info.value) and "[redacted]" in str(info.value)
    assert lb.model_calls()[0]["headers"]["authorization"].endswith(OPENAI_KEY)  # it was sent, to the server only
    client.ask(request("speech.judge", prompt="p", transcript="t"))
    client.cache.close()
    assert OPENAI_KEY not in caplog.text
    for path in tmp_path.glob("judge.sqlite*"):
        assert OPENAI_KEY.encode() not in path.read_bytes()


def test_missing_keys_are_reported(monkeypatch):
    for var in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(JudgeError, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
        make_backend(parse_spec("gemini:gemini-2.5-pro"))
    with pytest.raises(JudgeError, match="OPENAI_API_KEY"):
        make_backend(parse_spec("openai:gpt-4o"))
    assert make_backend(parse_spec("openai:local"), "http://127.0.0.1:1/v1").secrets == []


def test_text_speech_music_judge_stages_score_in_code(lb, tmp_path):
    from avgenbench.dimensions import music, speech, text
    from avgenbench.suite import PromptItem

    def answer(schema, body):
        props = schema["properties"]
        if "presence" in props:
            return {"text_required": True, "presence": "required", "legibility": 90, "temporal_stability": 70,
                    "spatial_stability": 80, "completeness": 50, "prompt_match": 60}
        if "score" in props:
            return {"score": 85, "reasons": ["on topic"]}
        return {"verdicts": [{"index": 0, "verdict": "satisfied", "reason": ""},
                             {"index": 1, "verdict": "partial", "reason": ""}]}

    lb.answer = answer
    client = make_client(lb, "openai:gpt-4o", tmp_path)
    item = PromptItem("ads", 0, "Shop", "A shop sign reads OPEN while a clerk says 'welcome in'.")
    text = text.judge_once(client, item, ["OPEN"], [{"text": "OPEN", "start": 0.0, "end": 2.0, "conf": 0.9}])
    assert text["score"] == pytest.approx(70.0)
    sent = lb.model_calls()[0]["json"]["messages"][1]["content"][0]["text"]
    assert '"OPEN"' in sent and "A shop sign reads OPEN" in sent
    verbatim = speech.judge_once(client, item, ["Welcome in!"], "welcome in")
    assert verbatim["mode"] == "verbatim" and verbatim["score"] == 100.0 and verbatim["passed"]
    assert len(lb.model_calls()) == 1  # verbatim mode makes no judge call
    contextual = speech.judge_once(client, item, [], "hello and welcome")
    assert contextual == {"mode": "contextual", "score": 85.0, "passed": True, "reasons": ["on topic"], "calls": 1, "cached": 0}
    music = music.judge_once(client, item, [{"kind": "note", "notes": ["A4"]}, {"kind": "chord", "notes": ["C", "E", "G"]},
                                              {"kind": "note", "notes": ["B3"]}], [{"onset": 0.1, "offset": 0.5, "note": "A4"}])
    assert music["score"] == pytest.approx(50.0)  # (1 + 0.5 + 0) / 3


def test_concurrency_limit_per_backend(lb, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    deadline = time.monotonic() + 6
    while lb.in_flight and time.monotonic() < deadline:  # an abandoned slow reply from a timeout test
        time.sleep(0.05)
    lb.max_in_flight = 0
    lb.script.extend([("sleep", 0.3)] * 6)
    client = make_client(lb, "openai:gpt-4o", tmp_path, concurrency=2)
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda i: client.ask(request("speech.judge", prompt=f"p{i}", transcript="t")), range(6)))
    assert all(a.ok and not a.cached for a in answers)
    assert lb.max_in_flight == 2


def test_answer_must_cover_every_expectation_id(lb, tmp_path):
    partial = '{"checks": [{"id": "E1", "verdict": "match", "severity": "none", "evidence": ""}]}'
    full = ('{"checks": [{"id": "E1", "verdict": "match", "severity": "none", "evidence": ""},'
            ' {"id": "E2", "verdict": "missing", "severity": "none", "evidence": ""}]}')
    lb.script.extend([("text", partial), ("text", full)])
    client = make_client(lb, "openai:gpt-4o", tmp_path)
    answer = client.ask(request("hi_phy.semantic", [], 0, {"checks": ["E1", "E2"]}, prompt="p", expectations="[]"))
    assert [c["id"] for c in answer.data["checks"]] == ["E1", "E2"]
    assert "no entry for id(s) E2" in lb.model_calls()[1]["json"]["messages"][1]["content"][-1]["text"]


@pytest.mark.parametrize("spec", ["openai:gpt-4o", "gemini:gemini-2.5-flash"])
def test_a_reply_body_that_is_not_json_or_cut_off_is_retried(lb, clip_file, tmp_path, spec):
    """An HTTP 200 whose body is an HTML error page or JSON cut off mid-way is a server hiccup, retried like a 5xx."""
    lb.script.extend([("body", "<html><body>502 Bad Gateway</body></html>"), ("body", '{"choices": [{"mess')])
    client = make_client(lb, spec, tmp_path, retries=3)
    answer = client.ask(request("lo_phy.judge", video(clip_file)))
    assert answer.ok and answer.calls == 3 and len(lb.model_calls()) == 3


def test_a_reply_body_that_stays_broken_gives_up_after_the_retries(lb, clip_file, tmp_path):
    lb.script.extend([("body", "not json")] * 3)
    client = make_client(lb, "openai:gpt-4o", tmp_path, retries=2)
    with pytest.raises(JudgeError, match="after 3 attempt.*not JSON or is cut off"):
        client.ask(request("lo_phy.judge", video(clip_file)))
    assert len(lb.model_calls()) == 3
