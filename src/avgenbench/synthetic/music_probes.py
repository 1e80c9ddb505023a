"""Ground-truth probes for the Music dimension: small clips with known notes, their annotation, and perturbed twins.

`music_probes(out_dir)` renders each probe and its perturbations (the same clip rendered with shifted or extra
notes) and returns one dict per probe:
    {"id", "prompt", "path", "truth": {"midi": [...], "kind"}, "annotation": PromptAnnotation dict,
     "perturbations": [{"name": "pitch+1", "path", "truth"}, ...], "targets": {"min_original", "min_drop"}}
A sound Music backend scores each original at least `min_original` (0–100) and each perturbation at least
`min_drop` points below its original (wrong pitch, wrong octave when octave-strict, missing or extra notes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..annotations import MusicConstraint, PromptAnnotation
from .encode import write_clip
from .sound import chord, midi_to_name, mix_into, tone

SAMPLE_RATE = 48000
FPS = 12
SIZE = (160, 90)
TARGETS = {"min_original": 90.0, "min_drop": 15.0}


@dataclass
class Event:
    start: float
    midis: tuple[int, ...]  # one note, or a block chord
    duration: float = 0.6


@dataclass
class Probe:
    id: str
    prompt: str
    kind: str
    events: list[Event]
    constraints: list[MusicConstraint]
    timbre: str = "piano"
    duration: float = 4.0
    perturbations: dict[str, list[Event]] = field(default_factory=dict)


def render_notes(path: Path | str, events: list[Event], duration: float = 4.0, timbre: str = "piano",
                 sample_rate: int = SAMPLE_RATE) -> Path:
    """A small mp4 (160x90, 12 fps, AAC) whose audio plays `events`; the picture is a plain panel that brightens
    while a note sounds."""
    audio = np.zeros(int(duration * sample_rate), np.float32)
    for event in events:
        sound = tone(event.midis[0], event.duration, sample_rate, timbre) if len(event.midis) == 1 else \
            chord(list(event.midis), event.duration, sample_rate, timbre)
        mix_into(audio, sound, event.start, sample_rate)
    width, height = SIZE
    frames = []
    for k in range(int(duration * FPS)):
        t = k / FPS
        lit = any(e.start <= t < e.start + e.duration for e in events)
        frames.append(np.full((height, width, 3), 150 if lit else 60, np.uint8))
    return write_clip(path, frames, fps=FPS, audio=audio, sample_rate=sample_rate)


def shifted(events: list[Event], semitones: int) -> list[Event]:
    return [Event(e.start, tuple(m + semitones for m in e.midis), e.duration) for e in events]


def with_extras(events: list[Event], extra: list[Event]) -> list[Event]:
    return sorted(events + extra, key=lambda e: e.start)


def _sequence(midis: list[int], start: float = 0.4, step: float = 0.8, duration: float = 0.6) -> list[Event]:
    return [Event(start + k * step, (m,), duration) for k, m in enumerate(midis)]


def _strict(kind: str, midis: list[int], text: str) -> MusicConstraint:
    return MusicConstraint(kind=kind, notes=[midi_to_name(m) for m in midis], midi=list(midis), octave_strict=True,
                           source_text=text)


def probe_set() -> list[Probe]:
    a4 = _sequence([69] * 4)
    arpeggio = _sequence([60, 64, 67, 72])
    c_major = [Event(0.5, (60, 64, 67), 1.5)]
    inversion = [Event(0.5, (64, 67, 72), 1.5)]
    kalimba = _sequence([72, 74, 76, 77, 79], start=0.3, step=0.7, duration=0.55)
    return [
        Probe("a4_four_times", "A guitarist plucks the note A4 four times.", "note", a4,
              [_strict("note", [69] * 4, "the note A4 four times")], timbre="guitar",
              perturbations={"pitch+1": shifted(a4, 1), "octave+12": shifted(a4, 12), "three_notes": a4[:3],
                             "extra_notes": with_extras(a4, _sequence([62, 65, 77], start=0.8, step=0.8, duration=0.3))}),
        Probe("c_major_arpeggio", "A hand plays a rising C major arpeggio, C4–E4–G4–C5.", "sequence", arpeggio,
              [_strict("sequence", [60, 64, 67, 72], "C4–E4–G4–C5")],
              perturbations={"pitch+1": shifted(arpeggio, 1), "octave-12": shifted(arpeggio, -12),
                             "reversed": _sequence([72, 67, 64, 60])}),
        Probe("c_major_chord", "A pianist presses a C major triad (C–E–G) as a block chord.", "chord", c_major,
              [MusicConstraint(kind="chord", notes=["C", "E", "G"], source_text="C major triad (C–E–G)")],
              perturbations={"pitch+1": shifted(c_major, 1), "minor": [Event(0.5, (60, 63, 67), 1.5)]}),
        Probe("c_major_chord_inversion", "An organist holds a C major chord.", "chord", inversion,
              [MusicConstraint(kind="chord", notes=["C major"], source_text="a C major chord")], timbre="organ",
              perturbations={"pitch+2": shifted(inversion, 2)}),
        Probe("kalimba_c_to_g", "Thumbs pluck five tines: C, D, E, F, G.", "sequence", kalimba,
              [MusicConstraint(kind="sequence", notes=["C", "D", "E", "F", "G"], source_text="C, D, E, F, G")],
              timbre="sine", perturbations={"pitch+1": shifted(kalimba, 1)}),
    ]


def _truth(probe: Probe, events: list[Event]) -> dict[str, Any]:
    return {"midi": [m for e in events for m in e.midis], "kind": probe.kind}


FAST = {"a4_four_times": ("pitch+1", "three_notes"), "c_major_chord": ("minor",)}  # calibrate --fast


def music_probes(out_dir: Path | str, fast: bool = False) -> list[dict[str, Any]]:
    """Render every probe and its perturbations under `out_dir`; see the module docstring for the dicts.
    `fast`: only the probes and perturbations named in FAST."""
    out_dir = Path(out_dir)
    probes = []
    for probe in probe_set():
        if fast and probe.id not in FAST:
            continue
        path = render_notes(out_dir / f"{probe.id}.mp4", probe.events, probe.duration, probe.timbre)
        perturbations = []
        for name, events in probe.perturbations.items():
            if fast and name not in FAST[probe.id]:
                continue
            variant = render_notes(out_dir / f"{probe.id}__{name}.mp4", events, probe.duration, probe.timbre)
            perturbations.append({"name": name, "path": str(variant), "truth": _truth(probe, events)})
        probes.append({
            "id": probe.id, "prompt": probe.prompt, "path": str(path), "truth": _truth(probe, probe.events),
            "annotation": PromptAnnotation(music=probe.constraints).model_dump(), "perturbations": perturbations,
            "targets": dict(TARGETS),
        })
    return probes
