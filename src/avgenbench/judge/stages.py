"""Judge stages: build a request from a template, ask the client, compute the score in code.

Text-only stages (expectations, checklists, prompt requirements) read the frozen annotation first and ask the judge
only when the suite has none. Video stages send the whole file, or sampled frames and audio where the backend
wants them.
"""

from __future__ import annotations

import io
import json
import statistics
import wave
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np

from ..media import Clip, FrameSpec, MediaNeeds
from ..suite import PromptItem
from . import scoring
from .client import JudgeClient
from .templates import load
from .types import AudioPart, FramesPart, JudgeRequest, Part, TextPart, VideoPart

JUDGE_FRAMES = FrameSpec(fps=2, max_side=512, gray=False)
JUDGE_AUDIO_RATE = 16000
VIDEO_NEEDS = MediaNeeds(frames=(JUDGE_FRAMES,))
AV_NEEDS = MediaNeeds(frames=(JUDGE_FRAMES,), audio_rates=(JUDGE_AUDIO_RATE,), needs_audio=True)


def request(template_id: str, parts: list[Part] | None = None, repeat: int = 0,
            required_ids: dict[str, list[str]] | None = None, **values: Any) -> JudgeRequest:
    tpl = load(template_id)
    return JudgeRequest(tpl.id, tpl.version, tpl.system, [TextPart(tpl.render(**values))] + list(parts or []),
                        tpl.schema, temperature=0.0, repeat=repeat, required_ids=required_ids or {})


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


# text-only stages (frozen by `avgenbench annotate`) ---------------------------

def hi_phy_expectations(client: JudgeClient, item: PromptItem) -> dict[str, Any]:
    answer = client.ask(request("hi_phy.expectations", prompt=item.prompt))
    return {"expectations": answer.data["expectations"], "template": load("hi_phy.expectations").tag, "judge": client.label}


def holistic_requirements(client: JudgeClient, item: PromptItem) -> dict[str, Any]:
    answer = client.ask(request("holistic.requirements", prompt=item.prompt))
    lists = {k: answer.data.get(k, []) for k in scoring.HOLISTIC_LISTS}
    return {"requirements": lists, "template": load("holistic.requirements").tag, "judge": client.label}


def prompt_requirements(client: JudgeClient, item: PromptItem) -> dict[str, Any]:
    return client.ask(request("prompt.requirements", prompt=item.prompt)).data


def frozen_or_ask(annotation_judge: dict[str, Any], stage: str, ask: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """The frozen stage output when the annotation has it, else a fresh one (cached by the client)."""
    if isinstance(annotation_judge.get(stage), dict):
        return annotation_judge[stage], True
    return ask(), False


# video stages -------------------------------------------------------------------

def hi_phy_once(client: JudgeClient, clip: Clip, item: PromptItem, expectations: list[dict[str, Any]],
                repeat: int = 0) -> dict[str, Any]:
    video = media_parts(client, clip, with_audio=False)
    semantic_request = request("hi_phy.semantic", video, repeat, {"checks": [e["id"] for e in expectations]},
                               prompt=item.prompt, expectations=json.dumps(expectations, ensure_ascii=False))
    # the two questions are independent: ask them side by side (the client bounds concurrency per backend)
    with ThreadPoolExecutor(2) as pool:
        sem_future = pool.submit(client.ask, semantic_request)
        vis_future = pool.submit(client.ask, request("hi_phy.visual", video, repeat))
        sem, vis = sem_future.result(), vis_future.result()
    semantic, deductions = scoring.hi_phy_semantic(expectations, sem.data["checks"])
    violations = vis.data["violations"]
    visual = scoring.hi_phy_visual(violations)
    return {"score": scoring.hi_phy_overall(semantic, visual), "semantic": semantic, "visual": visual,
            "deductions": deductions, "violations": [_short(v) for v in violations[:12]],
            "calls": sem.calls + vis.calls, "cached": int(sem.cached) + int(vis.cached)}


def holistic_once(client: JudgeClient, clip: Clip, item: PromptItem, requirements: dict[str, list[dict[str, Any]]],
                  repeat: int = 0) -> dict[str, Any]:
    parts = media_parts(client, clip, with_audio=True)
    ids = [r["id"] for reqs in requirements.values() for r in reqs]
    answer = client.ask(request("holistic.check", parts, repeat, {"items": ids}, prompt=item.prompt,
                                requirements=json.dumps(requirements, ensure_ascii=False)))
    subscores, deductions = scoring.holistic_subscores(requirements, answer.data["items"], answer.data["other_issues"])
    return {"score": round(scoring.holistic_total(subscores), 3), "subscores": subscores, "deductions": deductions,
            "calls": answer.calls, "cached": int(answer.cached)}


def lo_phy_once(client: JudgeClient, clip: Clip, item: PromptItem, repeat: int = 0) -> dict[str, Any]:
    answer = client.ask(request("lo_phy.judge", media_parts(client, clip, with_audio=False), repeat))
    return {"score": float(answer.data["rating"]), "reasons": [r[:160] for r in answer.data["reasons"][:3]],
            "calls": answer.calls, "cached": int(answer.cached)}


def text_judge(client: JudgeClient, item: PromptItem, required_text: list[str], tracks: list[dict[str, Any]],
               repeat: int = 0) -> dict[str, Any]:
    """For the Text dimension's paper tier: OCR track summaries + prompt -> verdict and score (None: not scored)."""
    answer = client.ask(request("text.judge", repeat=repeat, prompt=item.prompt,
                                required_text=json.dumps(required_text, ensure_ascii=False),
                                tracks=json.dumps(tracks, ensure_ascii=False)))
    verdict = {k: (v[:200] if isinstance(v, str) else v) for k, v in answer.data.items()}
    return {"verdict": verdict, "score": scoring.text_score(answer.data), "calls": answer.calls,
            "cached": int(answer.cached)}


def speech_judge(client: JudgeClient | None, item: PromptItem, lines: list[str], transcript: str,
                 repeat: int = 0) -> dict[str, Any]:
    """Verbatim mode when the prompt quotes lines (computed here, no judge call); contextual mode asks the judge."""
    if lines:
        score, details = scoring.speech_verbatim(lines, transcript)
        return {"mode": "verbatim", "score": score, "passed": scoring.speech_passes(score), "lines": details,
                "calls": 0, "cached": 0}
    if client is None:
        raise ValueError("contextual speech judging needs a judge")
    answer = client.ask(request("speech.judge", repeat=repeat, prompt=item.prompt, transcript=transcript))
    score = float(answer.data["score"])
    return {"mode": "contextual", "score": score, "passed": scoring.speech_passes(score),
            "reasons": [r[:160] for r in answer.data["reasons"][:4]], "calls": answer.calls, "cached": int(answer.cached)}


def music_judge(client: JudgeClient, item: PromptItem, constraints: list[dict[str, Any]], notes: list[dict[str, Any]],
                repeat: int = 0) -> dict[str, Any]:
    answer = client.ask(request("music.judge", repeat=repeat, prompt=item.prompt,
                                constraints=json.dumps(constraints, ensure_ascii=False),
                                notes=json.dumps(notes, ensure_ascii=False)))
    verdicts = [{"index": v.get("index"), "verdict": v.get("verdict"), "reason": str(v.get("reason", ""))[:160]}
                for v in answer.data["verdicts"]]
    return {"verdicts": verdicts, "score": scoring.music_score(len(constraints), answer.data["verdicts"]),
            "calls": answer.calls, "cached": int(answer.cached)}


def repeated(run_once: Callable[[int], dict[str, Any]], repeats: int) -> dict[str, Any]:
    """Run a stage K times (the first from the cache when possible) and summarise the spread of the scores."""
    results = [run_once(k) for k in range(max(1, repeats))]
    scores = [r["score"] for r in results]
    first = dict(results[0])
    first["calls"] = sum(r["calls"] for r in results)
    first["cached"] = sum(r["cached"] for r in results)
    if len(scores) > 1:
        first["score"] = statistics.fmean(scores)
        first["judge_repeats"] = {"k": len(scores), "scores": [round(s, 2) for s in scores],
                                  "std": round(statistics.pstdev(scores), 3)}
    return first


def _short(violation: dict[str, Any]) -> dict[str, Any]:
    keep = {k: violation.get(k) for k in ("category", "severity", "start_s", "end_s")}
    keep["description"] = str(violation.get("description", ""))[:160]
    return keep


# what the prompt requires, for the paper tiers of Music and Face ------------------

def judge_made(annotation) -> bool:
    return str(getattr(annotation, "source", "")).startswith("judge:")


def music_constraints(client: JudgeClient | None, item: PromptItem, annotation) -> tuple[list, str]:
    """Pitch constraints: from a frozen judge annotation, else extracted by the judge once per prompt (cached),
    else (no judge) the rule-based annotation's. Returns (MusicConstraint list, where they came from)."""
    if judge_made(annotation) or client is None:
        return list(annotation.music), ("frozen judge annotation" if judge_made(annotation) else "rule-based annotation")
    from ..annotations import MusicConstraint
    from .annotate import note_midi

    req = prompt_requirements(client, item)
    return [MusicConstraint(kind=c["kind"], notes=c["notes"], midi=[note_midi(n) for n in c["notes"]],
                            octave_strict=bool(c["octave_strict"]), source_text=c.get("source_text", ""))
            for c in req["music"]], f"judge {load('prompt.requirements').tag}"


def expected_faces(client: JudgeClient | None, item: PromptItem, annotation) -> tuple[tuple[int, int] | None, str]:
    """(min_ids, max_ids): the suite's or frozen annotation's range, else the judge's (once per prompt, cached), else
    the count the rules read from the wording."""
    ruled = getattr(annotation, "expected_faces_source", None) == "rules"
    if annotation.faces is not None and not ruled:
        return (annotation.faces.min_ids, annotation.faces.max_ids), "annotation"
    if client is None:
        if annotation.faces is not None:
            return (annotation.faces.min_ids, annotation.faces.max_ids), "rules"
        return None, "none"
    faces = prompt_requirements(client, item)["faces"]
    if faces["max_ids"] < faces["min_ids"]:
        return None, "judge (unusable range)"
    return (int(faces["min_ids"]), int(faces["max_ids"])), f"judge {load('prompt.requirements').tag}"
