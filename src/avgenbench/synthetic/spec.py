"""A declarative clip spec: what to put where and when. Plain dataclasses, loadable from a JSON dict.

Times are seconds on the video timeline. Colours are RGB triples. Everything not given takes a default, so
`ClipSpec.from_dict({})` is a valid 8 s, 1280x720, 24 fps clip of a textured backdrop.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .sound import TIMBRES, note_to_midi


def _pitch(value: Any) -> int:
    """A MIDI number from 69, 69.0 or 'A4'."""
    if isinstance(value, str):
        return note_to_midi(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(round(value))
    raise ValueError(f"not a pitch (MIDI number or note name with octave): {value!r}")


@dataclass
class Impact:
    """An object landing on the floor at `time`; `lane` picks one of several objects side by side."""

    time: float
    lane: int = 0


@dataclass
class Note:
    """One struck note or chord (several pitches at once)."""

    pitches: list[int]
    start: float
    duration: float = 0.6
    timbre: str = "piano"
    amplitude: float = 0.35


@dataclass
class TextItem:
    text: str
    start: float = 0.0
    end: float | None = None  # None: until the end of the clip
    size: int = 48
    x: int | None = None  # top-left; None centres the text
    y: int | None = None
    color: tuple[int, int, int] = (255, 255, 255)
    box: tuple[int, int, int] | None = (20, 20, 20)
    jitter_px: int = 0  # each frame moves the text by up to this many pixels
    garble_edits: int = 0  # letters substituted (known edit distance from `text`)
    seed: int = 0


@dataclass
class FaceItem:
    identity: str  # a name from faces.list_identities(), or '#k' for the k-th of them
    cx: float = 0.5  # centre as a fraction of width/height
    cy: float = 0.45
    height: float = 0.5  # fraction of frame height
    start: float = 0.0
    end: float | None = None
    variant: str = "plain"
    lip_sync: bool = True  # mouth follows the speech envelope
    lip_offset_frames: int = 0  # mouth motion lags (+) or leads (-) the audio by this many frames


@dataclass
class SpeechItem:
    """A spoken line (TTS) or, with `babble`, speech-like but meaningless sound, starting at `start`."""

    text: str = ""
    start: float = 0.5
    babble: bool = False
    duration: float = 2.0  # babble length; a spoken line lasts as long as the TTS makes it
    gain: float = 0.6
    seed: int = 0
    babble_without_tts: bool = False  # no espeak-ng: babble of `duration` instead of skipping (recorded in truth)


@dataclass
class ClipSpec:
    width: int = 1280
    height: int = 720
    fps: float = 24.0
    duration: float = 8.0
    sample_rate: int = 48000
    background: str = "texture"  # 'texture' (fine detail, for quality anchors), 'gradient' or 'flat'
    seed: int = 0
    impacts: list[Impact] = field(default_factory=list)
    audio_offset_ms: float = 0.0  # impact sounds come this much after (+) or before (-) the visual contact
    notes: list[Note] = field(default_factory=list)
    show_keyboard: bool = True  # draw a keyboard that lights up the sounding keys when there are notes
    texts: list[TextItem] = field(default_factory=list)
    faces: list[FaceItem] = field(default_factory=list)
    speech: list[SpeechItem] = field(default_factory=list)
    moving_shapes: int = 0  # extra drifting shapes: motion for quality anchors
    tone_bed: bool = False  # a soft sustained chord under everything (an audio anchor with steady level)

    @property
    def n_frames(self) -> int:
        return max(1, int(round(self.duration * self.fps)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ClipSpec":
        data = dict(data)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown clip spec keys: {', '.join(unknown)}")
        spec = cls(**{k: v for k, v in data.items() if k not in ("impacts", "notes", "texts", "faces", "speech")})
        spec.impacts = [_impact(i) for i in data.get("impacts", [])]
        spec.notes = [n for raw in data.get("notes", []) for n in _notes(raw)]
        spec.texts = [_text(t) for t in data.get("texts", [])]
        spec.faces = [FaceItem(**f) for f in data.get("faces", [])]
        spec.speech = [SpeechItem(**s) for s in data.get("speech", [])]
        spec.validate()
        return spec

    def validate(self) -> None:
        if self.width < 16 or self.height < 16 or self.fps <= 0 or self.duration <= 0:
            raise ValueError("clip spec needs width/height >= 16 and positive fps and duration")
        for note in self.notes:
            if note.timbre not in TIMBRES:
                raise ValueError(f"unknown timbre {note.timbre!r}; known: {', '.join(TIMBRES)}")
        for item in self.texts:
            if item.end is not None and item.end <= item.start:
                raise ValueError(f"text {item.text!r} ends before it starts")


def _impact(raw: Any) -> Impact:
    if isinstance(raw, (int, float)):
        return Impact(float(raw))
    return Impact(float(raw["time"]), int(raw.get("lane", 0)))


def _notes(raw: dict[str, Any]) -> list[Note]:
    """One note event, or a `sequence` expanded into notes `step` seconds apart.

    Pitches: `midi` (number or list), `note` (name or list), `chord` (list of either), `sequence` (list, one by one).
    """
    raw = dict(raw)
    common = {k: raw[k] for k in ("duration", "timbre", "amplitude") if k in raw}
    if "sequence" in raw:
        start, step = float(raw.get("start", 0.0)), float(raw.get("step", common.get("duration", 0.6)))
        out = []
        for i, p in enumerate(raw["sequence"]):
            pitches = [_pitch(x) for x in p] if isinstance(p, list) else [_pitch(p)]
            out.append(Note(pitches, start + i * step, **common))
        return out
    for key in ("pitches", "chord", "midi", "note"):
        if key in raw:
            value = raw[key]
            pitches = [_pitch(x) for x in value] if isinstance(value, list) else [_pitch(value)]
            return [Note(pitches, float(raw.get("start", 0.0)), **common)]
    raise ValueError(f"note entry needs one of midi, note, chord or sequence: {raw}")


def _text(raw: Any) -> TextItem:
    if isinstance(raw, str):
        return TextItem(raw)
    raw = dict(raw)
    for key in ("color", "box"):
        if isinstance(raw.get(key), list):
            raw[key] = tuple(raw[key])
    return TextItem(**raw)
