"""The per-prompt annotation schema: what each dimension checks for a prompt (see rules.py and judged.py for the two
annotators that fill it, frozen.py for reading a suite's frozen file)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..suite import FaceRange

RULES_VERSION = "rules-4"  # the rule annotator's (rules.py); rules-2: face counts from the wording; rules-3: more speaking
# cues, CSV-escaped prompts; rules-4: a note's octave is its letter's (B#3 is C4, Cb4 is B3; music_theory)


class MusicConstraint(BaseModel):
    """An explicit pitch requirement of the prompt.

    `notes` are names as written with octaves when given ("A4", "C4"), else pitch classes ("C", "F#"); repeats are
    spelled out ("A4 four times" -> four "A4"). `midi` holds the MIDI number per note when the octave is known, else
    None. kind "note": one pitch (maybe repeated); "sequence": notes in this order; "chord": the pitch-class set
    sounding together (any voicing or inversion); "scale": the scale's notes in ascending order.
    `octave_strict` is True only when every note carries an octave in the prompt.
    """

    kind: Literal["note", "sequence", "chord", "scale"]
    notes: list[str]
    midi: list[int | None] = Field(default_factory=list)
    octave_strict: bool = False
    source_text: str = ""
    label: str = ""  # e.g. "C major" for named chords and scales


class PromptAnnotation(BaseModel):
    required_text: list[str] = Field(default_factory=list)
    speech_required: bool = False
    speech_lines: list[str] = Field(default_factory=list)
    speech_forbidden: bool = False
    music: list[MusicConstraint] = Field(default_factory=list)
    faces: FaceRange | None = None
    # Where `faces` came from: "suite" (its expected_faces file), "rules" (the wording), "judge", or
    # "annotations:<that>" when read back from a frozen annotations file; None without a count.
    expected_faces_source: str | None = None
    source: str = "rules"
    version: str = RULES_VERSION
    # Judge-stage annotations (Hi-Phy expectations, Holistic requirements, ...), keyed by stage id.
    judge: dict[str, Any] = Field(default_factory=dict)
