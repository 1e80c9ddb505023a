"""Note names, pitch classes and MIDI numbers: the one reading of a note name for the whole package.

Scientific pitch notation: C4 is MIDI 60 and A4 (440 Hz) is MIDI 69. The octave number belongs to the letter, so an
accidental may cross the octave line: B#3 sounds as C4 (60) and Cb4 as B3 (59); E#4 is F4 and Fb4 is E4. Accidentals:
# or ♯ (sharp), b or ♭ (flat), ## or x or 𝄪 (double sharp), bb or ♭♭ or 𝄫 (double flat). Octaves run from -1 to 9 and a
note must land on MIDI 0–127. Names are spelled back with sharps (C#, not Db).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LETTER_PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
ACCIDENTAL_SHIFTS = {"": 0, "#": 1, "♯": 1, "b": -1, "♭": -1,
                     "##": 2, "x": 2, "𝄪": 2, "♯♯": 2, "bb": -2, "♭♭": -2, "𝄫": -2}
PC_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")  # pitch class -> name, sharp spelling
_ACCIDENTAL = "|".join(sorted((re.escape(a) for a in ACCIDENTAL_SHIFTS if a), key=len, reverse=True))
_NOTE = re.compile(rf"^([A-Ga-g])({_ACCIDENTAL})?(-1|\d)?$")


@dataclass(frozen=True)
class NoteName:
    """A parsed note name: its letter (upper case), accidental as written ('' for none) and octave (None if unnamed)."""

    letter: str
    accidental: str = ""
    octave: int | None = None

    @property
    def pitch_class(self) -> int:
        return spelled_pitch_class(self.letter, self.accidental)

    @property
    def midi(self) -> int | None:
        return None if self.octave is None else spelled_midi(self.letter, self.accidental, self.octave)


def spelled_pitch_class(letter: str, accidental: str | None = "") -> int:
    """('F', '#') -> 6, ('C', 'b') -> 11."""
    return (LETTER_PITCH_CLASSES[letter.upper()] + ACCIDENTAL_SHIFTS[accidental or ""]) % 12


def spelled_midi(letter: str, accidental: str | None, octave: int) -> int:
    """('B', '#', 3) -> 60 (C4), ('C', 'b', 4) -> 59 (B3): the octave is the letter's, the accidental shifts from it."""
    midi = 12 * (octave + 1) + LETTER_PITCH_CLASSES[letter.upper()] + ACCIDENTAL_SHIFTS[accidental or ""]
    if not 0 <= midi <= 127:
        raise ValueError(f"{letter}{accidental or ''}{octave} is outside the MIDI range 0–127")
    return midi


def parse_note(name: str) -> NoteName:
    """'C#4' -> NoteName('C', '#', 4); 'bb' -> NoteName('B', 'b', None). Raises ValueError for anything else."""
    match = _NOTE.match(name.strip()) if isinstance(name, str) else None
    if not match:
        raise ValueError(f"not a note name: {name!r}")
    letter, accidental, octave = match.groups()
    note = NoteName(letter.upper(), accidental or "", None if octave is None else int(octave))
    note.midi  # noqa: B018 - raises for a note outside the MIDI range
    return note


def note_to_midi(name: str) -> int:
    """'A4' -> 69, 'C#5' -> 73, 'Bb3' -> 58, 'B#3' -> 60. A name without octave raises ValueError."""
    midi = parse_note(name).midi
    if midi is None:
        raise ValueError(f"not a note name with octave: {name!r}")
    return midi


def midi_or_none(name: str) -> int | None:
    """note_to_midi, or None for a pitch class without octave or an unreadable name."""
    try:
        return parse_note(name).midi
    except ValueError:
        return None


def pitch_class(name: str) -> int:
    """'F#' or 'F#3' -> 6; 'B#3' -> 0."""
    return parse_note(name).pitch_class


def midi_to_name(midi: int) -> str:
    """60 -> 'C4', 61 -> 'C#4'."""
    return f"{PC_NAMES[midi % 12]}{midi // 12 - 1}"


def midi_to_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)
