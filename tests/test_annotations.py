"""Rule-based prompt annotations: the official suite, a hand-checked sample, and tricky sentences."""

from __future__ import annotations

import json

import pytest

from avgenbench.annotations import (RULES_VERSION, PromptAnnotation, annotate_prompt, annotate_rules, annotate_suite,
                                    annotation_for)
from avgenbench.dimensions.text import normalize_text
from avgenbench.suite import load_suite


@pytest.fixture(scope="module")
def suite(official_suite_dir):
    return load_suite(official_suite_dir)


@pytest.fixture(scope="module")
def by_index(suite):
    return {(item.category, item.index): item for item in suite.items}


# ---- named cases from the issue ----

def test_tea_advert_requires_its_tagline(by_index):
    ann = annotate_rules(by_index[("ads", 1)])
    assert "Keep it tea." in ann.required_text
    assert ann.speech_required
    assert "A tasty cup of green tea... Delicious" in ann.speech_lines
    assert not ann.music


def test_trailer_title_is_text_and_whisper_is_speech(by_index):
    item = by_index[("movie_trailer", 4)]
    ann = annotate_rules(item)
    assert ann.required_text == ["EIGHTY-SEVEN SECONDS"]
    assert "Eighty-seven seconds—move." in ann.speech_lines
    assert all("move" not in t for t in ann.required_text)
    assert annotate_rules(by_index[("movie_trailer", 0)]).required_text == ["REDLINE PROTOCOL"]


def test_guitar_prompt_requires_a4_four_times_octave_strict(by_index):
    ann = annotate_rules(by_index[("musical_instrument_tutorial", 26)])
    assert len(ann.music) == 1
    c = ann.music[0]
    assert c.kind == "note" and c.notes == ["A4"] * 4 and c.midi == [69] * 4 and c.octave_strict


def test_faces_come_from_expected_faces(by_index):
    item = by_index[("ads", 0)]
    assert item.expected_faces is not None
    assert annotate_rules(item).faces == item.expected_faces


def test_no_pitch_content_outside_explicit_notes(suite):
    """Music constraints appear only in the instrument tutorials that name pitches (20–34), never elsewhere."""
    with_music = {(i.category, i.index) for i in suite.items if annotate_rules(i).music}
    assert with_music == {("musical_instrument_tutorial", k) for k in range(20, 35)}


def test_annotate_suite_structure(suite, tmp_path):
    data = annotate_suite(suite)
    assert data["format"] == 1 and data["made_by"] == {"source": "rules", "version": RULES_VERSION}
    assert set(data["items"]) == {item.key for item in suite.items}
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(data))  # JSON-serialisable
    again = json.loads(path.read_text())
    item = suite.items[0]
    assert PromptAnnotation.model_validate(again["items"][item.key]) == annotate_rules(item)
    assert annotate_suite(suite) == data  # deterministic


def test_frozen_annotation_wins(suite):
    item = suite.items[0]
    suite.annotations = {"items": {item.key: {"required_text": ["FROZEN"], "source": "judge"}}}
    try:
        assert annotation_for(suite, item).required_text == ["FROZEN"]
        assert annotation_for(suite, suite.items[1]) == annotate_rules(suite.items[1])
    finally:
        suite.annotations = {}


# ---- a hand-checked sample: expected annotations written from reading each prompt ----
# (category, index): (required on-screen text, speech required, speech lines, music as [(kind, notes)])
HAND_CHECKED = {
    ("ads", 0): (["Book your family home now."], True,
                 ["We went on vacation with a toe dipper.", "and left with a cannonballer."], []),
    ("ads", 1): (["Keep it tea."], True, ["A tasty cup of green tea... Delicious"], []),
    ("ads", 2): (["Want REAL", "the to GO", "the"], True,
                 ["Want real change? Go to the caucus. Vote for our candidate. Feel the burn"], []),
    ("ads", 3): (["POWERFUL PRESENCE"], True, ["Who's your daddy?"], []),
    ("ads", 5): (["THE ORIGINAL GLAZED.", "Made Fresh"], False, [], []),
    ("ads", 8): (["feel the burn"], True, ["I'll make you burn."], []),
    ("ads", 9): ([], False, [], []),
    ("ads", 12): ([], True, [], []),
    ("ads", 13): (["From questions", "to answers", "Try it free"], True, ["From questions... to answers."], []),
    ("ads", 14): (["Your customers are talking", "Are you listening?", "Try it free"], False, [], []),
    ("ads", 16): (["Login", "LCD cleaning solution", "Add to Cart"], False, [], []),
    ("movie_trailer", 0): (["REDLINE PROTOCOL"], True, ["All hands—stay away from Bay Nine.", "It’s still out there."], []),
    ("movie_trailer", 2): (["MIDNIGHT LAUGH TRACK"], True, ["Did you hear them?"], []),
    ("movie_trailer", 10): (["KETTLE BLACK"], True, ["This is where it all went wrong."], []),
    ("movie_trailer", 17): (["SECOND TAKE"], True,
                            ["Action—no, wait, not yet.", "Sorry", "I was misquoted", "Cut!"], []),
    ("news", 1): (["ACCESS DENIED"], True, [], []),
    ("news", 2): (["ZOO UPDATE"], True, [], []),
    ("news", 11): (["SOLD"], True, [], []),
    ("news", 14): ([], True, [], []),
    ("news", 17): ([], True, [], []),
    ("asmr", 0): ([], False, [], []),
    ("asmr", 8): (["Relax"], False, [], []),
    ("physical_experiment", 4): ([], False, [], []),
    ("animals", 14): ([], False, [], []),
    ("gameplays", 11): ([], True, ["Moving!", "On it!"], []),
    ("cooking", 1): ([], True, ["Garlic goes in last—don’t let it burn"], []),
    ("sports", 5): ([], False, [], []),
    ("musical_instrument_tutorial", 2): ([], False, [], []),
    ("musical_instrument_tutorial", 3): ([], False, [], []),
    ("musical_instrument_tutorial", 20): ([], False, [], [("note", ["C4"] * 4)]),
    ("musical_instrument_tutorial", 22): ([], False, [], [("chord", ["C", "E", "G"])]),
    ("musical_instrument_tutorial", 24): ([], False, [], [("sequence", ["E", "A", "D", "G", "B", "E"])]),
    ("musical_instrument_tutorial", 27): ([], False, [], [("chord", ["E", "B"])]),
    ("musical_instrument_tutorial", 29): ([], False, [], [("sequence", ["C", "E", "G"])]),
    ("musical_instrument_tutorial", 31): ([], False, [], [("sequence", ["C4", "E4", "G4", "E4", "C4"])]),
    ("musical_instrument_tutorial", 33): ([], False, [], [("chord", ["C", "E", "G"]), ("chord", ["G", "B", "D"]),
                                                          ("chord", ["A", "C", "E"]), ("chord", ["F", "A", "C"])]),
    ("musical_instrument_tutorial", 34): ([], False, [], [("scale", ["C4", "D4", "E4", "F4", "G4", "A4", "B4", "C5", "D5",
                                                                     "E5", "F5", "G5", "A5", "B5", "C6"])]),
}


def _prf(expected: list[set], found: list[set]) -> tuple[float, float]:
    tp = sum(len(e & f) for e, f in zip(expected, found))
    n_found = sum(len(f) for f in found)
    n_expected = sum(len(e) for e in expected)
    return (tp / n_found if n_found else 1.0), (tp / n_expected if n_expected else 1.0)


def test_hand_checked_sample_precision_and_recall(by_index):
    exp_text, got_text, exp_lines, got_lines = [], [], [], []
    speech_right = music_right = music_total = 0
    for key, (text, speech, lines, music) in HAND_CHECKED.items():
        ann = annotate_rules(by_index[key])
        exp_text.append({normalize_text(t) for t in text})
        got_text.append({normalize_text(t) for t in ann.required_text})
        exp_lines.append({normalize_text(t) for t in lines})
        got_lines.append({normalize_text(t) for t in ann.speech_lines})
        speech_right += ann.speech_required == speech
        if music or ann.music:
            music_total += 1
            music_right += [(c.kind, c.notes) for c in ann.music] == music
    text_p, text_r = _prf(exp_text, got_text)
    line_p, line_r = _prf(exp_lines, got_lines)
    speech_acc = speech_right / len(HAND_CHECKED)
    print(f"required text P={text_p:.2f} R={text_r:.2f}; speech lines P={line_p:.2f} R={line_r:.2f}; "
          f"speech_required acc={speech_acc:.2f}; music {music_right}/{music_total}")
    assert len(HAND_CHECKED) >= 25
    assert text_p >= 0.9 and text_r >= 0.9
    assert line_p >= 0.9 and line_r >= 0.9
    assert speech_acc >= 0.9  # two news reports imply speech without a speech word (known misses)
    assert music_right == music_total


# ---- tricky sentences ----

@pytest.mark.parametrize("prompt, text, lines", [
    ('A neon sign reads "OPEN 24 HOURS" while the clerk says, "We never close."', ["OPEN 24 HOURS"], ["We never close."]),
    ("The crowd chants 'Defense!' as a banner reading 'GO TIGERS' waves.", ["GO TIGERS"], ["Defense!"]),
    ("She whispers 'don't move' and the lower third shows 'LIVE: Harbor Fire'.", ["LIVE: Harbor Fire"], ["don't move"]),
    ("The title card reads 'Who's Next?' in red.", ["Who's Next?"], []),
    ("A spoon hits the glass with a bright 'ting' sound; the kid’s toy rolls away.", [], []),
    ("The lid pops off with a sarcastic ‘ding’ sting as the title NIGHT SHIFT appears. A man walks in.", ["NIGHT SHIFT"], []),
    ("A narrator says, 'Look at the sign,' and a wooden 'EXIT' sign swings.", ["EXIT"], ["Look at the sign"]),
    ("The presenter explains the rules while the scoreboard displays 'HOME 3 AWAY 1'.", ["HOME 3 AWAY 1"], []),
    ("A voiceover states, 'The title is yours,' as gold confetti falls.", [], ["The title is yours"]),
    ("At the crossing the sign says 'STOP' in red, and the guard says, 'Wait here.'", ["STOP"], ["Wait here."]),
])
def test_tricky_quotes(prompt, text, lines):
    ann = annotate_prompt(prompt)
    assert ann.required_text == text
    assert ann.speech_lines == lines
    assert ann.speech_required == (bool(lines) or "explains" in prompt)


@pytest.mark.parametrize("prompt, required, forbidden", [
    ("A quiet forest with no dialogue, only birdsong.", False, True),
    ("A chef works in silence, without any voiceover.", False, True),
    ("An anchor's voice describes the flooding.", True, False),
    ("Crowd murmurs fill the hall as a dog barks.", False, False),
    ("Wolves howl, their voices overlapping.", False, False),
])
def test_speech_requirement(prompt, required, forbidden):
    ann = annotate_prompt(prompt)
    assert (ann.speech_required, ann.speech_forbidden) == (required, forbidden)


def _music(prompt):
    return [(c.kind, c.notes, c.octave_strict) for c in annotate_prompt(prompt).music]


def test_music_patterns():
    assert _music("The guitarist plays A4 four times.") == [("note", ["A4"] * 4, True)]
    assert _music("An arpeggio C4-E4-G4-C5 rings out.") == [("sequence", ["C4", "E4", "G4", "C5"], True)]
    assert _music("A slide from C4—G4 on the violin.") == [("sequence", ["C4", "G4"], True)]
    assert _music("She plays C4 – E4 – G4 twice.") == [("sequence", ["C4", "E4", "G4"] * 2, True)]
    assert _music("A G7 chord rings.") == [("chord", ["G", "B", "D", "F"], False)]
    assert _music("He strums an F# minor chord, then a Bb major chord.") == [
        ("chord", ["F#", "A", "C#"], False), ("chord", ["A#", "D", "F"], False)]
    assert _music("She plays the D minor scale slowly.") == [("scale", ["D", "E", "F", "G", "A", "A#", "C"], False)]
    assert _music("Play middle C three times.") == [("note", ["C4"] * 3, True)]
    c = annotate_prompt("Strings sound E, A, D in turn.").music[0]
    assert c.kind == "sequence" and c.midi == [None] * 3 and not c.octave_strict


@pytest.mark.parametrize("prompt", [
    "A major historical find is announced by the anchor.",
    "Shot 1: A rain-soaked street. Shot 2: A door slams.",
    "Cinematic B-roll of a car, then a 10m platform dive, filmed in 3D.",
    "The violinist bows the A string with a steady tone.",
    "A hand plays a 5-note ascending scale on the piano.",
    "Grade A beef, then E and B-grade cuts.",
])
def test_no_music_without_explicit_pitches(prompt):
    assert annotate_prompt(prompt).music == []


def test_quoted_lines_of_the_real_dev_prompts_are_found_as_speech(realclips_dir):
    """The rules find every line the real clips' manifest lists as expected speech, and nothing else: speaking cues
    before the quote ("begins to speak", "continues", "adds", "stating"), after it ('"...", he explains') and
    prompts exported from CSV (wrapped in quotes, inner quotes doubled)."""
    manifest = json.loads((realclips_dir / "manifest.json").read_text(encoding="utf-8"))
    suite = load_suite(realclips_dir / "suite")
    by_key = {f"{i.category}/{i.stem}": i for i in suite.items}
    for clip in manifest:
        item = by_key[f"{clip['category']}/{clip['content']}"]
        annotation = annotate_rules(item)
        assert annotation.speech_lines == clip["expected_speech"], item.key
        assert annotation.speech_required == bool(clip["expected_speech"]), item.key
