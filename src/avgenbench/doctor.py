"""What a tier needs and whether this machine has it: one checklist for `avgenbench doctor` and eval's preflight.

Each dimension is `ready` (its backend in the tier can run with these options), `missing` (it has a backend that
cannot run: no judge, no model folder, a package not installed; the reason and the fix are given) or `not in tier`
(the tier has no backend for it; its rows are `unavailable_in_tier` and show in coverage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .dimensions import get_backend, get_dimension
from .dimensions.base import Status

JUDGE_FIX = ("pass --judge gemini:MODEL (key in GEMINI_API_KEY) or --judge openai:MODEL (key in OPENAI_API_KEY, "
             "endpoint in OPENAI_BASE_URL or --judge-base-url)")
_FIXES = (  # (words in the reason, fix), first match wins; judge reasons start with 'no judge' / 'judge SPEC'
    ("needs a Whisper model", "run `avgenbench setup paper --dimensions speech` (faster-whisper large-v3 with its VAD "
                              "in its own environment; add --weights DIR on a machine without internet), or pass "
                              "--whisper-model DIR: a local faster-whisper model folder"),
    ("uses InsightFace buffalo_l", "run `avgenbench setup paper --dimensions face` (InsightFace buffalo_l in its own "
                                   "environment; add --weights DIR on a machine without internet), or pip install "
                                   "insightface and pass --face-model DIR: a local pack such as buffalo_l"),
    ("VideoPhy-2", "run `avgenbench setup paper --dimensions lo_phy` (add --weights DIR on a machine without internet), "
                   "or pass --lo-phy judge together with --judge (a judge-based 1–5 rating, labelled as not VideoPhy-2)"),
    ("avgenbench setup paper", "run the command the reason names (add --weights DIR on a machine without internet)"),
    ("no judge", JUDGE_FIX),
    ("judge ", "check the --judge spec and its API key (README: The MLLM judge)"),
    ("Whisper", "pass --whisper-model DIR: a local faster-whisper model folder (e.g. faster-whisper-large-v3)"),
    ("--whisper-model", "point --whisper-model at a faster-whisper model folder (model.bin, config.json, tokenizer)"),
    ("InsightFace", "pip install insightface, and pass --face-model DIR: a local InsightFace pack such as buffalo_l"),
    ("--face-model", "pass --face-model DIR: a local InsightFace pack such as buffalo_l (det_*.onnx + a recognition .onnx)"),
    ("Basic Pitch", "pip install --no-deps basic-pitch==0.4.0 (the README's first command does)"),
    ("face model", "pip install face_recognition_models dlib-bin (installed with avgenbench)"),
    ("dlib", "pip install dlib-bin (installed with avgenbench)"),
)
DEFAULT_FIX = "install what the reason names; the README's first command installs everything the lite tier needs"


@dataclass
class Check:
    dimension: str
    backend: str | None  # None: the tier has no backend for this dimension
    reason: str = ""  # why it cannot run ('' when ready)
    fix: str = ""

    @property
    def state(self) -> str:
        return "not in tier" if self.backend is None else ("missing" if self.reason else "ready")

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def as_dict(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "display": get_dimension(self.dimension).display, "backend": self.backend,
                "state": self.state, "reason": self.reason, "fix": self.fix}


@dataclass
class Checklist:
    tier: str
    checks: list[Check]
    judge: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def runnable(self) -> list[Check]:
        return [c for c in self.checks if c.ready]

    def blocking(self, explicit: bool = False) -> list[Check]:
        """Dimensions that cannot run. With the default dimension list a dimension the tier has no backend for is
        not blocking (the tier never measures it, as documented); named explicitly (`explicit`), it is."""
        return [c for c in self.checks if c.state == "missing" or (explicit and c.state == "not in tier")]

    def text(self) -> str:
        ready = len(self.runnable)
        lines = [f"{self.tier} tier: {ready} of {len(self.checks)} dimensions ready"]
        width = max(len(get_dimension(c.dimension).display) for c in self.checks) if self.checks else 0
        for c in self.checks:
            label = f"  {c.state:<11} {get_dimension(c.dimension).display:<{width}}"
            lines.append(f"{label}  {c.backend or ''}".rstrip())
            if c.reason:
                lines.append(f"      why: {c.reason}")
            if c.fix:
                lines.append(f"      fix: {c.fix}")
        lines.append(f"  judge: {self.judge.get('text', '')}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "ready": [c.dimension for c in self.runnable],
                "missing": [c.dimension for c in self.checks if c.state == "missing"],
                "not_in_tier": [c.dimension for c in self.checks if c.state == "not in tier"],
                "dimensions": [c.as_dict() for c in self.checks], "judge": self.judge, "notes": self.notes}


def fix_for(dim_id: str, tier: str, reason: str | None) -> str:
    if reason is None:  # no backend in the tier
        return ("only the paper tier measures it (--tier paper with --judge)" if tier == "lite" else
                "this version has no paper-tier model for it; the lite tier has a CPU proxy (--tier lite)")
    judge_reason = reason.startswith(("no judge", "judge "))
    return next((fix for words, fix in _FIXES if (reason.startswith(words) if "judge" in words else words in reason)
                 and (judge_reason or "judge" not in words)), DEFAULT_FIX)


def check_dimension(dim_id: str, tier: str, options: Mapping[str, Any]) -> Check:
    backend = get_backend(dim_id, tier)
    if backend is None:
        return Check(dim_id, None, f"{get_dimension(dim_id).display} has no {tier}-tier backend", fix_for(dim_id, tier, None))
    try:
        reason = backend.unavailable_reason(options)
    except Exception as exc:  # a broken install: say so rather than crash the checklist
        reason = f"{type(exc).__name__}: {exc}"
    try:
        name = backend.identity(options)[0]
    except Exception:  # the reason above already says what is wrong
        name = backend.name
    return Check(dim_id, name, reason or "", fix_for(dim_id, tier, reason) if reason else "")


def judge_state(tier: str, options: Mapping[str, Any]) -> dict[str, Any]:
    spec = options.get("judge")
    if tier != "paper":
        return {"configured": bool(spec), "ready": False, "text": "not used in the lite tier"}
    if not spec:
        return {"configured": False, "ready": False, "text": f"none configured; {JUDGE_FIX}"}
    from .judge.client import judge_unavailable_reason

    reason = judge_unavailable_reason(options)
    return {"configured": True, "ready": reason is None, "spec": spec, "reason": reason,
            "text": f"{spec} ready" if reason is None else reason}


def check(tier: str, dims: list[str], options: Mapping[str, Any]) -> Checklist:
    """The checklist of `dims` in `tier` with these run options (judge, model folders, ...)."""
    notes = []
    if tier == "lite" and options.get("judge"):
        notes.append("--judge is ignored in the lite tier: no lite dimension uses a judge")
    return Checklist(tier, [check_dimension(d, tier, options) for d in dims], judge_state(tier, options), notes)


def tool_errors(rows, dims: list[str], examples: int = 3) -> dict[str, dict[str, Any]]:
    """Per dimension of `dims`: how many rows ended in a tool `error`, and the first distinct messages."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.status != Status.ERROR or row.dimension not in dims:
            continue
        entry = found.setdefault(row.dimension, {"count": 0, "messages": []})
        entry["count"] += 1
        if len(entry["messages"]) < examples and row.message not in entry["messages"]:
            entry["messages"].append(row.message)
    return found
