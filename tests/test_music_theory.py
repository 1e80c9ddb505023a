"""One reading of note names: the synthetic generator, the rule annotator, the judge annotator and Music agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from avgenbench.annotations import annotate_prompt
from avgenbench.dimensions.music import targets_of
from avgenbench.annotations.judged import note_midi
from avgenbench.music_theory import (NoteName, midi_or_none, midi_to_name, note_to_midi, parse_note, pitch_class,
                                     spelled_midi)
from avgenbench.synthetic import sound

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.mark.parametrize("name, midi", [
    ("C4", 60), ("A4", 69), ("C#5", 73), ("Bb3", 58), ("C-1", 0), ("G9", 127), ("a4", 69), ("bb3", 58),
    ("F♯3", 54), ("E♭4", 63), (" D4 ", 62),
    # the octave is the letter's: an accidental may cross the octave line
    ("B#3", 60), ("Cb4", 59), ("E#4", 65), ("Fb4", 64), ("B#-1", 12), ("Cb0", 11),
    # double accidentals
    ("C##4", 62), ("Cx4", 62), ("C𝄪4", 62), ("Dbb4", 60), ("D𝄫4", 60), ("D♭♭4", 60), ("B##3", 61), ("Cbb4", 58),
])
def test_note_to_midi(name, midi):
    assert note_to_midi(name) == midi
    assert midi_or_none(name) == midi
    assert pitch_class(name) == midi % 12


def test_enharmonic_spellings_meet():
    assert {note_to_midi(n) for n in ("B#3", "C4", "Dbb4")} == {60}
    assert {note_to_midi(n) for n in ("Cb4", "B3", "A##3")} == {59}
    assert pitch_class("B#") == pitch_class("C") == 0 and pitch_class("Cb") == pitch_class("B") == 11


@pytest.mark.parametrize("bad", ["H2", "C", "Bb", "C10", "C-2", "G#9", "Cb-1", "C###4", "Cbbb4", "", "A 4", "4"])
def test_unreadable_or_octaveless_names(bad):
    with pytest.raises(ValueError):
        note_to_midi(bad)
    assert midi_or_none(bad) is None


def test_parse_keeps_spelling_and_pitch_class_without_octave():
    assert parse_note("f#") == NoteName("F", "#", None)
    assert parse_note("Cb") == NoteName("C", "b", None) and parse_note("Cb").pitch_class == 11
    assert parse_note("Cb4").midi == 59
    with pytest.raises(ValueError, match="not a note name"):
        pitch_class("Z")
    with pytest.raises(ValueError, match="MIDI range"):
        spelled_midi("G", "#", 9)


def test_names_round_trip_with_sharps():
    for midi in range(128):
        assert note_to_midi(midi_to_name(midi)) == midi
    assert midi_to_name(60) == "C4" and midi_to_name(61) == "C#4" and midi_to_name(0) == "C-1"


def test_old_parsers_agree_where_they_were_right():
    """The three old parsers read a plain or single-accidental note inside its octave the same way; that reading stays."""
    letters = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
    for letter, pc in letters.items():
        for acc, shift in (("", 0), ("#", 1), ("b", -1)):
            for octave in range(0, 9):
                midi = 12 * (octave + 1) + pc + shift
                name = f"{letter}{acc}{octave}"
                assert note_to_midi(name) == note_midi(name) == sound.note_to_midi(name) == midi


def test_rule_annotator_reads_octaves_by_letter():
    """The rule annotator read 'B#3' as C3 (48) and 'Cb4' as B4 (71) while the generator read C4 and B3."""
    ann = annotate_prompt("A pianist plays the notes B#3, Cb4 and A4 slowly.")
    assert [(c.notes, c.midi) for c in ann.music] == [(["B#3", "Cb4", "A4"], [60, 59, 69])]
    assert ann.version == "rules-4"
    targets = targets_of(ann.music[0])
    assert [(t.pc, t.midi) for t in targets] == [(0, 60), (11, 59), (9, 69)]


def test_judge_annotator_and_music_read_the_same_notes():
    assert note_midi("B#3") == 60 and note_midi("Cb4") == 59 and note_midi("C") is None and note_midi("H2") is None
    from avgenbench.annotations import MusicConstraint
    loose = MusicConstraint(kind="sequence", notes=["B#3", "Cb", "E#"], midi=[], octave_strict=False)
    assert [(t.pc, t.midi) for t in targets_of(loose)] == [(0, None), (11, None), (5, None)]


def test_music_dimension_does_not_import_synthetic():
    script = ("import sys, json\nimport avgenbench.dimensions.music\n"
              "print(json.dumps(sorted(m for m in sys.modules if m.startswith('avgenbench.synthetic'))))")
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
