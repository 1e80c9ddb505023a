"""Per-prompt annotations: what each dimension checks for a prompt, derived once and frozen.

schema.py: the annotation model. rules.py: the rule annotator (lite, deterministic). judged.py: the judge annotator
(paper tier; imported on demand, it loads the judge). frozen.py: a suite's frozen annotations.json read and checked.
"""

from .frozen import annotation_for, frozen_annotation_problems
from .rules import annotate_prompt, annotate_rules, annotate_suite, faces_from_wording, voiceover_cue
from .schema import RULES_VERSION, MusicConstraint, PromptAnnotation

__all__ = ["RULES_VERSION", "MusicConstraint", "PromptAnnotation", "annotate_prompt", "annotate_rules",
           "annotate_suite", "annotation_for", "faces_from_wording", "frozen_annotation_problems", "voiceover_cue"]
