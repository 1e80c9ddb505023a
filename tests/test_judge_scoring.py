"""Score arithmetic from judge verdicts, JSON extraction and schema checks, spec parsing, prices, templates."""

from __future__ import annotations

import pytest

from avgenbench.annotations.judged import note_midi
from avgenbench.dimensions import hi_phy, holistic, music, speech, text
from avgenbench.judge.jsonutil import extract_json, schema_errors
from avgenbench.judge.pricing import cost_of, price_for
from avgenbench.judge.spec import parse_spec
from avgenbench.judge.templates import all_templates

EXPECT = [{"id": "E1", "strength": "strong"}, {"id": "E2", "strength": "medium"}, {"id": "E3", "strength": "weak"},
          {"id": "E4", "strength": "strong"}]


def test_hi_phy_semantic_deductions_per_verdict():
    checks = [{"id": "E1", "verdict": "mismatch", "severity": "severe"},
              {"id": "E2", "verdict": "missing", "severity": "none"},
              {"id": "E3", "verdict": "missing", "severity": "none"},
              {"id": "E4", "verdict": "uncertain", "severity": "none"}]
    score, items = hi_phy.semantic_score(EXPECT, checks)
    assert score == 100 - 30 - 12 - 6
    assert [i["deduction"] for i in items] == [30, 12, 6, 0]


@pytest.mark.parametrize("severity,deduction", [("severe", 30), ("moderate", 15), ("minor", 8), ("none", 15)])
def test_hi_phy_mismatch_severities(severity, deduction):
    score, _ = hi_phy.semantic_score(EXPECT[:1], [{"id": "E1", "verdict": "mismatch", "severity": severity}])
    assert score == 100 - deduction


def test_hi_phy_semantic_floor_and_unanswered_expectations():
    many = [{"id": f"E{i}", "strength": "strong"} for i in range(10)]
    score, _ = hi_phy.semantic_score(many, [{"id": f"E{i}", "verdict": "mismatch", "severity": "severe"} for i in range(10)])
    assert score == 0.0
    score, items = hi_phy.semantic_score(EXPECT, [])  # no verdicts: uncertain, no deduction
    assert score == 100.0 and all(i["verdict"] == "uncertain" for i in items)


def test_hi_phy_visual_and_overall():
    violations = [{"severity": "severe"}, {"severity": "moderate"}, {"severity": "minor"}, {"severity": "minor"}]
    assert hi_phy.visual_score(violations) == 100 - 25 - 12 - 5 - 5
    assert hi_phy.visual_score([{"severity": "severe"}] * 5) == 0.0
    assert hi_phy.visual_score([]) == 100.0
    assert hi_phy.overall(65, 95) == 80
    assert hi_phy.overall(52, 95) == 74  # 73.5 rounds half up
    assert hi_phy.overall(0, 0) == 0


def test_holistic_subscores_and_weighted_total():
    reqs = {"story_beats": [{"id": "N1", "core": True}, {"id": "N2", "core": False}],
            "visual_attributes": [{"id": "V1", "core": True}], "audio_events": [{"id": "A1", "core": True}],
            "editing": [{"id": "S1", "core": False}]}
    items = [{"id": "N1", "verdict": "met", "severity": "none"}, {"id": "N2", "verdict": "missing", "severity": "none"},
             {"id": "V1", "verdict": "flawed", "severity": "severe"}, {"id": "A1", "verdict": "missing", "severity": "none"}]
    other = [{"area": "audio", "severity": "minor"}, {"area": "shot", "severity": "moderate"}]
    subs, ledger = holistic.subscores(reqs, items, other)
    # N2 missing, not core: -5; V1 flawed severe: -25; A1 missing core: -10 and an audio issue -5;
    # S1 unanswered counts as missing (not core): -5, plus a moderate shot issue -12
    assert subs == {"narrative": 95.0, "shot": 83.0, "visual": 75.0, "audio": 85.0}
    assert holistic.total(subs) == pytest.approx(0.35 * 95 + 0.15 * 83 + 0.30 * 75 + 0.20 * 85)
    assert sum(e["deduction"] for e in ledger) == 5 + 25 + 10 + 5 + 5 + 12
    floor, _ = holistic.subscores({"story_beats": []}, [], [{"area": "narrative", "severity": "severe"}] * 6)
    assert floor["narrative"] == 0.0 and holistic.total(floor) == pytest.approx(65.0)


def test_text_score_inclusion_rules():
    sub = dict(legibility=90, temporal_stability=80, spatial_stability=70, completeness=60, prompt_match=50)
    assert text.judged_score({"text_required": True, "presence": "required", **sub}) == 70.0
    assert text.judged_score({"text_required": False, "presence": "incidental", **sub}) == 70.0
    assert text.judged_score({"text_required": True, "presence": "none", **sub}) == 0.0
    assert text.judged_score({"text_required": False, "presence": "noise", **sub}) is None
    assert text.judged_score({"text_required": False, "presence": "none", **sub}) is None


def test_speech_verbatim_up_to_punctuation_and_case():
    score, wording = speech.verbatim_score(["Hello, World!"], "uh so hello world and then")
    details = wording["lines"]
    assert score == 100.0 and details[0]["exact"]
    score, wording = speech.verbatim_score(["the quick brown fox"], "the quick red fox")
    details = wording["lines"]
    assert score == pytest.approx(75.0) and not details[0]["exact"]  # one substitution in 4 words: WER 0.25
    assert not speech.passes(score)
    score, _ = speech.verbatim_score(["welcome to the show", "goodbye"], "welcome to the show")
    assert 50 <= score < 100
    assert speech.passes(80.0) and not speech.passes(79.9)


def test_music_score():
    verdicts = [{"index": 0, "verdict": "satisfied"}, {"index": 1, "verdict": "partial"}]
    assert music.judged_score(3, verdicts) == pytest.approx(50.0)
    with pytest.raises(ValueError):
        music.judged_score(0, [])


def test_extract_json_variants_and_truncation():
    assert extract_json('{"a": 1}') == {"a": 1}
    assert extract_json('Here:\n```json\n{"a": [1, 2]}\n```\nthanks') == {"a": [1, 2]}
    assert extract_json('prefix {"a": "}"} suffix') == {"a": "}"}
    for bad in ('{"a": [1, 2', "no json here", ""):
        with pytest.raises(ValueError):
            extract_json(bad)


def test_schema_errors_catch_each_rule():
    schema = {"type": "object", "required": ["v", "n", "xs"], "properties": {
        "v": {"type": "string", "enum": ["a", "b"]}, "n": {"type": "integer", "minimum": 1, "maximum": 5},
        "xs": {"type": "array", "minItems": 2, "items": {"type": "number"}}}}
    assert schema_errors({"v": "a", "n": 3, "xs": [1, 2.5]}, schema) == []
    errors = schema_errors({"v": "c", "n": 9, "xs": ["q"]}, schema)
    assert len(errors) == 4
    assert schema_errors({"v": "a", "n": True, "xs": [1, 2]}, schema)  # a bool is not an integer
    assert "missing required field 'n'" in schema_errors({"v": "a", "xs": [1, 2]}, schema)[0]


def test_spec_parsing():
    spec = parse_spec("openai:qwen2.5:7b?video=video_url&frames=8")
    assert (spec.kind, spec.model, spec.get("video"), spec.number("frames")) == ("openai", "qwen2.5:7b", "video_url", 8)
    assert parse_spec("gemini:gemini-2.5-pro").get("fps") == "1"
    assert parse_spec("gemini").model == "gemini-3-flash-preview"  # the reference's current default (May 2026)
    for bad in ("openai", "claude:x", "openai:", "openai:m?video=gif", "gemini:m?nope=1"):
        with pytest.raises(ValueError):
            parse_spec(bad)


def test_prices_longest_prefix_and_override():
    assert price_for(parse_spec("gemini:gemini-2.5-flash-lite")) == (0.10, 0.40)
    assert price_for(parse_spec("gemini:gemini-2.5-flash")) == (0.30, 2.50)
    assert price_for(parse_spec("openai:my-local-model")) is None
    assert price_for(parse_spec("openai:local?price_in=1&price_out=2")) == (1.0, 2.0)
    assert cost_of((1.0, 2.0), 1_000_000, 500_000) == pytest.approx(2.0)
    assert cost_of(None, 10, 10) == 0.0


def test_note_midi():
    assert note_midi("A4") == 69 and note_midi("C#3") == 49 and note_midi("Bb2") == 46
    assert note_midi("C") is None and note_midi("H2") is None


def test_templates_are_versioned_and_render():
    templates = {t.id: t for t in all_templates()}
    assert {"hi_phy.expectations", "hi_phy.semantic", "hi_phy.visual", "holistic.requirements", "holistic.check",
            "prompt.requirements", "text.judge", "speech.judge", "music.judge", "lo_phy.judge"} <= set(templates)
    for t in templates.values():
        assert t.version and t.schema["type"] == "object" and t.system
    text = templates["hi_phy.semantic"].render(prompt="A ball drops", expectations="[]")
    assert "A ball drops" in text and "$" not in text


def test_price_table_override_file(tmp_path, monkeypatch):
    table = tmp_path / "prices.json"
    table.write_text('{"my-omni": [1.0, 3.0], "gpt-4o": [9, 9]}')
    monkeypatch.setenv("AVGENBENCH_JUDGE_PRICES", str(table))
    assert price_for(parse_spec("openai:Org/my-omni-7b")) == (1.0, 3.0)
    assert price_for(parse_spec("openai:gpt-4o")) == (9, 9)
