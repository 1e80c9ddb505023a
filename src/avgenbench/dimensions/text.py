"""Text: on-screen text quality and prompt match (0–100, higher is better).

Lite backend (`text-ocr`): PP-OCR (rapidocr + onnxruntime, models inside the wheel) on frames sampled at 1 fps, longer
side 960 px. The detector sees each frame scaled to 640 px (at 640 it still finds every line 10 px high at 960);
recognition reads the found boxes from the 960 px frame. The detector runs as an int8 copy of the wheel's model, built
and cached at first use (`avgenbench.perception.ocr_int8`, a few seconds once): ~45 ms a frame on one core instead of ~190 ms,
reading the same strings as the original on our checks; `ocr_detector: "fp32"` in the options runs the original
(recorded in the backend version, so the two are never mixed on resume). Cost for a 10 s clip at 1 fps with
captions on every frame: about 1.4 CPU s (detection ~0.45 s, recognition ~0.85 s; 2.8 s with the fp32 detector). A frame that barely differs from the
last one read reuses its reading: no 8x8 block of the grey frame changed its mean by REUSE_DIFF (film grain averages
out in a block; a changed word does not). Each frame's boxes are joined into
lines (top to bottom, left to right), so a required string split over several boxes still matches.

Matching. Strings are normalised to lower-case letters and digits only (case, punctuation and spaces dropped). For a
required string r and a frame's text t, CER_f = (edit distance of r to the best-matching substring of t) / len(r),
capped at 1. The string is *seen* on a frame when CER_f <= SEEN_CER (0.5).

Score per required string (0 when never seen):
    accuracy   = 1 − (median CER_f over the frames where it is seen) / SEEN_CER
                 (linear in the error count; reaches 0 where a reading stops counting as seen)
    presence   = min(1, seconds seen / LEGIBLE_SECONDS)        (LEGIBLE_SECONDS = 2: long enough to read)
    stability  = frames seen / frames from its first to its last sighting   (flicker and morphing lower it)
    score      = 100 · accuracy · (0.7 + 0.2 · presence + 0.1 · stability)
The clip's raw value is the mean over the required strings. Prompts without required text are not applicable in lite
(the paper tier's judge also rates incidental text). Limits: text shown for well under a second can fall between
samples; stylised, curved or very small text (under ~14 px high at 960 px) reads poorly; only Latin script is checked.
"""

from __future__ import annotations

import json
import logging
import os
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..perception import ocr_int8
from ..executor import thread_share
from ..judge.templates import request
from ..media import Clip, FrameSpec, MediaNeeds
from ..suite import PromptItem
from .base import Backend, Dimension, ItemContext, Measurement, Status
from .judged import JudgedBackend, repeated

FRAMES = FrameSpec(fps=1.0, max_side=960, gray=False)
SEEN_CER = 0.5
LEGIBLE_SECONDS = 2.0
REUSE_DIFF = 4.0  # largest change of an 8x8 block's mean grey (0–255) under which a frame reuses the previous reading
REUSE_BLOCK = 8
DETECT_SIDE = 640  # longer side the text detector sees; recognition crops come from the 960 px frame
MIN_SCORE = 0.5  # OCR confidence under which a box is ignored
MAX_TEXT_CHARS = 600


def normalize_text(text: str) -> str:
    """Lower-case letters and digits only: 'Keep it tea.' -> 'keepittea'."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def substring_distance(needle: str, hay: str) -> int:
    """Edit distance from `needle` to its best-matching substring of `hay` (free start and end in `hay`)."""
    if not needle:
        return 0
    if not hay:
        return len(needle)
    prev = [0] * (len(hay) + 1)  # row for the empty needle prefix: starting anywhere is free
    for i, ch in enumerate(needle, 1):
        cur = [i] + [0] * len(hay)
        for j, hc in enumerate(hay, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ch != hc))
        prev = cur
    return min(prev)


def cer(required: str, text: str) -> float:
    """Character error rate of `required` against the best substring of `text`, both normalised; at most 1."""
    r = normalize_text(required)
    if not r:
        return 0.0
    return min(1.0, substring_distance(r, normalize_text(text)[:MAX_TEXT_CHARS]) / len(r))


def join_lines(boxes: list[tuple[str, float, np.ndarray]]) -> list[tuple[str, tuple[float, float]]]:
    """Group OCR boxes whose vertical extents overlap into lines; each line's text joins its boxes left to right.

    Returns (text, (x centre, y centre)) per line, top to bottom, coordinates relative to the frame are left to callers.
    """
    items = []
    for text, _score, box in boxes:
        ys, xs = box[:, 1], box[:, 0]
        items.append((text, float(xs.min()), float(ys.min()), float(ys.max()), float(xs.mean()), float(ys.mean())))
    items.sort(key=lambda it: it[5])
    lines: list[list[tuple]] = []
    for it in items:
        for line in lines:
            top = np.mean([x[2] for x in line])
            bottom = np.mean([x[3] for x in line])
            overlap = min(bottom, it[3]) - max(top, it[2])
            if overlap > 0.5 * min(bottom - top, it[3] - it[2]):
                line.append(it)
                break
        else:
            lines.append([it])
    out = []
    for line in lines:
        line.sort(key=lambda x: x[1])
        out.append((" ".join(x[0] for x in line), (float(np.mean([x[4] for x in line])), float(np.mean([x[5] for x in line])))))
    return out


def _model_files() -> tuple[Path | None, Path | None]:
    try:
        import rapidocr
    except ImportError:
        return None, None
    models = Path(rapidocr.__file__).parent / "models"
    det = sorted(models.glob("*det*.onnx"))
    rec = sorted(models.glob("*rec*.onnx"))
    return (det[-1] if det else None), (rec[-1] if rec else None)


DETECTORS = ("int8", "fp32")  # ctx.options["ocr_detector"]; int8 (default) is built from the fp32 model, see ocr_int8


def detector_choice(options: Mapping[str, Any]) -> str:
    return str(options.get("ocr_detector") or DETECTORS[0])


def detector_tag(choice: str) -> str:
    """The detector's part of a backend version: 'det-int8c1' (with the calibration version) or 'det-fp32'."""
    return f"det-int8c{ocr_int8.CALIBRATION_VERSION}" if choice == "int8" else f"det-{choice}"


def detector_label(choice: str) -> str:
    det, _ = _model_files()
    stem = det.stem if det is not None else "det"
    return f"{stem} int8 (calibrated v{ocr_int8.CALIBRATION_VERSION})" if choice == "int8" else f"{stem} fp32"


def detector_model(choice: str) -> Path:
    """The detection model file for `choice`: the wheel's own, or its int8 copy (built and cached at first use).
    Raises RuntimeError saying why it cannot be had."""
    det, _ = _model_files()
    if det is None:
        raise RuntimeError("rapidocr's bundled PP-OCR detection model was not found")
    if choice == "fp32":
        return det
    if choice == "int8":
        return ocr_int8.int8_detector(det, DETECT_SIDE)
    raise RuntimeError(f"unknown ocr_detector {choice!r}; use one of {', '.join(DETECTORS)}")


class OcrEngine:
    """PP-OCR detection + recognition from the rapidocr wheel's own model files (the detector optionally as its int8
    copy, `det_model`); never downloads."""

    def __init__(self, threads: int | None = None, det_model: Path | None = None):
        det, rec = _model_files()
        if det is None or rec is None:
            raise RuntimeError("rapidocr's bundled PP-OCR det/rec models were not found")
        runs = det_model or det
        from rapidocr import RapidOCR

        for name in ("RapidOCR", "rapidocr"):
            logging.getLogger(name).setLevel(logging.ERROR)
        threads = threads or thread_share() or min(2, os.cpu_count() or 1)
        self.engine = RapidOCR(params={
            "Global.log_level": "error", "Global.use_cls": False, "Global.text_score": MIN_SCORE,
            "Det.model_path": str(runs), "Rec.model_path": str(rec),
            "Det.limit_side_len": DETECT_SIDE, "Det.limit_type": "max",
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        })
        self.models = {"det": det.name, "rec": rec.name, "det_runs": runs.name}  # det: the wheel model it derives from

    def read(self, image: np.ndarray) -> list[tuple[str, float, np.ndarray]]:
        result = self.engine(image)
        if result.boxes is None or result.txts is None:
            return []
        return [(t, float(s), np.asarray(b, dtype=np.float32))
                for t, s, b in zip(result.txts, result.scores, result.boxes) if t.strip() and s >= MIN_SCORE]


def _rec_model_has_charset(rec: Path) -> bool:
    """rapidocr downloads a character list when the recognition model lacks one; refuse instead."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(rec), options, providers=["CPUExecutionProvider"])
    return "character" in session.get_modelmeta().custom_metadata_map


def block_means(image: np.ndarray, block: int = REUSE_BLOCK) -> np.ndarray:
    """Mean grey level (mean over channels) of each block x block tile; edge rows and columns that do not fill a tile
    are dropped. Summed as integers: ~7x faster than averaging a float grey frame first."""
    channels = image.shape[2] if image.ndim == 3 else 1
    h, w = (image.shape[0] // block) * block, (image.shape[1] // block) * block
    tiles = image[:h, :w].reshape(h // block, block, w // block, block * channels)
    return tiles.sum(axis=(1, 3), dtype=np.uint32) / np.float32(block * block * channels)


def read_frames(engine: OcrEngine, times: np.ndarray, images: np.ndarray) -> list[dict[str, Any]]:
    """OCR every frame (reusing the previous reading when no block changed): time, lines, joined text."""
    frames: list[dict[str, Any]] = []
    last_blocks = None
    last_lines: list[tuple[str, tuple[float, float]]] = []
    for t, image in zip(times, images):
        blocks = block_means(image)
        if last_blocks is None or float(np.abs(blocks - last_blocks).max()) > REUSE_DIFF:
            last_lines = join_lines(engine.read(image))
            last_blocks = blocks
        frames.append({"t": float(t), "lines": last_lines, "text": "\n".join(text for text, _ in last_lines)})
    return frames


def match_required(required: str, frames: list[dict[str, Any]], step: float) -> dict[str, Any]:
    """Per-string result: score (0–100) and evidence, by the module docstring's formula."""
    per_frame = [(f["t"], cer(required, f["text"].replace("\n", " ")), f) for f in frames]
    seen = [(t, c, f) for t, c, f in per_frame if c <= SEEN_CER]
    best_t, best_c, best_f = min(per_frame, key=lambda x: x[1]) if per_frame else (None, 1.0, None)
    best_line = ""
    if best_f is not None:
        best_line = min((line for line, _ in best_f["lines"]), key=lambda line: cer(required, line), default="")
    evidence: dict[str, Any] = {"required": required, "best_match": best_line, "best_cer": round(best_c, 3)}
    if not seen:
        evidence.update({"seen": False, "frames_present": 0, "score": 0.0})
        return evidence
    idx = [i for i, (_, c, _) in enumerate(per_frame) if c <= SEEN_CER]
    median_cer = float(np.median([c for _, c, _ in seen]))
    accuracy = max(0.0, 1.0 - median_cer / SEEN_CER)
    presence = min(1.0, len(seen) * step / LEGIBLE_SECONDS)
    stability = len(idx) / (idx[-1] - idx[0] + 1)
    score = 100.0 * accuracy * (0.7 + 0.2 * presence + 0.1 * stability)
    evidence.update({
        "seen": True, "best_at_s": round(best_t, 2), "first_seen_s": round(seen[0][0], 2),
        "last_seen_s": round(seen[-1][0], 2), "frames_present": len(seen), "frames_read": len(per_frame),
        "median_cer": round(median_cer, 3), "accuracy": round(accuracy, 3), "presence": round(presence, 3), "stability": round(stability, 3),
        "score": round(score, 2),
    })
    return evidence


def text_tracks(frames: list[dict[str, Any]], limit: int = 10) -> list[dict[str, Any]]:
    """Lines grouped over frames by similar text and position: what was on screen, and when."""
    tracks: list[dict[str, Any]] = []
    for f in frames:
        for text, (x, y) in f["lines"]:
            norm = normalize_text(text)
            if len(norm) < 2:
                continue
            for tr in tracks:
                close = abs(tr["x"] - x) + abs(tr["y"] - y) < 120
                similar = substring_distance(norm, tr["norm"]) <= 0.3 * len(norm) or \
                    substring_distance(tr["norm"], norm) <= 0.3 * len(tr["norm"])
                if similar and close and tr["last"] < f["t"]:
                    tr["readings"][text] += 1
                    tr.update(last=f["t"], x=x, y=y)
                    break
            else:
                tracks.append({"norm": norm, "readings": Counter({text: 1}), "first": f["t"], "last": f["t"], "x": x, "y": y})
    tracks.sort(key=lambda tr: -sum(tr["readings"].values()))
    return [{"text": tr["readings"].most_common(1)[0][0], "first_s": round(tr["first"], 2), "last_s": round(tr["last"], 2),
             "frames": sum(tr["readings"].values()), "readings": len(tr["readings"])} for tr in tracks[:limit]]


class TextOcrLite(Backend):
    name = "text-ocr"
    version = "2.0"  # 2.0: int8 detector by default
    tier = "lite"

    def __init__(self) -> None:
        self._engines: dict[str, OcrEngine] = {}
        self._reasons: dict[str, str | None] = {}  # per detector choice, once checked

    def identity(self, options: Mapping[str, Any]) -> tuple[str, str]:
        return self.name, f"{self.version}+{detector_tag(detector_choice(options))}"

    def unavailable_reason(self, options: Mapping[str, Any]) -> str | None:
        """Also builds the int8 detector when it is not cached yet (a few seconds, once per machine)."""
        choice = detector_choice(options)
        if choice not in self._reasons:
            det, rec = _model_files()
            reason = None
            if det is None or rec is None:
                reason = "rapidocr with its bundled PP-OCR models is not installed (pip install rapidocr onnxruntime)"
            elif not _rec_model_has_charset(rec):
                reason = f"rapidocr's recognition model {rec.name} has no character list; it would need a download"
            else:
                try:
                    detector_model(choice)
                except RuntimeError as exc:
                    reason = f"{exc} (ocr_detector: fp32 runs the original model)" if choice == "int8" else str(exc)
            self._reasons[choice] = reason
        return self._reasons[choice]

    def engine(self, options: Mapping[str, Any]) -> OcrEngine:
        choice = detector_choice(options)
        if choice not in self._engines:
            self._engines[choice] = OcrEngine(threads=options.get("ocr_threads"), det_model=detector_model(choice))
        return self._engines[choice]

    def applies(self, ctx: ItemContext) -> Measurement | None:
        if not any(normalize_text(t) for t in ctx.annotation.required_text):
            return Measurement(Status.NOT_APPLICABLE, message="the prompt asks for no on-screen text (lite checks required text only)")
        return None

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        required = [t for t in ctx.annotation.required_text if normalize_text(t)]  # applies() saw some (runner)
        frames_in = clip.frames_for(FRAMES)
        if len(frames_in) == 0:
            return Measurement(Status.TOO_SHORT, message="no frame was sampled")
        frames = read_frames(self.engine(ctx.options), frames_in.times, frames_in.images)
        step = 1.0 / FRAMES.fps
        results = [match_required(r, frames, step) for r in required]
        raw = float(np.mean([r["score"] for r in results]))
        matched = {normalize_text(r["best_match"]) for r in results if r["seen"]}
        others = [tr for tr in text_tracks(frames) if normalize_text(tr["text"]) not in matched]
        evidence = {
            "required": results, "other_text": others[:8], "frames_read": len(frames), "fps": FRAMES.fps,
            "detector": detector_label(detector_choice(ctx.options)),
            "rule": (f"per string 100·(1−median CER/{SEEN_CER:g})·(0.7+0.2·presence+0.1·stability), presence = seconds seen"
                 f"/{LEGIBLE_SECONDS:g} s; 0 if never seen (CER ≤ {SEEN_CER:g}); raw = mean over strings"),
        }
        seen = sum(r["seen"] for r in results)
        return Measurement(Status.OK, raw, evidence, f"{seen}/{len(results)} required strings seen")


# paper tier: the OCR reading judged ------------------------------------------------------

JUDGE_SUBSCORES = ("legibility", "temporal_stability", "spatial_stability", "completeness", "prompt_match")


def judged_score(verdict: dict[str, Any]) -> float | None:
    """Mean of the five subscores when text is required or incidental; 0 when required text is absent;
    None (not scored) when the video has no real text and none was asked for."""
    presence = verdict.get("presence")
    if verdict.get("text_required") and presence in ("none", "noise"):
        return 0.0
    if presence not in ("required", "incidental"):
        return None
    return sum(float(verdict[k]) for k in JUDGE_SUBSCORES) / len(JUDGE_SUBSCORES)


def judge_once(client, item: PromptItem, required_text: list[str], tracks: list[dict[str, Any]],
               repeat: int = 0) -> dict[str, Any]:
    """The stage text.judge: OCR track summaries + prompt -> verdict and score (None: not scored)."""
    answer = client.ask(request("text.judge", repeat=repeat, prompt=item.prompt,
                                required_text=json.dumps(required_text, ensure_ascii=False),
                                tracks=json.dumps(tracks, ensure_ascii=False)))
    verdict = {k: (v[:200] if isinstance(v, str) else v) for k, v in answer.data.items()}
    return {"verdict": verdict, "score": judged_score(answer.data), "calls": answer.calls,
            "cached": int(answer.cached)}


def paper_ocr_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The paper tier reads with the original fp32 detector (PaddleOCR's), unless int8 is asked for."""
    return {**options, "ocr_detector": options.get("ocr_detector") or "fp32"}


def paper_backend() -> JudgedBackend:
    """Paper tier (`text-ocr-judge`): the lite PP-OCR reading (PaddleOCR's own models in ONNX form) summarised as text
    tracks, then the judge decides whether text is required, what text is present (none / noise / incidental /
    required) and five 0–100 subscores; the score is their mean, computed here. Scored when text is required or
    incidental, as in the paper; required text that is absent scores 0; otherwise not applicable."""
    ocr = TextOcrLite()  # the same OCR engine and availability check as lite

    def run(client, clip, ctx, repeats):
        frames_in = clip.frames_for(FRAMES)
        if len(frames_in) == 0:
            return Measurement(Status.TOO_SHORT, message="no frame was sampled")
        options = paper_ocr_options(ctx.options)
        frames = read_frames(ocr.engine(options), frames_in.times, frames_in.images)
        tracks = text_tracks(frames)
        required = [t for t in ctx.annotation.required_text if normalize_text(t)]
        read = {"frames_read": len(frames), "fps": FRAMES.fps, "tracks": tracks[:8], "required": required,
                "detector": detector_label(detector_choice(options))}
        if not tracks:  # nothing on screen: decided without asking
            if required:
                return {"score": 0.0, "ocr": read, "calls": 0, "cached": 0,
                        "message": "the prompt requires text; none was read"}
            return Measurement(Status.NOT_APPLICABLE, evidence={"ocr": read}, message="no text read and none required")
        first = judge_once(client, ctx.item, required, tracks)
        if first["score"] is None:
            presence = first["verdict"].get("presence")
            return Measurement(Status.NOT_APPLICABLE,
                               evidence={"ocr": read, "verdict": first["verdict"], "judge": client.label},
                               message=f"text presence '{presence}' and none required: not scored")
        result = repeated(lambda k: first if k == 0 else judge_once(client, ctx.item, required, tracks, k), repeats)
        result.evidence["ocr"] = read
        result.evidence["rule"] = "mean of legibility, temporal and spatial stability, completeness, prompt match (judge's 0–100)"
        return result

    return JudgedBackend(
        "text-ocr-judge", "2", run, ("text.judge",),  # 2: the OCR detector is part of the identity
        tool_problem=lambda options: ocr.unavailable_reason(paper_ocr_options(options)),
        identity_suffix=lambda options: detector_tag(detector_choice(paper_ocr_options(options))))


DIMENSION = Dimension(
    id="text", needs=MediaNeeds(frames=(FRAMES,)),
    annotations_used=("required_text",),
    backends={"lite": TextOcrLite, "paper": paper_backend},
)
