"""Music: pitch accuracy against the prompt's explicit notes (0–100, higher is better).

Lite backend (`music-basicpitch`): the audio (22050 Hz mono) is transcribed into notes by Basic Pitch's ONNX model
run with onnxruntime (see `perception/pitch.py`; onset threshold 0.5, frame threshold 0.3, notes of at least 58 ms,
keys up to MIDI 83 ≈ 1 kHz, or 2 semitones above the highest expected note, harmonic ghosts removed). The notes are
then scored against `annotation.music`, a list of `MusicConstraint`s. A constraint lists every expected onset, so
"A4 four times" is four A4s and needs four separate onsets.

Score of one constraint, S ∈ [0, 1]:
- note / sequence / scale: the expected notes are aligned in order with the detected notes (sorted by onset) by
  dynamic programming (an LCS that maximises credit). Credit per matched note: 1 for the exact MIDI note when the
  constraint is octave-strict (the prompt names the octave), else 1 for the right pitch class; when the prompt names
  the octave, another octave is wrong (credit 0). S = credit / number of expected notes.
- chord: detected notes are grouped into chord events (each onset within 100 ms of the previous one, a
  group spanning at most 400 ms, so a strum is one event). A chord's
  credit against an event is the Jaccard overlap of pitch-class sets |P∩Q| / |P∪Q|, so inversions and octave
  doublings count as the chord. All chord constraints of a prompt, in the order listed, are aligned in time order
  with the events by the same DP; S is the credit of the event a chord is aligned with (0 if none).

Dominance: the asked notes must be what the music mostly is, not a subsequence found among many other notes. Each
detected note has a salience = energy at its fundamental × its duration (`pitch.note_salience`). A note is used
when it was aligned with an expected note or belongs to an aligned chord event; share = salience of the used notes /
salience of all detected notes, and
    dominance = min(1, share / 0.9)
    raw = 100 · mean over constraints of S · dominance
so up to 10 % of the sound energy may be other notes (ghosts, reverb tails, a pickup) at no cost, and a brief right
note inside strummed chords scores little. The notes that were not used are listed as extras in the evidence.
No constraints → not_applicable (as in the paper). Silent audio (no ~93 ms frame above -60 dBFS) or no note
detected → raw 0 with that evidence.
librosa's pYIN f0 runs as a monophonic cross-check when the notes do not overlap: its pitch per note is reported in
the evidence with the agreement rate, and does not change the score.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..annotations import MusicConstraint, PromptAnnotation
from ..annotations.judged import judge_made, music_constraints, prompt_requirements
from ..judge.templates import load, request
from ..media import Clip, MediaNeeds
from ..music_theory import PC_NAMES, note_to_midi, pitch_class
from ..perception import pitch
from ..perception.pitch import Note
from ..suite import PromptItem
from .base import Backend, Dimension, ItemContext, Measurement, Status
from .judged import JudgedBackend, repeated

RATE = pitch.SAMPLE_RATE
ONSET_THRESHOLD = 0.5
FRAME_THRESHOLD = 0.3
MIN_NOTE_SECONDS = 0.058
MAX_MIDI = 83  # ~1 kHz: above it, harmonics of real notes become ghost notes
CHORD_STEP = 0.1  # a strum's strings follow each other within this
CHORD_SPAN = 0.4
DOMINANT_SHARE = 0.9  # the asked notes must carry this share of the notes' salience for full credit
TIE_BREAK = 1e-3  # per-note preference for salient notes in the alignment (< 1 / longest sequence)
SILENCE_DBFS = -60.0
MAX_LISTED = 40


@dataclass(frozen=True)
class Target:
    """One expected note: its pitch class and, when the octave is known and required, its MIDI number."""

    label: str
    pc: int
    midi: int | None

    def credit(self, note: Note) -> float:
        if note.midi % 12 != self.pc:
            return 0.0
        return 1.0 if self.midi is None or note.midi == self.midi else 0.0  # a named octave must be that octave


CHORD_INTERVALS = {"": (0, 4, 7), "maj": (0, 4, 7), "major": (0, 4, 7), "m": (0, 3, 7), "min": (0, 3, 7),
                   "minor": (0, 3, 7), "5": (0, 7), "dim": (0, 3, 6), "aug": (0, 4, 8), "7": (0, 4, 7, 10),
                   "maj7": (0, 4, 7, 11), "m7": (0, 3, 7, 10), "sus2": (0, 2, 7), "sus4": (0, 5, 7)}
_CHORD_NAME = re.compile(r"^\s*([A-Ga-g][#♯b♭]?)\s*(.*?)\s*(?:chord|triad)?\s*$")


def chord_symbol_targets(symbol: str) -> list[Target] | None:
    """'C major', 'Am', 'E5' -> the chord's pitch classes; None when it is not a chord name."""
    match = _CHORD_NAME.match(symbol)
    if not match:
        return None
    quality = match.group(2)
    intervals = CHORD_INTERVALS.get(quality) or (CHORD_INTERVALS.get(quality.lower()) if len(quality) > 1 else None)
    if intervals is None:
        return None
    root = pitch_class(match.group(1))
    return [Target(PC_NAMES[(root + k) % 12], (root + k) % 12, None) for k in intervals]


def targets_of(constraint: MusicConstraint) -> list[Target]:
    """Expected notes; a chord given as one name ('Am', 'C major') expands to its pitch classes.
    Raises ValueError for a note name that cannot be read."""
    if constraint.kind == "chord" and len(constraint.notes) == 1:
        by_name = chord_symbol_targets(constraint.notes[0])
        if by_name:
            return by_name
    out = []
    for i, label in enumerate(constraint.notes):
        midi = constraint.midi[i] if i < len(constraint.midi) else None
        if midi is None:
            try:
                midi = note_to_midi(label)
            except ValueError:
                midi = None
        pc = midi % 12 if midi is not None else pitch_class(label)
        out.append(Target(label, pc, midi if constraint.octave_strict else None))
    return out


def align(n_expected: int, n_found: int, credit) -> tuple[float, list[tuple[int, int, float]]]:
    """Ordered alignment maximising total credit; returns (total, [(expected i, found j, credit)])."""
    best = np.zeros((n_expected + 1, n_found + 1))
    for i in range(1, n_expected + 1):
        for j in range(1, n_found + 1):
            best[i, j] = max(best[i - 1, j], best[i, j - 1], best[i - 1, j - 1] + credit(i - 1, j - 1))
    pairs = []
    i, j = n_expected, n_found
    while i > 0 and j > 0:
        c = credit(i - 1, j - 1)
        if c > 0 and math.isclose(best[i, j], best[i - 1, j - 1] + c):
            pairs.append((i - 1, j - 1, c))
            i, j = i - 1, j - 1
        elif best[i, j] == best[i - 1, j]:
            i -= 1
        else:
            j -= 1
    return float(best[n_expected, n_found]), pairs[::-1]


def chord_events(notes: list[Note], step: float = CHORD_STEP, span: float = CHORD_SPAN) -> list[list[int]]:
    """Indices of notes grouped by onset: a note joins the current group when it starts within `step` s of the
    group's latest onset and `span` s of its first (a strum), else it opens a new group."""
    groups: list[list[int]] = []
    for idx in sorted(range(len(notes)), key=lambda k: notes[k].onset):
        onset = notes[idx].onset
        if groups and onset - notes[groups[-1][-1]].onset <= step and onset - notes[groups[-1][0]].onset <= span:
            groups[-1].append(idx)
        else:
            groups.append([idx])
    return groups


def _note_entry(note: Note) -> dict[str, Any]:
    return {"t": round(note.onset, 3), "dur": round(note.duration, 3), "midi": note.midi, "name": note.name}


def score_notes(notes: list[Note], constraints: list[MusicConstraint],
                salience: list[float] | None = None) -> tuple[float, dict[str, Any]]:
    """raw score 0–100 and evidence for detected `notes` (sorted by onset) against the constraints; `salience` per
    note (energy × duration, see `pitch.note_salience`; default: posterior strength × duration)."""
    if salience is None:
        salience = [n.strength * n.duration for n in notes]
    loudest = max(salience, default=0.0) or 1.0
    used: set[int] = set()
    results: list[dict[str, Any]] = []
    scores: list[float] = []
    chords = [c for c in constraints if c.kind == "chord"]
    for constraint in constraints:
        if constraint.kind == "chord":
            continue
        targets = targets_of(constraint)
        # Among equally good alignments, prefer the more salient notes (a tie-break far below one note's credit).
        _, pairs = align(len(targets), len(notes),
                         lambda i, j, targets=targets: targets[i].credit(notes[j]) * (1.0 + TIE_BREAK * salience[j] / loudest))
        pairs = [(i, j, targets[i].credit(notes[j])) for i, j, _ in pairs]
        used.update(j for _, j, _ in pairs)
        matched = {i for i, _, _ in pairs}
        s = sum(c for _, _, c in pairs) / len(targets) if targets else 0.0
        scores.append(s)
        results.append({
            "kind": constraint.kind, "expected": constraint.notes, "octave_strict": constraint.octave_strict,
            "score": round(s, 3),
            "matches": [{"expected": targets[i].label, "found": notes[j].name, "t": round(notes[j].onset, 3),
                         "credit": c} for i, j, c in pairs],
            "missed": [t.label for i, t in enumerate(targets) if i not in matched],
        })
    if chords:
        events = chord_events(notes)
        event_pcs = [{notes[k].midi % 12 for k in group} for group in events]
        wanted = [{t.pc for t in targets_of(c)} for c in chords]

        def jaccard(i: int, j: int) -> float:
            return len(wanted[i] & event_pcs[j]) / len(wanted[i] | event_pcs[j])

        _, pairs = align(len(chords), len(events), jaccard)
        aligned = {i: (j, c) for i, j, c in pairs}
        for i, constraint in enumerate(chords):
            j, c = aligned.get(i, (None, 0.0))
            if j is not None:
                used.update(events[j])
            scores.append(c)
            group = events[j] if j is not None else []
            heard = event_pcs[j] if j is not None else set()
            results.append({
                "kind": "chord", "expected": constraint.notes, "score": round(c, 3),
                "found": [notes[k].name for k in sorted(group, key=lambda k: notes[k].midi)],
                "t": round(notes[group[0]].onset, 3) if group else None,
                "missing_pitch_classes": [PC_NAMES[p] for p in sorted(wanted[i] - heard)],
                "extra_pitch_classes": [PC_NAMES[p] for p in sorted(heard - wanted[i])],
            })
    total = float(sum(salience))
    share = float(sum(salience[k] for k in used)) / total if total > 0 else 0.0
    dominance = min(1.0, share / DOMINANT_SHARE)
    extras = sorted((k for k in range(len(notes)) if k not in used), key=lambda k: -salience[k])
    raw = 100.0 * float(np.mean(scores)) * dominance if scores else 0.0
    evidence = {
        "constraints": results,
        "extras": [{**_note_entry(notes[k]), "salience_share": round(salience[k] / total, 3) if total > 0 else 0.0}
                   for k in extras[:MAX_LISTED]],
        "extra_count": len(extras), "asked_notes_share": round(share, 3), "dominance": round(dominance, 3),
        "mean_constraint_score": round(float(np.mean(scores)), 3) if scores else 0.0,
    }
    return raw, evidence


def _monophonic(notes: list[Note], overlap: float = 0.05) -> bool:
    ordered = sorted(notes, key=lambda n: n.onset)
    return all(b.onset >= a.offset - overlap for a, b in zip(ordered, ordered[1:]))


def pyin_check(audio: np.ndarray, notes: list[Note]) -> tuple[dict[str, Any], list[float | None]]:
    """pYIN's pitch per note over the notes' span and range, and how often it agrees with Basic Pitch."""
    if not notes:
        return {"status": "no notes"}, []
    if not _monophonic(notes):
        return {"status": "skipped: notes overlap (polyphonic)"}, [None] * len(notes)
    lo, hi = min(n.midi for n in notes) - 13, max(n.midi for n in notes) + 13
    start, end = min(n.onset for n in notes), max(n.offset for n in notes)
    a, b = max(0, int((start - 0.1) * RATE)), min(len(audio), int((end + 0.1) * RATE))
    times, track = pitch.pyin_track(audio[a:b], RATE, fmin=max(40.0, pitch_hz(lo)), fmax=min(4000.0, pitch_hz(hi)))
    times = times + a / RATE
    per_note = [pitch.pyin_pitch_of(n, times, track) for n in notes]
    checked = [(n, p) for n, p in zip(notes, per_note) if p is not None]
    agree = sum(1 for n, p in checked if abs(p - n.midi) < 0.5)
    return {"status": "ok", "checked": len(checked), "agree": agree,
            "octave_disagreements": sum(1 for n, p in checked if abs(abs(p - n.midi) - 12) < 0.5)}, per_note


def pitch_hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


class MusicBasicPitchLite(Backend):
    """Basic Pitch (ONNX, no TensorFlow) note transcription scored against the prompt's pitch constraints."""

    name = "music-basicpitch"
    version = "2.0"  # 2: wrong octave 0 when the prompt names it; dominance by salience replaces the extras count
    tier = "lite"

    def __init__(self) -> None:
        self._model: pitch.BasicPitchOnnx | None = None

    def unavailable_reason(self, options: Mapping[str, Any]) -> str | None:
        return pitch.model_missing_reason()

    def transcribe(self, audio: np.ndarray, max_midi: int = MAX_MIDI) -> list[Note]:
        if self._model is None:
            self._model = pitch.BasicPitchOnnx(threads=1)
        return self._model.transcribe(audio, onset_threshold=ONSET_THRESHOLD, frame_threshold=FRAME_THRESHOLD,
                                      min_duration=MIN_NOTE_SECONDS, max_midi=max_midi)

    def applies(self, ctx: ItemContext) -> Measurement | None:
        if not ctx.annotation.music:
            return Measurement(Status.NOT_APPLICABLE, message="the prompt names no explicit notes, chords or scales")
        return None

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        constraints = list(ctx.annotation.music)  # some: the runner asked applies() first
        try:
            known = [t.midi for c in constraints for t in targets_of(c) if t.midi is not None]
        except ValueError as exc:
            return Measurement(Status.ERROR, message=f"unreadable music annotation: {exc}")
        audio = clip.audio_at(RATE)
        max_midi = max([MAX_MIDI] + [m + 2 for m in known])
        # Loudest ~93 ms frame: a few quiet notes in a long clip are not silence.
        loudest = float(pitch.frame_rms(audio, len(audio) // pitch.HOP + 1).max()) if audio.size else 0.0
        level = 20 * math.log10(loudest + 1e-12)
        expected = [{"kind": c.kind, "notes": c.notes, "octave_strict": c.octave_strict} for c in constraints]
        base = {"expected": expected, "audio_peak_frame_dbfs": round(level, 1), "max_midi": max_midi,
                "thresholds": {"onset": ONSET_THRESHOLD, "frame": FRAME_THRESHOLD, "min_note_s": MIN_NOTE_SECONDS}}
        if audio.size == 0 or level < SILENCE_DBFS:
            return Measurement(Status.OK, 0.0, {**base, "detected": []},
                               f"the audio is silent (loudest frame {level:.0f} dBFS) but the prompt asks for notes")
        notes = self.transcribe(audio, max_midi)
        if not notes:
            return Measurement(Status.OK, 0.0, {**base, "detected": []}, "no musical note was detected")
        raw, evidence = score_notes(notes, constraints, [pitch.note_salience(audio, n) for n in notes])
        check, per_note = (pyin_check(audio, notes) if ctx.options.get("music_pyin", True)
                           else ({"status": "disabled"}, []))
        detected = []
        for k, n in enumerate(notes[:MAX_LISTED]):
            entry = _note_entry(n)
            if k < len(per_note) and per_note[k] is not None:
                entry["pyin"] = round(per_note[k], 2)
            detected.append(entry)
        evidence = {**base, "detected": detected, "detected_count": len(notes), **evidence, "pyin_check": check}
        return Measurement(Status.OK, raw, evidence)


# paper tier: the transcription judged against the constraints -----------------------------

MAX_NOTES_SENT = 80
VERDICT_POINTS = {"satisfied": 1.0, "partial": 0.5}


def judged_score(n_constraints: int, verdicts: list[dict[str, Any]]) -> float:
    """100 × (satisfied + 0.5 × partial) / constraints; a constraint without a verdict counts as violated."""
    if n_constraints <= 0:
        raise ValueError("judged_score needs at least one constraint")
    by_index = {v.get("index"): v.get("verdict") for v in verdicts}
    points = sum(VERDICT_POINTS.get(by_index.get(i), 0.0) for i in range(n_constraints))
    return 100.0 * points / n_constraints


def judge_once(client, item: PromptItem, constraints: list[dict[str, Any]], notes: list[dict[str, Any]],
               repeat: int = 0) -> dict[str, Any]:
    """The stage music.judge: the listed constraints and the detected notes -> a verdict per constraint, and the score."""
    answer = client.ask(request("music.judge", repeat=repeat, prompt=item.prompt,
                                constraints=json.dumps(constraints, ensure_ascii=False),
                                notes=json.dumps(notes, ensure_ascii=False)))
    verdicts = [{"index": v.get("index"), "verdict": v.get("verdict"), "reason": str(v.get("reason", ""))[:160]}
                for v in answer.data["verdicts"]]
    return {"verdicts": verdicts, "score": judged_score(len(constraints), answer.data["verdicts"]),
            "calls": answer.calls, "cached": int(answer.cached)}


def constraints_for(client, item: PromptItem, annotation: PromptAnnotation) -> tuple[list[MusicConstraint], str]:
    """Pitch constraints: from a frozen judge annotation, else extracted by the judge once per prompt (cached),
    else (no judge) the rule-based annotation's. Returns (constraints, where they came from)."""
    if judge_made(annotation) or client is None:
        return list(annotation.music), ("frozen judge annotation" if judge_made(annotation) else "rule-based annotation")
    return music_constraints(prompt_requirements(client, item)), f"judge {load('prompt.requirements').tag}"


def paper_backend() -> JudgedBackend:
    """Paper tier (`music-basicpitch-judge`): the lite Basic Pitch transcription (same model and thresholds), the
    prompt's pitch constraints as extracted by the judge (frozen annotation, else asked once per prompt and cached),
    and the judge's verdict per constraint; score = 100 × (satisfied + 0.5 × partial) / constraints, computed here.
    The lite rule score is kept in the evidence as a cross-check."""
    lite = MusicBasicPitchLite()  # its transcription settings and model cache

    def run(client, clip, ctx, repeats):
        constraints, source = constraints_for(client, ctx.item, ctx.annotation)
        if not constraints:
            return Measurement(Status.NOT_APPLICABLE, evidence={"constraints_from": source},
                               message="the prompt names no explicit notes, chords or scales")
        try:
            known = [t.midi for c in constraints for t in targets_of(c) if t.midi is not None]
        except ValueError as exc:
            return Measurement(Status.ERROR, message=f"unreadable music constraint: {exc}")
        listed = [{"index": i, "kind": c.kind, "notes": c.notes, "octave_strict": c.octave_strict}
                  for i, c in enumerate(constraints)]
        base = {"constraints_from": source, "expected": listed}
        audio = clip.audio_at(RATE)
        loudest = float(pitch.frame_rms(audio, len(audio) // pitch.HOP + 1).max()) if audio.size else 0.0
        level = 20 * math.log10(loudest + 1e-12)
        notes = [] if level < SILENCE_DBFS else lite.transcribe(audio, max([MAX_MIDI] + [m + 2 for m in known]))
        if not notes:  # nothing to compare: decided without asking
            return {"score": 0.0, **base, "detected": [], "audio_peak_frame_dbfs": round(level, 1), "calls": 0,
                    "cached": 0, "message": "no musical note was detected"}
        sent = [{"onset": round(n.onset, 3), "offset": round(n.offset, 3), "note": n.name} for n in notes[:MAX_NOTES_SENT]]
        result = repeated(lambda k: judge_once(client, ctx.item, listed, sent, k), repeats)
        rule_raw, _ = score_notes(notes, constraints, [pitch.note_salience(audio, n) for n in notes])
        result.evidence.update(base, detected=[_note_entry(n) for n in notes[:MAX_LISTED]], detected_count=len(notes),
                      lite_rule_score=round(rule_raw, 1),
                      rule="100 × (satisfied + 0.5 × partial) / constraints; a constraint without a verdict is violated")
        return result

    return JudgedBackend("music-basicpitch-judge", "2", run, ("music.judge", "prompt.requirements"),  # 2: lite rule score changed
                         tool_problem=lambda options: pitch.model_missing_reason())


DIMENSION = Dimension(
    id="music", needs=MediaNeeds(audio_rates=(RATE,), needs_audio=True),
    annotations_used=("music",),
    backends={"lite": MusicBasicPitchLite, "paper": paper_backend},
)
