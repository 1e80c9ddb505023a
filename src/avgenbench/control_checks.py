"""Checks by signal of controllability instructions (control_rules.Instruction) on a clip's mono audio.

Each check gives a score 0–100 from one measured change, and a verdict: pass (score >= 80), partial (>= 30), fail.
- loudness_up/down: Theil–Sen slope of the 400 ms RMS level (dB/s) over the span × the span's length = the change
  in dB in the asked direction; 100 at +6 dB, 0 at no change or the wrong way.
- tempo_up/down: the onsets in the span; Theil–Sen slope of log(inter-onset interval) against time gives the ratio
  of the event rate at the span's end to its start; 100 when the rate changes 1.5× the asked way. Fewer than
  MIN_TEMPO_ONSETS onsets: score 0 (no repeated events to speed up).
- pitch_up/down: Theil–Sen slope of pYIN's voiced f0 (MIDI) × the span's length, in semitones the asked way; 100 at
  +4 semitones. Fewer than MIN_VOICED frames: score 0 (no pitched sound).
- count: the onsets of the whole clip against N; 100 · max(0, 1 − |found − N| / N); pass only when exact, partial
  when one off. A count tied to a visible action ("plucks it four times") also counts the peaks of the picture's
  motion energy and pairs each sound onset with a visual event within MATCH_S: score = mean of the sound count's
  score, the picture count's (same formula) and 100 · matched / N (capped); pass only when all three are exact,
  partial when each is at most one off. Without decoded frames the sound count alone decides (evidence says so).
- stop: the quietest 300 ms stretch starting from 0.5 s before the span to its end, against the level the sound had
  before it (90th percentile of the 3 s before); 100 at a 25 dB drop.
- order: each named sound's class (control_rules.sound_class: speech, tonal, impact, noise, silence) is found on the
  signal (control_signals); precedence = the share of (first, second) cell pairs in which the first sound's cell is
  earlier (ties count half); 100 at FULL_PRECEDENCE, 0 at 0.5 (no order) or the reverse. A name in no class, two
  names of one class, or a class model that is missing: "unchecked"; a class not found in the clip (less than
  MIN_CLASS_S of it): "inconclusive" (absent or masked: the signal cannot tell). Evidence: both sounds' time spans.
Trend spans shorter than MIN_TREND_S are widened around their centre (a "then" segment of a 4 s clip is short).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .control_rules import Instruction, sound_class
from .perception import control_signals as sig

FULL_DB = 6.0
FULL_TEMPO_RATIO = 1.5
FULL_SEMITONES = 4.0
FULL_DROP_DB = 25.0
PASS, PARTIAL = 80.0, 30.0
MIN_TREND_S = 1.5
MIN_TEMPO_ONSETS = 4
MIN_VOICED = 10
STOP_STRETCH_S = 0.3
STOP_LEAD_S = 0.5
BEFORE_S = 3.0
FULL_PRECEDENCE = 0.9
MIN_CLASS_S = 0.2
MATCH_S = 0.25
UNSETTLED = ("unchecked", "inconclusive")  # verdicts without a score: the signals could not settle the instruction


@dataclass
class CheckResult:
    kind: str
    words: str
    verdict: str  # pass / partial / fail / unchecked / inconclusive
    score: float | None
    span_s: tuple[float, float]
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "words": self.words, "verdict": self.verdict,
                "score": None if self.score is None else round(self.score, 1),
                "span_s": [round(self.span_s[0], 2), round(self.span_s[1], 2)], **self.evidence}


class Signals:
    """The clip's audio and the curves the checks read, each computed once on first use."""

    def __init__(self, audio: np.ndarray, rate: int = sig.RATE,
                 frames: tuple[np.ndarray, np.ndarray] | None = None):
        self.audio, self.rate = audio, rate
        self.frames = frames  # (gray images, times) of the picture, when decoded
        self.duration = audio.size / rate
        self._envelope: sig.Envelope | None = None
        self._onsets: np.ndarray | None = None
        self._pitch: tuple[np.ndarray, np.ndarray] | None = None
        self._classes: dict[str, np.ndarray] = {}
        self._motion: tuple[np.ndarray, list[list[float]]] | None = None

    @property
    def envelope(self) -> sig.Envelope:
        if self._envelope is None:
            self._envelope = sig.loudness_envelope(self.audio, self.rate)
        return self._envelope

    @property
    def onsets(self) -> np.ndarray:
        if self._onsets is None:
            self._onsets = sig.onset_times(self.audio, self.rate)
        return self._onsets

    @property
    def pitch(self) -> tuple[np.ndarray, np.ndarray]:
        if self._pitch is None:
            self._pitch = sig.pitch_track(self.audio, self.rate)
        return self._pitch

    @property
    def grid(self) -> np.ndarray:
        return sig.class_grid(self.duration)

    def sound_class(self, name: str) -> np.ndarray:
        """Cells of the class grid where the class sounds (see control_signals); RuntimeError when its model is
        missing (speech needs the Silero VAD)."""
        if name not in self._classes:
            grid, done = self.grid, self._classes
            if name != "silence" and "speech" not in done:
                from scipy.signal import resample_poly

                audio16 = resample_poly(self.audio, 16000, self.rate).astype(np.float32)
                done["speech"] = sig.speech_cells(audio16, grid)
            if "audible" not in done:
                done["audible"] = sig.audible_cells(self.audio, self.rate, grid)
            audible = done["audible"]
            if name in ("tonal", "noise") and "tonal" not in done:
                done["tonal"] = sig.tonal_cells(self.pitch, grid, audible, done["speech"])
            if name in ("impact", "noise") and "impact" not in done:
                done["impact"] = sig.impact_cells(self.audio, self.rate, self.onsets, grid, done["speech"])
            if name == "noise":
                flat = sig.flat_cells(self.audio, self.rate, grid)
                done["noise"] = sig.noise_cells(flat, audible, done["speech"], done["tonal"], done["impact"])
            if name == "silence":
                done["silence"] = sig.silence_cells(audible)
        return self._classes[name]

    @property
    def motion(self) -> tuple[np.ndarray, list[list[float]]] | None:
        """Visual event times and the motion-energy curve; None when no frames were decoded."""
        if self._motion is None and self.frames is not None:
            self._motion = sig.motion_events(*self.frames)
        return self._motion


def verdict_of(score: float) -> str:
    return "pass" if score >= PASS else "partial" if score >= PARTIAL else "fail"


def seconds(span: tuple[float, float], duration: float, widen_to: float = 0.0) -> tuple[float, float]:
    """A fractional span in seconds, widened around its centre to at least `widen_to` s (within the clip)."""
    a, b = span[0] * duration, span[1] * duration
    if b - a < widen_to:
        centre, half = (a + b) / 2, min(widen_to, duration) / 2
        a, b = centre - half, centre + half
        shift = max(0.0, -a) - max(0.0, b - duration)
        a, b = a + shift, b + shift
    return max(0.0, a), min(duration, b)


def _scaled(change: float, full: float) -> float:
    return float(min(100.0, max(0.0, 100.0 * change / full)))


def _loudness(ins: Instruction, s: Signals, sign: int) -> tuple[float, dict]:
    a, b = seconds(ins.span, s.duration, MIN_TREND_S)
    env = s.envelope
    keep = (env.times >= a) & (env.times <= b)
    slope = sig.theil_sen(env.times[keep], env.db[keep])
    if slope is None:
        return 0.0, {"message": "the span is too short for a loudness trend"}
    change = slope * (b - a)
    return _scaled(sign * change, FULL_DB), {
        "slope_db_per_s": round(slope, 2), "change_db": round(change, 1),
        "curve_db": sig.downsample(env.times[keep], env.db[keep])}


def _tempo(ins: Instruction, s: Signals, sign: int) -> tuple[float, dict]:
    a, b = seconds(ins.span, s.duration, MIN_TREND_S)
    onsets = s.onsets[(s.onsets >= a) & (s.onsets <= b)]
    evidence: dict[str, Any] = {"onsets_s": [round(float(t), 2) for t in onsets[:60]], "onset_count": int(onsets.size)}
    if onsets.size < MIN_TEMPO_ONSETS:
        return 0.0, {**evidence, "message": f"fewer than {MIN_TEMPO_ONSETS} events in the span: no tempo to change"}
    gaps = np.diff(onsets)
    slope = sig.theil_sen((onsets[1:] + onsets[:-1]) / 2, np.log(gaps))
    ratio = float(np.exp(-(slope or 0.0) * (b - a)))  # event rate at the end / at the start
    change = sign * np.log(ratio)
    return _scaled(change, np.log(FULL_TEMPO_RATIO)), {
        **evidence, "rate_ratio_end_to_start": round(ratio, 3),
        "rate_per_s": sig.downsample((onsets[1:] + onsets[:-1]) / 2, 1.0 / gaps, 12, 2)}


def _pitch(ins: Instruction, s: Signals, sign: int) -> tuple[float, dict]:
    a, b = seconds(ins.span, s.duration, MIN_TREND_S)
    times, midi = s.pitch
    keep = (times >= a) & (times <= b)
    if int(keep.sum()) < MIN_VOICED:
        return 0.0, {"voiced_frames": int(keep.sum()), "message": "no pitched sound in the span"}
    slope = sig.theil_sen(times[keep], midi[keep])
    change = (slope or 0.0) * (b - a)
    return _scaled(sign * change, FULL_SEMITONES), {
        "voiced_frames": int(keep.sum()), "slope_semitones_per_s": round(slope or 0.0, 2),
        "change_semitones": round(change, 2), "curve_midi": sig.downsample(times[keep], midi[keep])}


def _count_score(found: int, expected: int) -> float:
    return 100.0 * max(0.0, 1.0 - abs(found - expected) / max(expected, 1))


def _matched(a: np.ndarray, b: np.ndarray, within: float) -> int:
    """Events of `a` paired one to one with an unused event of `b` at most `within` s away (in time order)."""
    used: set[int] = set()
    for t in a:
        free = [(abs(float(u) - float(t)), k) for k, u in enumerate(b) if k not in used and abs(u - t) <= within]
        if free:
            used.add(min(free)[1])
    return len(used)


def _count(ins: Instruction, s: Signals) -> tuple[float, str, dict]:
    expected = int(ins.count or 0)
    found = int(s.onsets.size)
    score = _count_score(found, expected)
    evidence: dict[str, Any] = {"expected": expected, "found": found,
                                "onsets_s": [round(float(t), 2) for t in s.onsets[:60]]}
    verdict = "pass" if found == expected else "partial" if abs(found - expected) == 1 else "fail"
    if not ins.action:
        return score, verdict, evidence
    motion = s.motion
    if motion is None:
        evidence["visual"] = f"the count is tied to '{ins.action}' but no frames were decoded: the sound alone decides"
        return score, verdict, evidence
    events, curve = motion
    visual, matched = int(events.size), _matched(s.onsets, events, MATCH_S)
    scores = (score, _count_score(visual, expected), 100.0 * min(1.0, matched / max(expected, 1)))
    offs = (abs(found - expected), abs(visual - expected), max(0, expected - matched))
    verdict = "pass" if max(offs) == 0 else "partial" if max(offs) <= 1 else "fail"
    evidence.update(action=ins.action, visual_found=visual, visual_events_s=[round(float(t), 2) for t in events[:60]],
                    matched=matched, match_within_s=MATCH_S, motion_curve=curve)
    return float(np.mean(scores)), verdict, evidence


def _spans(mask: np.ndarray, grid: np.ndarray) -> list[list[float]]:
    return [[round(a, 2), round(b, 2)] for a, b in sig.spans_of(mask, grid)[:8]]


def _order(ins: Instruction, s: Signals) -> tuple[float | None, str, dict]:
    names = (ins.sound, ins.second)
    classes = (sound_class(ins.sound), sound_class(ins.second))
    evidence: dict[str, Any] = {"first": {"name": names[0], "class": classes[0]},
                                "second": {"name": names[1], "class": classes[1]}}
    for name, cls in zip(names, classes):
        if cls is None:
            return None, "unchecked", {**evidence, "message": f"'{name}' maps to no sound class the signals can "
                                                               f"find ({', '.join(sig.SOUND_CLASSES)})"}
    if classes[0] == classes[1]:
        return None, "unchecked", {**evidence, "message": f"both sounds are {classes[0]}: the signals cannot tell "
                                                          "them apart"}
    try:
        masks = [s.sound_class(c) for c in classes if c is not None]
    except RuntimeError as exc:
        return None, "unchecked", {**evidence, "message": f"cannot find the sound classes: {exc}"}
    grid = s.grid
    for key, mask in zip(("first", "second"), masks):
        evidence[key].update(spans_s=_spans(mask, grid), seconds=round(float(mask.sum()) * sig.CLASS_STEP_S, 2))
    for name, cls, mask in zip(names, classes, masks):
        if mask.sum() * sig.CLASS_STEP_S < MIN_CLASS_S:
            return None, "inconclusive", {**evidence, "message": f"no {cls} sound found for '{name}' (absent or "
                                                                  "masked: the signal cannot tell)"}
    first, second = grid[masks[0]], np.sort(grid[masks[1]])
    later = second.size - np.searchsorted(second, first, side="right")
    ties = np.searchsorted(second, first, side="right") - np.searchsorted(second, first, side="left")
    precedence = float((later + 0.5 * ties).sum()) / (first.size * second.size)
    score = _scaled(precedence - 0.5, FULL_PRECEDENCE - 0.5)
    evidence.update(precedence=round(precedence, 3),
                    precedence_means="share of (first, second) moments in which the first sound is earlier")
    return score, verdict_of(score), evidence


def _stop(ins: Instruction, s: Signals) -> tuple[float, dict]:
    a, b = seconds(ins.span, s.duration)
    env = s.envelope
    stretch = max(1, int(round(STOP_STRETCH_S / sig.STEP_S)))
    candidates = np.where((env.times >= a - STOP_LEAD_S) & (env.times <= b))[0]
    drops: list[tuple[float, int]] = []
    for k in candidates:
        if k + stretch > env.db.size:
            break
        quiet = float(env.db[k:k + stretch].max())
        before = env.db[(env.times < env.times[k]) & (env.times >= env.times[k] - BEFORE_S)]
        if before.size:
            drops.append((float(np.percentile(before, 90)) - quiet, int(k)))
    if not drops:
        return 0.0, {"message": "no sound before the span to stop"}
    top = max(d for d, _ in drops)
    drop, k = next((d, k) for d, k in drops if d >= top - 1.0)  # the earliest stretch about as deep as the deepest
    return _scaled(drop, FULL_DROP_DB), {"drop_db": round(drop, 1),
                                         "stop_at_s": round(float(env.times[k]) - sig.WINDOW_S / 2, 2),
                                         "quiet_db": round(float(env.db[k:k + stretch].max()), 1)}


def check(ins: Instruction, s: Signals) -> CheckResult:
    span = seconds(ins.span, s.duration)
    if ins.kind == "order":
        order_score, verdict, evidence = _order(ins, s)
        return CheckResult(ins.kind, ins.words, verdict, order_score, span, evidence)
    if ins.kind.startswith(("loudness", "tempo", "pitch")):
        measure = {"loudness": _loudness, "tempo": _tempo, "pitch": _pitch}[ins.kind.split("_")[0]]
        score, evidence = measure(ins, s, 1 if ins.kind.endswith("_up") else -1)
        span = seconds(ins.span, s.duration, MIN_TREND_S)
    elif ins.kind == "count":
        score, verdict, evidence = _count(ins, s)
        return CheckResult(ins.kind, ins.words, verdict, score, (0.0, s.duration), evidence)
    else:
        score, evidence = _stop(ins, s)
    return CheckResult(ins.kind, ins.words, verdict_of(score), score, span, evidence)
