"""Per-prompt annotations: what each dimension checks for a prompt, derived once and frozen.

The schema is shared by the rule-based annotator (lite, deterministic) and the judge annotator (paper tier). A suite may
carry them frozen in SUITE_DIR/annotations.json; eval uses those and derives rule-based ones only for prompts without.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .suite import FaceRange, PromptItem, Suite

RULES_VERSION = "rules-0"


class MusicConstraint(BaseModel):
    """An explicit pitch requirement of the prompt.

    `notes` are names as written with octaves when given ("A4", "C4"), else pitch classes ("C", "F#").
    `midi` holds the MIDI number per note when the octave is known, else None.
    """

    kind: Literal["note", "sequence", "chord", "scale"]
    notes: list[str]
    midi: list[int | None] = Field(default_factory=list)
    octave_strict: bool = False
    source_text: str = ""


class PromptAnnotation(BaseModel):
    required_text: list[str] = Field(default_factory=list)
    speech_required: bool = False
    speech_lines: list[str] = Field(default_factory=list)
    music: list[MusicConstraint] = Field(default_factory=list)
    faces: FaceRange | None = None
    source: str = "rules"
    version: str = RULES_VERSION
    # Judge-stage annotations (Hi-Phy expectations, Holistic requirements, ...), keyed by stage id.
    judge: dict[str, Any] = Field(default_factory=dict)


def annotate_rules(item: PromptItem) -> PromptAnnotation:
    """Deterministic annotation of one prompt from its text and the suite's expected-faces labels."""
    return PromptAnnotation(faces=item.expected_faces)


def annotation_for(suite: Suite, item: PromptItem) -> PromptAnnotation:
    """The frozen annotation when the suite has one, else the rule-based one."""
    frozen = suite.annotation(item)
    if frozen is not None:
        return PromptAnnotation.model_validate(frozen)
    return annotate_rules(item)
