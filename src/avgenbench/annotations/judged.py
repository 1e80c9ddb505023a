"""The judge annotator: run every text-only stage once per prompt and write SUITE_DIR/annotations.json.

Without a judge the rule-based annotator writes them. With a judge: required text, speech, music constraints and
face counts (prompt.requirements), Hi-Phy expectations and the Holistic checklist, each tagged with the judge and
the template versions that made it. Every later eval of every model reads the same file.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable

from .. import control_rules
from ..judge.client import JudgeClient
from ..judge.templates import load, request
from ..judge.types import BudgetExhausted, JudgeError
from ..music_theory import midi_or_none as note_midi  # 'A4' -> 69; None without octave or unreadable
from ..suite import ANNOTATIONS_FILE, FaceRange, PromptItem, Suite
from .rules import annotate_rules
from .schema import RULES_VERSION, MusicConstraint, PromptAnnotation

FORMAT = 1
JUDGE_TEMPLATES = ("prompt.requirements", "hi_phy.expectations", "holistic.requirements")


# ---------------------------------------------------------------------------------------

def prompt_requirements(client: JudgeClient, item: PromptItem) -> dict[str, Any]:
    """The text-only stage prompt.requirements: required text, speech, music constraints and face counts."""
    return client.ask(request("prompt.requirements", prompt=item.prompt)).data


def music_constraints(requirements: dict[str, Any]) -> list[MusicConstraint]:
    return [MusicConstraint(kind=c["kind"], notes=c["notes"], midi=[note_midi(n) for n in c["notes"]],
                            octave_strict=bool(c["octave_strict"]), source_text=c.get("source_text", ""))
            for c in requirements["music"]]


def judge_made(annotation: PromptAnnotation) -> bool:
    return str(getattr(annotation, "source", "")).startswith("judge:")


def judge_annotation(client: JudgeClient, item: PromptItem) -> PromptAnnotation:
    from ..dimensions import hi_phy, holistic  # their own text-only stages; imported here, not at load

    base = annotate_rules(item)
    req = prompt_requirements(client, item)
    music = music_constraints(req)
    # The suite's labels win; the judge fills only where the suite has none, the wording's count where it gives none.
    faces, faces_source = item.expected_faces, "suite"
    if faces is None and req["faces"]["max_ids"] >= req["faces"]["min_ids"]:
        faces, faces_source = FaceRange(min_ids=req["faces"]["min_ids"], max_ids=req["faces"]["max_ids"]), "judge"
    if faces is None:
        faces, faces_source = base.faces, base.expected_faces_source
    judge = dict(base.judge)
    judge["hi_phy"] = hi_phy.expectations(client, item)
    judge["holistic"] = holistic.requirements(client, item)
    judge["requirements"] = {"template": load("prompt.requirements").tag, "judge": client.label,
                             "faces_from": faces_source}
    return PromptAnnotation(required_text=req["required_text"], speech_required=bool(req["speech_required"]),
                            speech_lines=req["speech_lines"], music=music, faces=faces,
                            expected_faces_source=faces_source,
                            source=f"judge:{client.label}", version=templates_version(), judge=judge)


def templates_version() -> str:
    return ",".join(load(t).tag for t in JUDGE_TEMPLATES)


def annotate(suite: Suite, client: JudgeClient | None,
             on_item: Callable[[PromptItem, str], None] | None = None) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The annotations document and the prompts that failed (left out, so eval falls back for them)."""
    def one(item: PromptItem) -> tuple[PromptItem, dict[str, Any] | None, str, str]:
        try:
            ann = judge_annotation(client, item) if client else annotate_rules(item)
            ann.judge.setdefault("ctrl", control_rules.frozen(item.prompt))  # Control's instructions, by the rules
            return item, ann.model_dump(mode="json"), "ok", ""
        except BudgetExhausted as exc:
            return item, None, "budget", str(exc)
        except JudgeError as exc:
            return item, None, "error", str(exc)

    done: dict[str, dict[str, Any]] = {}
    failures: list[dict[str, str]] = []
    workers = client.settings.concurrency if client else 1
    with ThreadPoolExecutor(max(1, workers)) as pool:  # prompts in parallel, bounded like every judge call
        for future in as_completed([pool.submit(one, item) for item in suite.items]):
            item, ann, status, message = future.result()
            if ann is not None:
                done[item.key] = ann
            else:
                failures.append({"key": item.key, "message": message})
            if on_item:
                on_item(item, status)
    items = {item.key: done[item.key] for item in suite.items if item.key in done}  # suite order
    failures.sort(key=lambda f: f["key"])
    made_by = {"judge": client.label if client else None, "rules_version": RULES_VERSION,
               "templates": {t: load(t).version for t in JUDGE_TEMPLATES} if client else {},
               "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    return {"format": FORMAT, "made_by": made_by, "items": items}, failures


def write_annotations(doc: dict[str, Any], suite_root: Path, out: Path | None = None) -> Path:
    path = Path(out) if out else Path(suite_root) / ANNOTATIONS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
