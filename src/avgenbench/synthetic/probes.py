"""Calibration probes, one set per dimension: clips with known truth, perturbations aimed at the dimension, and a
recovery check that compares what the backend reported against the truth.

Register a new dimension's probes with `@probe("dim")` on a function `(fast: bool) -> ProbeSet`.

Recovery reads these evidence keys from a backend's Measurement (a backend that reports none of them gets
"not measurable" for recovery, never a pass):
- av:     `offset_s` (signed seconds, + = audio after picture); otherwise `raw` as |offset|
- lip:    `offset_frames` (signed, + = audio after mouth)
- music:  `detected_midi` (MIDI numbers in time order; a chord as one list) or `detected_notes` (names like 'A4')
- text:   `ocr_text` (str) or `ocr_lines` / `found` (list of str)
- face:   `n_identities` (int) or `identities` (int or list)
- speech: `speech_segments` ([[start_s, end_s], ...]); presence also from the status (`no_speech` = none found)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..dimensions.base import Measurement, Status
from .sound import note_to_midi

AV_TARGET_MS = 40.0
LIP_TARGET_FRAMES = 1.0
CER_TARGET = 0.05
SPEECH_ONSET_TARGET_S = 0.3


@dataclass
class ProbeClip:
    name: str
    spec: dict[str, Any]
    prompt: str
    annotation: dict[str, Any] = field(default_factory=dict)
    clean: bool = True  # an anchor for monotonicity: each perturbation of it should score lower


@dataclass
class Perturbation:
    label: str
    fn: str  # a name in synthetic.perturb.PERTURBATIONS
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProbeSet:
    clips: list[ProbeClip]
    perturbations: list[Perturbation]
    recover: Callable[[Measurement, dict[str, Any]], dict[str, Any]] | None = None
    requires: tuple[str, ...] = ()  # synthetic modules the clips need (e.g. 'faces', 'speech')
    target: str = ""  # the recovery target, in words


PROBES: dict[str, Callable[[bool], ProbeSet]] = {}


def probe(dim_id: str):
    def register(fn: Callable[[bool], ProbeSet]) -> Callable[[bool], ProbeSet]:
        PROBES[dim_id] = fn
        return fn

    return register


def _base(fast: bool, **extra) -> dict[str, Any]:
    return {"width": 640, "height": 360, "fps": 24, "duration": 3.0 if fast else 4.0, **extra}


def not_measurable(keys: str) -> dict[str, Any]:
    return {"measurable": False, "ok": False, "message": f"the backend's evidence has none of: {keys}"}


# Vis and Aud: clean anchors, no recoverable quantity ----------------------------

@probe("vis")
def vis_probes(fast: bool) -> ProbeSet:
    clips = [ProbeClip("vis-shapes", _base(fast, moving_shapes=4, impacts=[1.0, 2.2]), "Coloured blocks drift over a textured wall."),
             ProbeClip("vis-keys", _base(fast, notes=[{"sequence": ["C4", "E4", "G4"], "start": 0.3, "step": 0.8}],
                                         texts=[{"text": "Studio Session", "size": 36}]), "A keyboard in a studio.")]
    perts = [Perturbation("blur-s3", "blur", {"sigma": 3.0}), Perturbation("noise-s25", "frame_noise", {"sigma": 25.0}),
             Perturbation("bitrate-40k", "recompress", {"bitrate": 40_000}), Perturbation("flicker", "flicker", {})]
    return ProbeSet(clips[:1] if fast else clips, perts[:2] if fast else perts)


@probe("aud")
def aud_probes(fast: bool) -> ProbeSet:
    clips = [ProbeClip("aud-bed", _base(fast, tone_bed=True, notes=[{"sequence": ["E4", "G4", "B4", "E5"], "start": 0.3, "step": 0.7}]),
                       "A soft organ chord under a slow melody."),
             ProbeClip("aud-impacts", _base(fast, tone_bed=True, impacts=[0.7, 1.6, 2.5]), "A ball bounces over a soft drone.")]
    perts = [Perturbation("white-5db", "add_noise", {"snr_db": 5.0}), Perturbation("clip-18db", "clip_audio", {"drive_db": 18.0}),
             Perturbation("lowpass-800", "lowpass", {"cutoff_hz": 800.0}),
             Perturbation("pink-5db", "add_noise", {"snr_db": 5.0, "color": "pink"})]
    return ProbeSet(clips[:1] if fast else clips, perts[:2] if fast else perts)


# AV ---------------------------------------------------------------------------

def av_recovery(m: Measurement, truth: dict[str, Any]) -> dict[str, Any]:
    expected = truth.get("audio_offset_ms", 0.0)
    if m.status != Status.OK:
        return {"measurable": True, "ok": False, "expected_ms": expected, "message": f"status {m.status}"}
    if "offset_s" in m.evidence:
        found = 1000.0 * float(m.evidence["offset_s"])
        error = abs(found - expected)
    elif m.raw is not None:
        found = 1000.0 * float(m.raw)
        error = abs(found - abs(expected))
    else:
        return not_measurable("offset_s, raw")
    return {"measurable": True, "expected_ms": expected, "found_ms": round(found, 1), "error_ms": round(error, 1),
            "ok": error <= AV_TARGET_MS}


@probe("av")
def av_probes(fast: bool) -> ProbeSet:
    offsets = [0, 200] if fast else [-300, -120, 0, 120, 300]
    clips = [ProbeClip(f"av-offset{o:+d}", _base(fast, impacts=[0.6, 1.35, 2.3] + ([] if fast else [3.3]), audio_offset_ms=o,
                                                 background="gradient"),
                       "A ball bounces on the floor; each landing knocks.", clean=(o == 0)) for o in offsets]
    perts = [Perturbation("shift+200", "shift_audio", {"ms": 200}), Perturbation("shift-200", "shift_audio", {"ms": -200})]
    return ProbeSet(clips, perts[:1] if fast else perts, av_recovery, target=f"offset error <= {AV_TARGET_MS:g} ms")


# Music --------------------------------------------------------------------------

def _as_midi(value: Any) -> Any:
    if isinstance(value, list):
        return [_as_midi(v) for v in value]
    return note_to_midi(value) if isinstance(value, str) else int(round(float(value)))


def music_recovery(m: Measurement, truth: dict[str, Any]) -> dict[str, Any]:
    notes = truth.get("notes", [])
    raw = m.evidence.get("detected_midi", m.evidence.get("detected_notes"))
    if raw is None:
        return not_measurable("detected_midi, detected_notes")
    try:
        found = _as_midi(list(raw))
    except (ValueError, TypeError) as exc:
        return {"measurable": False, "ok": False, "message": f"cannot read detected notes {raw!r}: {exc}"}
    if any(n["kind"] == "chord" for n in notes):
        expected_pc = sorted({p % 12 for n in notes for p in n["midi"]})
        flat = [p for v in found for p in (v if isinstance(v, list) else [v])]
        found_pc = sorted({p % 12 for p in flat})
        return {"measurable": True, "kind": "chord", "expected_pitch_classes": expected_pc,
                "found_pitch_classes": found_pc, "ok": found_pc == expected_pc}
    expected = [n["midi"][0] for n in notes]
    flat = [v[0] if isinstance(v, list) and len(v) == 1 else v for v in found]
    return {"measurable": True, "kind": "notes", "expected_midi": expected, "found_midi": flat,
            "wrong": edit_distance(expected, flat), "ok": flat == expected}


def _music_annotation(kind: str, names: list[str]) -> dict[str, Any]:
    return {"music": [{"kind": kind, "notes": names, "midi": [note_to_midi(n) for n in names], "octave_strict": True,
                       "source_text": " ".join(names)}]}


@probe("music")
def music_probes(fast: bool) -> ProbeSet:
    dur = 3.0 if fast else 4.0
    clips = [
        ProbeClip("music-a4x4", _base(fast, notes=[{"sequence": ["A4"] * 4, "start": 0.3, "step": dur / 4.4, "duration": dur / 5}]),
                  "The note A4 is played four times.", _music_annotation("sequence", ["A4"] * 4)),
        ProbeClip("music-c-arpeggio", _base(fast, notes=[{"sequence": ["C4", "E4", "G4", "C5"], "start": 0.3, "step": dur / 4.4,
                                                          "duration": dur / 5}]),
                  "A rising C major arpeggio, C4 E4 G4 C5.", _music_annotation("sequence", ["C4", "E4", "G4", "C5"])),
        ProbeClip("music-c-chord", _base(fast, notes=[{"chord": ["C4", "E4", "G4"], "start": 0.4, "duration": dur - 0.8}]),
                  "A C major chord rings out.", _music_annotation("chord", ["C4", "E4", "G4"])),
        ProbeClip("music-g3", _base(fast, notes=[{"note": "G3", "start": 0.4, "duration": 1.5, "timbre": "guitar"}]),
                  "A single guitar note, G3.", _music_annotation("note", ["G3"])),
    ]
    perts = [Perturbation("pitch+1", "pitch_shift", {"semitones": 1}), Perturbation("pitch-2", "pitch_shift", {"semitones": -2})]
    return ProbeSet(clips[:2] if fast else clips, perts[:1] if fast else perts, music_recovery,
                    target="exact MIDI notes; exact pitch-class set on chords")


# Text ---------------------------------------------------------------------------

def edit_distance(a, b) -> int:
    """Levenshtein distance between two sequences (strings or lists)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def cer(found: str, expected: str) -> float:
    """Character error rate of `found` against `expected` (case and spacing ignored)."""
    expected, found = _norm(expected), _norm(found)
    return edit_distance(found, expected) / max(1, len(expected))


def text_recovery(m: Measurement, truth: dict[str, Any]) -> dict[str, Any]:
    ev = m.evidence
    lines = ev.get("ocr_lines", ev.get("found"))
    candidates = [ev["ocr_text"]] if isinstance(ev.get("ocr_text"), str) else []
    if isinstance(lines, list):
        candidates += [str(x) for x in lines] + [" ".join(str(x) for x in lines)]
    if not candidates:
        return not_measurable("ocr_text, ocr_lines, found")
    per_text = []
    for item in truth.get("texts", []):
        best = min(candidates, key=lambda c: cer(_best_window(c, item["rendered"]), item["rendered"]))
        value = cer(_best_window(best, item["rendered"]), item["rendered"])
        per_text.append({"rendered": item["rendered"], "read": _best_window(best, item["rendered"]), "cer": round(value, 4)})
    worst = max((p["cer"] for p in per_text), default=0.0)
    return {"measurable": True, "texts": per_text, "cer": worst, "ok": worst <= CER_TARGET}


def _best_window(found: str, expected: str) -> str:
    """The run of words in `found` closest to `expected` (OCR output may hold other text too)."""
    words = found.split()
    n = len(expected.split())
    if len(words) <= n:
        return found
    windows = [" ".join(words[i:i + k]) for k in (n - 1, n, n + 1) if k > 0 for i in range(len(words) - k + 1)]
    return min(windows, key=lambda w: cer(w, expected))


@probe("text")
def text_probes(fast: bool) -> ProbeSet:
    def clip(name, texts, prompt):
        return ProbeClip(name, _base(fast, texts=texts, background="gradient"), prompt,
                         {"required_text": [t["text"] for t in texts]})

    clips = [clip("text-fresh", [{"text": "Fresh Every Time", "size": 40}], "The on-screen text reads 'Fresh Every Time'."),
             clip("text-open", [{"text": "OPEN 24 HOURS", "size": 36, "y": 200, "color": [255, 230, 80], "jitter_px": 2}],
                  "A jittery sign reads 'OPEN 24 HOURS'."),
             clip("text-small", [{"text": "Limited Edition", "size": 28, "x": 40, "y": 60, "box": None}],
                  "Small caption 'Limited Edition' in the corner.")]
    perts = [Perturbation("garble-3", "garble_text", {"edits": 3}), Perturbation("no-text", "remove_text", {}),
             Perturbation("blur-s4", "blur", {"sigma": 4.0})]
    return ProbeSet(clips[:1] if fast else clips, perts[:2] if fast else perts, text_recovery,
                    target=f"CER <= {CER_TARGET:.0%} against the rendered strings")


# Face, Lip, Speech (their renderers live in synthetic/faces.py and synthetic/speech.py) --------------------------

def face_recovery(m: Measurement, truth: dict[str, Any]) -> dict[str, Any]:
    expected = len(truth.get("identities", []))
    value = m.evidence.get("n_identities", m.evidence.get("identities"))
    if value is None:
        return not_measurable("n_identities, identities")
    found = len(value) if isinstance(value, list) else int(value)
    return {"measurable": True, "expected": expected, "found": found, "ok": found == expected}


def _identities(n: int) -> list[str]:
    from .faces import list_identities

    return list_identities()[:n]


@probe("face")
def face_probes(fast: bool) -> ProbeSet:
    clips = []
    for n in ((1, 2) if fast else (1, 2, 3)):
        ids = _identities(n)
        faces = [{"identity": ident, "cx": (k + 1) / (n + 1), "cy": 0.45, "height": 0.45} for k, ident in enumerate(ids)]
        clips.append(ProbeClip(f"face-{n}", _base(fast, faces=faces, background="gradient"), f"{n} people face the camera.",
                               {"faces": {"min_ids": n, "max_ids": n}}))
    perts = [Perturbation("identity-drift", "drift_identity", {})]
    return ProbeSet(clips, perts, face_recovery, requires=("faces",), target="identity count exact")


def lip_recovery(m: Measurement, truth: dict[str, Any]) -> dict[str, Any]:
    faces = truth.get("faces") or [{}]
    # The mouth lags the audio by lip_offset_frames, so the audio leads the mouth: audio offset = -lip_offset_frames.
    expected = -int(faces[0].get("lip_offset_frames", 0))
    if "offset_frames" not in m.evidence:
        return not_measurable("offset_frames")
    found = float(m.evidence["offset_frames"])
    return {"measurable": True, "expected_frames": expected, "found_frames": found, "error_frames": abs(found - expected),
            "ok": abs(found - expected) <= LIP_TARGET_FRAMES}


@probe("lip")
def lip_probes(fast: bool) -> ProbeSet:
    ident = _identities(1)[0]
    offsets = (0, 3) if fast else (-4, 0, 3)
    clips = [ProbeClip(f"lip-offset{o:+d}",
                       _base(fast, faces=[{"identity": ident, "cy": 0.45, "height": 0.6, "lip_offset_frames": o}],
                             speech=[{"text": "We measure how well the lips follow the voice.", "start": 0.3}],
                             background="gradient"),
                       "A presenter speaks to the camera.", {"speech_required": True}, clean=(o == 0)) for o in offsets]
    perts = [Perturbation("shift+208", "shift_audio", {"ms": 208}), Perturbation("shift-208", "shift_audio", {"ms": -208})]
    return ProbeSet(clips, perts[:1] if fast else perts, lip_recovery, requires=("faces", "speech"),
                    target=f"offset error <= {LIP_TARGET_FRAMES:g} frame")


def speech_recovery(m: Measurement, truth: dict[str, Any]) -> dict[str, Any]:
    spoken = [s for s in truth.get("speech", []) if not s.get("babble")]
    if m.status == Status.NO_SPEECH:
        return {"measurable": True, "expected_speech": bool(spoken), "found_speech": False, "ok": not spoken}
    segments = m.evidence.get("speech_segments")
    if segments is None:
        return not_measurable("speech_segments")
    found = bool(segments)
    result = {"measurable": True, "expected_speech": bool(spoken), "found_speech": found, "ok": found == bool(spoken)}
    if spoken and found:
        onset_error = abs(float(segments[0][0]) - spoken[0]["start"])
        result.update(onset_error_s=round(onset_error, 3), ok=onset_error <= SPEECH_ONSET_TARGET_S)
    return result


@probe("speech")
def speech_probes(fast: bool) -> ProbeSet:
    lines = ["Good evening, and welcome to the news.", "The weather will be clear and cold tonight."]
    clips = [ProbeClip(f"speech-{k}", _base(fast, speech=[{"text": line, "start": 0.4 + 0.3 * k}], tone_bed=False),
                       f"A narrator says: '{line}'", {"speech_required": True, "speech_lines": [line]})
             for k, line in enumerate(lines[:1] if fast else lines)]
    clips.append(ProbeClip("speech-none", _base(fast, notes=[{"sequence": ["C4", "E4", "G4"], "start": 0.3, "step": 0.8}]),
                           "A piano melody with no voice.", {"speech_required": False}, clean=False))
    perts = [Perturbation("white-0db", "add_noise", {"snr_db": 0.0}), Perturbation("lowpass-500", "lowpass", {"cutoff_hz": 500.0}),
             Perturbation("silence", "silence", {})]
    return ProbeSet(clips, perts[:2] if fast else perts, speech_recovery, requires=("speech",),
                    target=f"presence right; onset within {SPEECH_ONSET_TARGET_S:g} s")
