"""Control (ctrl): instruction rules against a hand-checked suite sample, checks by signal on generated control clips,
the dimension end to end, and its place beside (never inside) the Scheme-2 total."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from avgenbench.control_checks import Signals, check
from avgenbench.control_rules import (RULES_VERSION, Instruction, extract, frozen, instructions_of, segments,
                                      sound_class)
from avgenbench.dimensions import DIMENSION_IDS, get_dimension, parse_dimension_list
from avgenbench.dimensions.frames import MOTION_FRAMES
from avgenbench.layers import LAYERS, layer_scores
from avgenbench.media import MediaNeeds, decode
from avgenbench.runner import Unit, run_unit
from avgenbench.score import score_rows
from avgenbench.store import ResultRow
from avgenbench.suite import PromptItem, load_suite
from avgenbench.synthetic.controls import render_control

EXPECTED = Path(__file__).parent / "data" / "ctrl_instructions_expected.json"
AUDIO = MediaNeeds(audio_rates=(22050,), needs_audio=True, needs_video=False)
WITH_MOTION = MediaNeeds(frames=(MOTION_FRAMES,), audio_rates=(22050,), needs_audio=True)


# ---- rules against the hand-checked sample of the official suite ----

def _prf(pairs_found: set, pairs_expected: set) -> tuple[float, float]:
    tp = len(pairs_found & pairs_expected)
    precision = tp / len(pairs_found) if pairs_found else 1.0
    recall = tp / len(pairs_expected) if pairs_expected else 1.0
    return precision, recall


def test_extractor_precision_and_recall_on_the_hand_checked_sample(official_suite_dir):
    data = json.loads(EXPECTED.read_text(encoding="utf-8"))
    suite = {item.key: item for item in load_suite(official_suite_dir).items}
    assert len(data["items"]) >= 30
    found: dict[str, set] = {"development": set(), "heldout": set()}
    expected: dict[str, set] = {"development": set(), "heldout": set()}
    counts_right = counts_asked = 0
    classes_right = classes_asked = actions_right = actions_asked = 0
    for row in data["items"]:
        item = suite[row["key"]]
        assert hashlib.sha256(item.prompt.encode()).hexdigest()[:16] == row["prompt_sha256"], row["key"]
        instructions = extract(item.prompt)
        found[row["split"]] |= {(row["key"], i.kind) for i in instructions}
        expected[row["split"]] |= {(row["key"], kind) for kind in row["expected"]}
        if "count" in row:
            counts_asked += 1
            counts_right += any(i.kind == "count" and i.count == row["count"] for i in instructions)
            actions_asked += 1
            actions_right += any(i.kind == "count" and bool(i.action) == row["action"] for i in instructions)
        if "order_classes" in row:
            classes_asked += 1
            classes_right += any(i.kind == "order" and [sound_class(i.sound), sound_class(i.second)] ==
                                 row["order_classes"] for i in instructions)
    positives = {kind for row in data["items"] for kind in row["expected"]}
    assert positives >= {"loudness_up", "loudness_down", "tempo_up", "tempo_down", "pitch_up", "count", "stop", "order"}
    assert any(not row["expected"] for row in data["items"])  # negatives too
    dev_p, dev_r = _prf(found["development"], expected["development"])
    held_p, held_r = _prf(found["heldout"], expected["heldout"])
    all_p, all_r = _prf(found["development"] | found["heldout"], expected["development"] | expected["heldout"])
    print(f"\nctrl rules {RULES_VERSION}: development P={dev_p:.3f} R={dev_r:.3f}; held-out P={held_p:.3f} "
          f"R={held_r:.3f}; all P={all_p:.3f} R={all_r:.3f}; counts exact {counts_right}/{counts_asked}; order classes "
          f"{classes_right}/{classes_asked}; visible actions {actions_right}/{actions_asked}")
    assert all_p >= 0.9 and all_r >= 0.9
    assert dev_p >= 0.9 and dev_r >= 0.9
    assert held_p >= 0.8 and held_r >= 0.5  # measured 1.0 / 0.6 on 16 prompts: the rules miss paraphrases
    assert counts_right >= counts_asked - 1
    assert classes_asked >= 4 and classes_right == classes_asked
    assert actions_asked >= 9 and actions_right == actions_asked


def test_sound_words_gate_trend_cues_and_then_cuts_spans():
    assert extract("A crystal tower grows upward and the steam rises.") == []
    assert extract("Frogs croak in waves that rise and fall.") == []
    assert [i.kind for i in extract("The engine roar rises as the car passes.")] == ["loudness_up"]
    ins = extract("A whistle plays softly, then the whistle rises in pitch.")
    assert [(i.kind, i.span) for i in ins] == [("pitch_up", (0.5, 1.0))]
    assert len(segments("A, then B, then C.")) == 3
    count = extract("She plucks the string four times, then stops.")
    assert [(i.kind, i.count) for i in count] == [("count", 4), ("stop", None)]
    assert count[1].span == (0.5, 1.0) and count[0].span == (0.0, 1.0)
    assert extract("A single mouse click, then silence.")[0].kind == "stop"
    assert extract("The rain grows quieter.")[0].kind == "loudness_down"
    assert extract("The ticking clock slows down.")[0].kind == "tempo_down"
    order = extract("A sharp crack, followed by a low rumble.")
    assert [(i.kind, i.sound, i.second) for i in order] == [("order", "crack", "rumble")]
    assert (sound_class("crack"), sound_class("rumble"), sound_class("laughter")) == ("impact", "noise", None)
    spoken = extract("A man speaks, then a piano plays.")
    assert [(i.kind, sound_class(i.sound), sound_class(i.second)) for i in spoken] == [("order", "speech", "tonal")]
    assert [i.kind for i in extract("The music plays, then silence.")] == ["stop"]  # silence comes first only
    assert [i.kind for i in extract("Bass thumps, then the music abruptly cuts.")] == ["stop"]
    assert [i.action for i in extract("A hand knocks on the door three times.")] == ["knocks"]
    assert [i.action for i in extract("Three knocks echo.")] == [""]


def test_frozen_instructions_win_over_the_rules():
    stored = frozen("The music swells.")
    assert stored["version"] == RULES_VERSION and stored["instructions"][0]["kind"] == "loudness_up"
    judge = {"ctrl": {"source": "judge:x", "version": "t1",
                      "instructions": [Instruction(kind="count", count=2, words="twice").model_dump(mode="json")]}}
    ins, source = instructions_of("The music swells.", judge)
    assert [i.kind for i in ins] == ["count"] and source == "frozen:judge:x:t1"
    assert instructions_of("The music swells.", {})[1] == f"rules:{RULES_VERSION}"


# ---- checks by signal on generated clips ----

def _signals(tmp_path: Path, control: dict, name: str) -> Signals:
    path = render_control(tmp_path / f"{name}.mp4", control)
    assert json.loads((tmp_path / f"{name}.truth.json").read_text())["controls"][0]["kind"] == control["kind"]
    return Signals(decode(tmp_path / f"{name}.mp4", AUDIO).audio_at(22050)) if path else None


def test_loudness_trend_and_its_reverse(tmp_path):
    up = Instruction(kind="loudness_up", words="grows louder")
    clean = check(up, _signals(tmp_path, {"kind": "loudness_up"}, "up"))
    backwards = check(up, _signals(tmp_path, {"kind": "loudness_up", "reverse": True}, "rev"))
    assert clean.verdict == "pass" and clean.evidence["change_db"] > 20  # rendered +28 dB
    assert backwards.verdict == "fail" and backwards.evidence["change_db"] < -20
    assert len(clean.evidence["curve_db"]) <= 24


def test_counts_tempo_and_stop(tmp_path):
    four = Instruction(kind="count", count=4, words="four times")
    assert check(four, _signals(tmp_path, {"kind": "count", "n": 4}, "c4")).evidence["found"] == 4
    cut = check(four, _signals(tmp_path, {"kind": "count", "n": 4, "keep": 2}, "c2"))
    assert cut.evidence["found"] == 2 and cut.verdict == "fail" and cut.score == 50.0
    five = Instruction(kind="count", count=5, words="five times")
    under_noise = check(five, _signals(tmp_path, {"kind": "count", "n": 5, "noise_db": -40.0}, "c5n"))
    assert under_noise.evidence["found"] == 5  # a steady noise bed's flicker is no event (16 found before the rise gate)
    faster = Instruction(kind="tempo_up", words="speeds up")
    s = _signals(tmp_path, {"kind": "tempo_up"}, "t")
    result = check(faster, s)
    assert result.verdict == "pass" and result.evidence["rate_ratio_end_to_start"] > 2  # rendered 3.06
    stop = Instruction(kind="stop", span=(0.5, 1.0), words="then stops")
    stopped = check(stop, _signals(tmp_path, {"kind": "stop", "stop_s": 4.0}, "s"))
    assert stopped.verdict == "pass" and abs(stopped.evidence["stop_at_s"] - 4.0) <= 0.3
    never = check(stop, _signals(tmp_path, {"kind": "stop", "stop_s": None}, "n"))
    assert never.verdict == "fail"


def _with_frames(tmp_path: Path, control: dict, name: str) -> tuple[Signals, dict]:
    truth = render_control(tmp_path / f"{name}.mp4", control)
    clip = decode(tmp_path / f"{name}.mp4", WITH_MOTION)
    frames = clip.frames_for(MOTION_FRAMES)
    return Signals(clip.audio_at(22050), 22050, (frames.images, frames.times)), truth["controls"][0]


def test_order_of_speech_and_a_held_tone_and_its_swap(tmp_path):
    said_first = extract("A man speaks, then an organ plays.")[0]
    played_first = extract("Organ music plays, then a man speaks.")[0]
    s, truth = _with_frames(tmp_path, {"kind": "order", "first": "speech", "second": "tonal"}, "st")
    clean = check(said_first, s)
    assert clean.verdict == "pass" and clean.evidence["precedence"] > 0.9, clean.evidence
    speech = clean.evidence["first"]["spans_s"]
    assert speech and truth["first"]["span_s"][0] - 0.3 <= speech[0][0] < truth["first"]["span_s"][1]
    assert all(b <= truth["second"]["span_s"][0] + 0.2 for _, b in speech)  # no speech heard in the organ's half
    assert check(played_first, s).verdict == "fail"  # the same clip against the reverse instruction
    swapped, _ = _with_frames(tmp_path, {"kind": "order", "first": "speech", "second": "tonal", "swap": True}, "sw")
    assert check(said_first, swapped).verdict == "fail" and check(played_first, swapped).verdict == "pass"
    unknown = check(Instruction(kind="order", words="laughter, then music", sound="laughter", second="music"), s)
    assert unknown.verdict == "unchecked" and unknown.score is None and "no sound class" in unknown.evidence["message"]
    same = check(Instruction(kind="order", words="thump followed by a clank", sound="thump", second="clank"), s)
    assert same.verdict == "unchecked" and "both sounds are impact" in same.evidence["message"]
    absent = check(Instruction(kind="order", words="a crack, then music", sound="crack", second="music"), s)
    assert absent.verdict == "inconclusive" and absent.score is None and "no impact sound" in absent.evidence["message"]


def test_order_of_an_impact_and_a_hiss(tmp_path):
    ins = extract("A sharp knock, followed by a steady hiss.")[0]
    s, _ = _with_frames(tmp_path, {"kind": "order", "first": "impact", "second": "noise"}, "in")
    clean = check(ins, s)
    assert clean.verdict == "pass", clean.evidence
    swapped, _ = _with_frames(tmp_path, {"kind": "order", "first": "impact", "second": "noise", "swap": True}, "ni")
    assert check(ins, swapped).verdict == "fail"


def test_counts_tied_to_a_visible_action_count_the_picture_too(tmp_path):
    pluck = extract("She plucks the string four times.")[0]
    assert pluck.action == "plucks"
    s, truth = _with_frames(tmp_path, {"kind": "count", "n": 4}, "v4")
    both = check(pluck, s)
    assert both.verdict == "pass" and both.evidence["visual_found"] == 4 and both.evidence["matched"] == 4
    assert all(abs(a - b) <= 0.15 for a, b in zip(both.evidence["visual_events_s"], truth["flashes_s"]))
    short_sound, _ = _with_frames(tmp_path, {"kind": "count", "n": 4, "keep": 2, "flashes": 4}, "s2")
    result = check(pluck, short_sound)
    assert (result.evidence["found"], result.evidence["visual_found"], result.evidence["matched"]) == (2, 4, 2)
    assert result.verdict == "fail" and result.score < both.score
    short_picture, _ = _with_frames(tmp_path, {"kind": "count", "n": 4, "flashes": 2}, "p2")
    result = check(pluck, short_picture)
    assert (result.evidence["found"], result.evidence["visual_found"]) == (4, 2) and result.verdict == "fail"
    unseen = check(extract("Four beeps sound.")[0], short_picture)  # no visible action: the sound alone decides
    assert unseen.verdict == "pass" and "visual_found" not in unseen.evidence
    blind = check(pluck, Signals(s.audio, 22050))
    assert blind.verdict == "pass" and "no frames were decoded" in blind.evidence["visual"]


# ---- the dimension ----

def _measure(path: Path, prompt: str):
    item = PromptItem("test", 0, "clip", prompt, {}, None)
    return run_unit(Unit(item, str(path), ["ctrl"], "lite", {})).measurements[0][3]


def test_dimension_end_to_end(tmp_path):
    path = tmp_path / "fade.mp4"
    render_control(path, {"kind": "loudness_down"})
    m = _measure(path, "The music fades out.")
    assert m.status == "ok" and m.raw == 100.0 and m.evidence["instructions_from"] == f"rules:{RULES_VERSION}"
    assert m.evidence["checks"][0]["kind"] == "loudness_down"
    assert _measure(path, "A dog sits on a sofa.").status == "not_applicable"
    unsettled = _measure(path, "A sharp crack, followed by a low rumble.")  # an organ fading: no crack in it
    assert unsettled.status == "inconclusive" and unsettled.evidence["checks"][0]["verdict"] == "inconclusive"
    assert _measure(path, "Laughter, then a low rumble.").evidence["checks"][0]["verdict"] == "unchecked"


def test_paper_tier_asks_the_judge_only_for_what_the_signals_cannot_settle(tmp_path, monkeypatch):
    from judge_loopback import Loopback

    from avgenbench.annotations import PromptAnnotation
    from avgenbench.dimensions.base import ItemContext
    from avgenbench.dimensions.ctrl import DIMENSION, ControlSignalsLite, paper_backend

    path = tmp_path / "fade.mp4"
    render_control(path, {"kind": "loudness_down"})
    prompt = "The music fades out. Laughter, then a piano."
    assert [i.kind for i in extract(prompt)] == ["loudness_down", "order"]
    backend = paper_backend()
    clip = decode(path, DIMENSION.needs.merge(backend.needs()))
    server = Loopback(lambda schema, body: {"settled": [{"id": "i1", "verdict": "partial", "reason": "piano at 2 s"}]})
    monkeypatch.setenv("OPENAI_API_KEY", "sk-ctrl-test")
    options = {"judge": "openai:gpt-4o?backoff=0.01", "judge_base_url": f"{server.url}/v1",
               "judge_cache": str(tmp_path / "judge.sqlite"), "judge_session": "t1", "judge_repeats": 1}
    item = PromptItem("test", 0, "clip", prompt, {}, None)
    try:
        m = backend.measure(clip, ItemContext(item, PromptAnnotation(), "paper", options))
        assert m.status == "ok" and m.raw == pytest.approx(75.0), m  # signal 100 for the fade, judge 'partial' 50
        order = m.evidence["checks"][1]
        assert order["settled_by"] == "judge" and order["signal_verdict"] == "unchecked"
        assert order["verdict"] == "partial" and order["judge_reason"] == "piano at 2 s"
        assert m.evidence["checks"][0]["verdict"] == "pass" and "settled_by" not in m.evidence["checks"][0]
        assert m.evidence["calls"] == 1 and len(server.model_calls()) == 1
        sent = json.dumps(server.model_calls()[0]["json"])
        assert "Laughter, then a piano" in sent and "maps to no sound class" in sent  # the order, with why
        assert "loudness_down" not in sent  # the fade was settled by signal: not asked
        again = backend.measure(clip, ItemContext(item, PromptAnnotation(), "paper", options))
        assert again.raw == m.raw and again.evidence["cached"] == 1 and len(server.model_calls()) == 1
        settled = backend.measure(clip, ItemContext(PromptItem("test", 1, "clip", "The music fades out.", {}, None),
                                                    PromptAnnotation(), "paper", options))
        assert settled.raw == 100.0 and settled.evidence["calls"] == 0 and len(server.model_calls()) == 1
        lite = ControlSignalsLite().measure(clip, ItemContext(item, PromptAnnotation(), "lite", options))
        assert lite.raw == 100.0 and lite.evidence["checks"][1]["verdict"] == "unchecked"
        assert len(server.model_calls()) == 1  # lite never calls the judge
        no_judge = backend.measure(clip, ItemContext(item, PromptAnnotation(), "paper", {}))
        assert no_judge.raw == 100.0 and "no judge configured" in no_judge.evidence["unsettled"]
        assert backend.templates == ("ctrl.judge",)
    finally:
        server.close()


def test_ctrl_runs_only_when_named_and_has_no_weight():
    assert "ctrl" not in DIMENSION_IDS and "ctrl" not in parse_dimension_list(None)
    assert parse_dimension_list("vis,ctrl") == ["vis", "ctrl"]
    assert get_dimension("ctrl").weight == 0.0 and not get_dimension("ctrl").in_scheme
    assert set(LAYERS) == set(DIMENSION_IDS) | {"ctrl"}


def _row(video, dim, status, raw=None):
    return ResultRow("r", f"ads/{video}", dim, "b", "1", "lite", "ads", video, None, None, status, raw,
                     None, {}, "", 0.0, 0.0)


def test_total_is_unchanged_by_ctrl_rows_and_ctrl_is_reported_beside_it():
    rows = [_row("a", "vis", "ok", 0.8), _row("b", "vis", "ok", 0.6), _row("a", "text", "ok", 70.0),
            _row("a", "aud", "ok", 6.0)]
    plain = score_rows(rows, ci_draws=0)
    with_ctrl = score_rows(rows + [_row("a", "ctrl", "ok", 10.0), _row("b", "ctrl", "not_applicable")], ci_draws=0)
    assert with_ctrl.total == pytest.approx(plain.total) and with_ctrl.coverage == pytest.approx(plain.coverage)
    assert "ctrl" not in with_ctrl.dimensions and with_ctrl.beside["ctrl"].normalized == 10.0
    card = with_ctrl.as_dict()
    assert card["beside_total"]["ctrl"]["n"] == 1 and card["layers"]["controllability"] == 10.0
    assert card["layers"]["perceptual"] == pytest.approx((70.0 + 60.0) / 2)  # Vis 0.7 -> 70, Aud 6 -> 60
    assert "beside_total" in card and not plain.beside
    assert layer_scores({"text": 50.0, "face": None})["semantic"] == 50.0


def test_stored_ctrl_rows_leave_leaderboard_and_report_totals_alone(tmp_path):
    from avgenbench.leaderboard import run_entries
    from avgenbench.report import build_report
    from avgenbench.store import Store
    from stored_rows import write_run

    rows = [_row("a", "vis", "ok", 0.8), _row("b", "vis", "ok", 0.6), _row("a", "text", "ok", 70.0)]
    ctrl = [_row("a", "ctrl", "ok", 10.0), _row("b", "ctrl", "not_applicable")]
    write_run(tmp_path / "plain", "r", rows)
    write_run(tmp_path / "ctrl", "r", rows + ctrl)
    entries = []
    for name in ("plain", "ctrl"):
        with Store(tmp_path / name) as store:
            entries.append(run_entries(store, ci_draws=0)[0].as_dict())
    assert entries[0]["total"] is not None and entries[0]["total"] == pytest.approx(entries[1]["total"])
    assert entries[1]["beside_total"] == {"ctrl": 10.0} and entries[1]["layers"]["controllability"] == 10.0
    assert entries[0]["layers"]["controllability"] is None and entries[0]["layers"]["semantic"] == 70.0
    html = build_report(tmp_path / "ctrl", tmp_path / "report.html", media=False, ci_draws=0).read_text()
    assert "Control" in html  # the ctrl rows are in the drill-down, their total untouched
    cards = html.split('<div class="cards layers">', 1)[1].split("</div>\n  </div>", 1)[0]
    assert "Perceptual quality" in cards and "Semantic alignment" in cards and "Controllability" in cards
    assert "Control (beside the total, not in it)" in cards and ">10.0<" in cards
    plain_html = build_report(tmp_path / "plain", tmp_path / "plain.html", media=False, ci_draws=0).read_text()
    assert "beside the total, not in it" not in plain_html


def test_annotate_freezes_the_instructions_and_eval_reads_them(official_suite_dir):
    from avgenbench.annotations import PromptAnnotation
    from avgenbench.annotations.judged import annotate

    suite = load_suite(official_suite_dir)
    suite.items = [i for i in suite.items if i.key == "musical_instrument_tutorial/Piano_ Single Note C4 Repeated"]
    doc, failures = annotate(suite, None)
    assert not failures
    stored = doc["items"][suite.items[0].key]["judge"]["ctrl"]
    assert stored["version"] == RULES_VERSION and {i["kind"] for i in stored["instructions"]} == {"count", "stop"}
    annotation = PromptAnnotation.model_validate(doc["items"][suite.items[0].key])
    ins, source = instructions_of(suite.items[0].prompt, annotation.judge)
    assert source == f"frozen:rules:{RULES_VERSION}" and [i.count for i in ins if i.kind == "count"] == [4]


def test_calibrate_covers_ctrl(tmp_path):
    from avgenbench.calibrate import calibrate

    result = calibrate(["ctrl"], tmp_path, fast=True)
    report = result["dimensions"]["ctrl"]
    assert result["targets_met"] and report["status"] == "ok"
    recovery, mono = report["recovery"], report["monotonicity"]
    assert recovery["passed"] == recovery["total"] == 5 and recovery["worst"]["wrong"] == 0
    assert mono["pairs"] == 8 and mono["pass_rate"] == 1.0
    found = {c["clip"]: c for c in recovery["clips"]}
    assert found["ctrl_count_4"]["found_count"] == 4 and found["ctrl_tempo_up"]["found_change"] > 0
    assert found["ctrl_count_4"]["found_visual"] == 4 and found["ctrl_order_speech_tonal"]["precedence"] > 0.9


def test_order_on_real_speech_and_a_real_saxophone(realclips_dir, tmp_path):
    """Real generated sound: 4 s of a woman speaking (Ovi) then 4 s of a saxophone (Ovi), and the two swapped."""
    from conftest import realclip

    from avgenbench.synthetic.encode import write_clip

    speech = decode(realclip(realclips_dir, "dialogue", "Woman with closed eyes speaks"), AUDIO).audio_at(22050)
    sax = decode(realclip(realclips_dir, "music", "Saxophone busker"), AUDIO).audio_at(22050)
    half = 4 * 22050
    assert speech.size >= half and sax.size >= half
    ins = extract("A woman speaks, then a saxophone plays.")[0]
    scores = {}
    for name, audio in (("said_first", np.concatenate([speech[:half], sax[:half]])),
                        ("played_first", np.concatenate([sax[:half], speech[:half]]))):
        frames = [np.full((90, 160, 3), 60, np.uint8)] * 96
        write_clip(tmp_path / f"{name}.mp4", frames, 12, audio.astype(np.float32), 22050)
        result = check(ins, Signals(decode(tmp_path / f"{name}.mp4", AUDIO).audio_at(22050)))
        scores[name] = result
    said, played = scores["said_first"], scores["played_first"]
    print(f"\nreal order: speech then sax precedence {said.evidence.get('precedence')} ({said.verdict}); "
          f"swapped {played.evidence.get('precedence')} ({played.verdict}); spans {said.evidence['first']} / "
          f"{said.evidence['second']}")
    assert said.verdict == "pass" and played.verdict == "fail"


def test_paper_eval_through_the_command_line_stores_the_judged_row(tmp_path, monkeypatch):
    from judge_loopback import Loopback
    from typer.testing import CliRunner

    from avgenbench.cli import app

    (tmp_path / "suite" / "prompts").mkdir(parents=True)
    (tmp_path / "suite" / "prompts" / "ctrl.json").write_text(json.dumps(
        [{"content": "fade", "prompt": "The music fades out. Laughter, then a piano."}]))
    render_control(tmp_path / "videos" / "ctrl" / "fade.mp4", {"kind": "loudness_down"})
    server = Loopback(lambda schema, body: {"settled": [{"id": "i1", "verdict": "violated", "reason": "no piano"}]})
    monkeypatch.setenv("OPENAI_API_KEY", "sk-ctrl-test")
    monkeypatch.setenv("AVGENBENCH_CACHE_DIR", str(tmp_path / "cache"))
    args = ["eval", str(tmp_path / "videos"), "--suite", str(tmp_path / "suite"), "--out", str(tmp_path / "out"),
            "--tier", "paper", "--dimensions", "ctrl", "--judge", "openai:gpt-4o?backoff=0.01",
            "--judge-base-url", f"{server.url}/v1", "--json"]
    try:
        first = CliRunner().invoke(app, args)
        assert first.exit_code == 0, first.output
        rows = json.loads(CliRunner().invoke(app, ["results", str(tmp_path / "out"), "--json"]).stdout)
        assert len(rows) == 1 and rows[0]["backend"] == "ctrl-signals-judge" and rows[0]["tier"] == "paper"
        assert rows[0]["raw"] == pytest.approx(50.0)  # the fade by signal (100), the order by the judge (violated: 0)
        assert rows[0]["evidence"]["checks"][1]["judge_reason"] == "no piano"
        assert len(server.model_calls()) == 1
        again = CliRunner().invoke(app, args)
        assert again.exit_code == 0 and len(server.model_calls()) == 1  # the stored row is kept: no new call
    finally:
        server.close()
