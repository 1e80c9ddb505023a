"""What the judge-based backends share: one configurable paper-tier `JudgedBackend`, the video as the judge is sent it,
repeats, and frozen-or-ask for annotation stages. Each dimension's own stages (the prompts it sends, how the answers
are parsed and reduced to a score) live in its module; the judge engine (clients, cache, templates) in `judge/`.

A dimension builds its backend as `JudgedBackend(name, version, run, templates, ...)`, where
`run(client, clip, ctx, repeats)` returns a `JudgeOutcome` (the raw score, the judge calls it took and how many came
from the cache, evidence, a message; `repeated` builds one from a stage's answers, reducing K repeats with a named
reducer), a stage's answer dict with the same keys, or a `Measurement` decided on the way (not applicable, no face, ...).
"""

from __future__ import annotations

import io
import statistics
import wave
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..judge.client import JudgeClient, client_from_options, judge_unavailable_reason
from ..judge.spec import answer_identity
from ..judge.types import AudioPart, BudgetExhausted, FramesPart, JudgeError, Part, VideoPart
from ..media import Clip, FrameSpec, MediaNeeds
from .base import Backend, ItemContext, Measurement, Status

JUDGE_FRAMES = FrameSpec(fps=2, max_side=512, gray=False)
JUDGE_AUDIO_RATE = 16000
VIDEO_NEEDS = MediaNeeds(frames=(JUDGE_FRAMES,))
AV_NEEDS = MediaNeeds(frames=(JUDGE_FRAMES,), audio_rates=(JUDGE_AUDIO_RATE,), needs_audio=True)

REDUCERS: dict[str, Callable[[list[float]], float]] = {"mean": statistics.fmean, "median": statistics.median}
DEFAULT_REDUCER = "mean"  # the reference averages repeated judge scores


@dataclass(frozen=True)
class Repeats:
    """How often to ask the judge per video (`--judge-repeats`) and how K scores become one (`--judge-reduce`)."""

    k: int = 1
    reducer: str = DEFAULT_REDUCER

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "Repeats":
        reducer = str(options.get("judge_reduce") or DEFAULT_REDUCER)
        if reducer not in REDUCERS:
            raise ValueError(f"unknown judge reducer {reducer!r}; known: {', '.join(REDUCERS)}")
        return cls(max(1, int(options.get("judge_repeats") or 1)), reducer)


@dataclass
class JudgeOutcome:
    """What a judged measurement ends with before it becomes a Measurement."""

    score: float
    calls: int = 0
    cached: int = 0
    evidence: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> "JudgeOutcome":
        """From a stage's answer dict: "score", "calls", "cached", "message"; every other key is evidence."""
        rest = {k: v for k, v in answer.items() if k not in ("score", "calls", "cached", "message")}
        return cls(float(answer["score"]), int(answer.get("calls", 0)), int(answer.get("cached", 0)), rest,
                   str(answer.get("message", "")))


Run = Callable[[Any, Clip, ItemContext, Repeats], "JudgeOutcome | dict[str, Any] | Measurement"]


class JudgedBackend(Backend):
    """A paper-tier backend that asks the judge, configured per dimension:

    - `run(client, clip, ctx, repeats)`: the dimension's stages (see the module docstring);
    - `judge_optional`: run with client None when no judge is configured (Speech verbatim, Face with suite counts);
    - `tool_problem(options)`: why a tool besides the judge cannot run (a missing model), checked before the judge;
    - `identity_suffix(options)`: what else in the options changes the measurement (a model, an OCR detector);
    - `applies(ctx)`: the decision from the prompt alone, taken by the runner before any decoding;
    - `needs`: media other than the dimension's declared needs (None: the dimension's).
    """

    tier = "paper"

    def __init__(self, name: str, version: str, run: Run, templates: tuple[str, ...] = (), *,
                 judge_optional: bool = False, tool_problem: Callable[[Mapping[str, Any]], str | None] | None = None,
                 identity_suffix: Callable[[Mapping[str, Any]], str] | None = None,
                 applies: Callable[[ItemContext], Measurement | None] | None = None,
                 needs: MediaNeeds | None = None) -> None:
        self.name, self.version, self.run, self.templates = name, version, run, tuple(templates)
        self.judge_optional = judge_optional
        self._tool_problem, self._identity_suffix, self._applies, self._needs = tool_problem, identity_suffix, applies, needs

    def needs(self) -> MediaNeeds | None:
        return self._needs

    def applies(self, ctx: ItemContext) -> Measurement | None:
        return self._applies(ctx) if self._applies else None

    def identity(self, options: Mapping[str, Any]) -> tuple[str, str]:
        # Rows made with another judge (model or answer-changing setting), or from K > 1 repeats reduced another way,
        # are redone, never mixed with this judge's; a new timeout or retry count keeps them.
        judge = options.get("judge")
        version = f"{self.version}+{answer_identity(judge) if judge else 'no-judge'}"
        repeats = Repeats.from_options(options)
        if repeats.k > 1:
            version += f"+{repeats.k}x{repeats.reducer}"
        if self._identity_suffix:
            version += f"+{self._identity_suffix(options)}"
        return self.name, version

    def unavailable_reason(self, options: Mapping[str, Any]) -> str | None:
        problem = self._tool_problem(options) if self._tool_problem else None
        return problem or (optional_judge_reason(options) if self.judge_optional else judge_unavailable_reason(options))

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        client = ctx.judge if ctx.judge is not None else client_from_options(ctx.options)
        if client is None and not self.judge_optional:
            return Measurement(Status.NO_JUDGE, message="no judge configured")
        try:
            result = self.run(client, clip, ctx, Repeats.from_options(ctx.options))
        except BudgetExhausted as exc:
            return Measurement(Status.ERROR, message=str(exc), evidence={"judge": _label(client), "budget_stop": True})
        except JudgeError as exc:
            return Measurement(Status.ERROR, message=f"judge failed: {exc}", evidence={"judge": _label(client)})
        if isinstance(result, Measurement):
            return result
        outcome = result if isinstance(result, JudgeOutcome) else JudgeOutcome.from_answer(result)
        evidence = {**outcome.evidence, "calls": outcome.calls, "cached": outcome.cached, "judge": _label(client)}
        return Measurement(Status.OK, outcome.score, evidence, outcome.message)


def _label(client) -> str | None:
    return client.label if client is not None else None


def optional_judge_reason(options: Mapping[str, Any]) -> str | None:
    """For backends that can run without a judge: a reason only when a judge was asked for and cannot be built."""
    if not options.get("judge"):
        return None
    return judge_unavailable_reason(options)


def media_parts(client: JudgeClient, clip: Clip, with_audio: bool) -> list[Part]:
    """The video as the backend wants it: the file (content-hashed), or N frames plus a WAV of the audio."""
    backend = client.backend
    if not backend.wants_frames:
        return [VideoPart(str(clip.path), clip.sha256)]
    frames = clip.frames_for(JUDGE_FRAMES)
    count = max(1, int(backend.spec.number("frames") or 12))
    picks = np.unique(np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int))
    side = int(backend.spec.number("frame_side") or 512)
    parts: list[Part] = [FramesPart(tuple(_jpeg(frames.images[i], side) for i in picks),
                                    tuple(round(float(frames.times[i]), 2) for i in picks))]
    if with_audio and backend.wants_audio and clip.has_audio:
        parts.append(AudioPart(_wav(clip.audio_at(JUDGE_AUDIO_RATE), JUDGE_AUDIO_RATE)))
    return parts


def _jpeg(image: np.ndarray, side: int) -> bytes:
    from PIL import Image

    img = Image.fromarray(image)
    img.thumbnail((side, side))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def _wav(audio: np.ndarray, rate: int) -> bytes:
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()


def frozen_or_ask(annotation_judge: dict[str, Any], stage: str, ask: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """The frozen stage output when the annotation has it, else a fresh one (cached by the client)."""
    if isinstance(annotation_judge.get(stage), dict):
        return annotation_judge[stage], True
    return ask(), False


def repeated(run_once: Callable[[int], Mapping[str, Any]], repeats: Repeats | int) -> JudgeOutcome:
    """Run a stage K times (the first from the cache when possible) and reduce the scores with the named reducer; the
    evidence is the first answer's, with the K scores, their spread and the reducer."""
    repeats = repeats if isinstance(repeats, Repeats) else Repeats(max(1, repeats))
    outcomes = [JudgeOutcome.from_answer(run_once(k)) for k in range(repeats.k)]
    first = outcomes[0]
    result = JudgeOutcome(first.score, sum(o.calls for o in outcomes), sum(o.cached for o in outcomes),
                          dict(first.evidence), first.message)
    if len(outcomes) > 1:
        scores = [o.score for o in outcomes]
        result.score = REDUCERS[repeats.reducer](scores)
        result.evidence["judge_repeats"] = {"k": len(scores), "scores": [round(s, 2) for s in scores],
                                            "std": round(statistics.pstdev(scores), 3), "reducer": repeats.reducer}
    return result


def floor0(value: float) -> float:
    """A deduction total floored at 0."""
    return max(0.0, float(value))
