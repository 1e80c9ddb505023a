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
  when one off.
- stop: the quietest 300 ms stretch starting from 0.5 s before the span to its end, against the level the sound had
  before it (90th percentile of the 3 s before); 100 at a 25 dB drop.
- order: not checked by signal (telling two named sounds apart needs a sound classifier): verdict "unchecked".
Trend spans shorter than MIN_TREND_S are widened around their centre (a "then" segment of a 4 s clip is short).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .control_rules import Instruction
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


@dataclass
class CheckResult:
    kind: str
    words: str
    verdict: str  # pass / partial / fail / unchecked
    score: float | None
    span_s: tuple[float, float]
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "words": self.words, "verdict": self.verdict,
                "score": None if self.score is None else round(self.score, 1),
                "span_s": [round(self.span_s[0], 2), round(self.span_s[1], 2)], **self.evidence}


class Signals:
    """The clip's audio and the curves the checks read, each computed once on first use."""

    def __init__(self, audio: np.ndarray, rate: int = sig.RATE):
        self.audio, self.rate = audio, rate
        self.duration = audio.size / rate
        self._envelope: sig.Envelope | None = None
        self._onsets: np.ndarray | None = None
        self._pitch: tuple[np.ndarray, np.ndarray] | None = None

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


def _count(ins: Instruction, s: Signals) -> tuple[float, dict]:
    expected = int(ins.count or 0)
    found = int(s.onsets.size)
    score = 100.0 * max(0.0, 1.0 - abs(found - expected) / max(expected, 1))
    return score, {"expected": expected, "found": found, "onsets_s": [round(float(t), 2) for t in s.onsets[:60]]}


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
        return CheckResult(ins.kind, ins.words, "unchecked", None, span,
                           {"message": "the order of two named sounds needs a sound classifier; not checked in lite"})
    if ins.kind.startswith(("loudness", "tempo", "pitch")):
        measure = {"loudness": _loudness, "tempo": _tempo, "pitch": _pitch}[ins.kind.split("_")[0]]
        score, evidence = measure(ins, s, 1 if ins.kind.endswith("_up") else -1)
        span = seconds(ins.span, s.duration, MIN_TREND_S)
    elif ins.kind == "count":
        score, evidence = _count(ins, s)
        span = (0.0, s.duration)
        found, expected = evidence["found"], evidence["expected"]
        verdict = "pass" if found == expected else "partial" if abs(found - expected) == 1 else "fail"
        return CheckResult(ins.kind, ins.words, verdict, score, span, evidence)
    else:
        score, evidence = _stop(ins, s)
    return CheckResult(ins.kind, ins.words, verdict_of(score), score, span, evidence)
