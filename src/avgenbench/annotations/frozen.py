"""Frozen annotations: a suite's SUITE_DIR/annotations.json read back and checked against the suite."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..suite import PromptItem, Suite, SuiteProblem
from .rules import annotate_rules
from .schema import PromptAnnotation


def annotation_for(suite: Suite, item: PromptItem) -> PromptAnnotation:
    """The frozen annotation when the suite has one, else the rule-based one."""
    frozen = suite.annotation(item)
    if frozen is not None:
        annotation = PromptAnnotation.model_validate(frozen)
        if annotation.faces is not None:
            origin = annotation.expected_faces_source or "unknown"
            annotation.expected_faces_source = origin if origin.startswith("annotations") else f"annotations:{origin}"
        return annotation
    return annotate_rules(item)


def frozen_annotation_problems(data: Any, suite: Suite, source: str) -> list[SuiteProblem]:
    """Problems of an annotations file against its suite: bad structure, items that fail the schema, unknown keys."""
    if not isinstance(data, dict) or not isinstance(data.get("items", {}), dict):
        return [SuiteProblem(source, None, None, "must be an object with an 'items' object keyed by '<category>/<file stem>'")]
    known = {item.key for item in suite.items}
    problems = []
    for key, value in data.get("items", {}).items():
        if key not in known:
            problems.append(SuiteProblem(source, None, f"items['{key}']", "matches no prompt of the suite"))
            continue
        try:
            PromptAnnotation.model_validate(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = f"items['{key}']." + ".".join(map(str, first["loc"]))
            problems.append(SuiteProblem(source, None, field, first["msg"]))
    return problems
