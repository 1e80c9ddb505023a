"""Calibration probes: ONE registry per dimension of clips with known truth and perturbations aimed at the dimension.

A dimension's probe set joins two kinds of source (see `PROBES`):
- *author* sources: the probe functions written with each backend (`av_probes`, `vis_probes`, `text_probes`,
  `music_probes`, `speech_probes`, `aud_probes`, `face_probes`, `lip_probes`). Each writes clips into a folder and
  returns {"path", "truth", "annotation", "perturbations": [{"name", "path"}]}; calibrate caches the folder under a
  digest of the function's module source and arguments.
- *generator* sources: ClipSpecs rendered by `synthetic/generator.py` and degraded by `synthetic/perturb.py`: they
  test the shared generator -> perturbation path that the demo and users' "generate then evaluate" flows rely on.
  `perturb.py` transforms are also applied to author clips where the author has none of that kind (Vis).

A perturbation belongs to a dimension only when it damages what the lite backend measures (Speech lite measures
presence and timing, so noise and low-pass are not aimed at it; silence, truncation and replacement by non-speech are).

Recovery (`recover(dim, measurement, truth)`) reads the evidence the real backends report:
- av:     `offset_ms` (signed MAP offset, + = sound later than picture) vs truth `audio_offset_ms` / `offset_ms`.
- lip:    `tracks[].offset` of the confident track with most frames (+ = audio after the mouth, 25 fps frames) vs
          truth `offset_frames` (author: voice later than the mouth, 25 fps clips) or -`faces[0].lip_offset_frames`
          × 25 / clip fps (generator: the mouth lags the audio, so the audio leads).
- music:  `detected[].midi` in onset order vs the truth notes; chords: pitch-class set of all detected notes.
- text:   `required[].best_match` (the best OCR line) against each rendered string: CER = edit distance to the best
          substring over the rendered length, letters and digits only, case-folded (dimensions/text.py `cer`).
- face:   `primary_ids` vs the number of identities put on screen.
- speech: presence from `vad.segments` (or raw 0 with no segment) vs truth; onset `vad.segments[0][0]` vs the first
          spoken line's start; author truths also give the expected status and raw range.
- vis, aud: no recoverable quantity (clean clips are quality anchors); an author truth's expected status and raw
          range (e.g. a silent track scores Aud 1) are checked.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..dimensions.base import Measurement, Status
from .ctrl_probes import ctrl_recovery

AV_TARGET_MS = 40.0
LIP_TARGET_FRAMES = 1.0
CER_TARGET = 0.05
SPEECH_ONSET_TARGET_S = 0.3


# shapes ------------------------------------------------------------------------

@dataclass
class Perturbation:
    label: str
    fn: str  # a name in synthetic.perturb.PERTURBATIONS
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProbeClip:
    """A generator probe: a ClipSpec dict, its prompt and annotation, and the perturbations applied to it."""

    name: str
    spec: dict[str, Any]
    prompt: str
    annotation: dict[str, Any] = field(default_factory=dict)
    perturbations: list[Perturbation] = field(default_factory=list)


@dataclass
class Probe:
    """One materialised probe clip: its file, truth and annotation, and perturbed copies [{"name", "path"}]."""

    name: str
    path: str
    truth: dict[str, Any]
    annotation: dict[str, Any]
    perturbations: list[dict[str, str]]
    source: str
    prompt: str = ""


@dataclass
class Built:
    probes: list[Probe] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # what could not be rendered here, and why


@dataclass
class Source:
    name: str
    build: Callable[[Path, bool], Built]
    requires: tuple[str, ...] = ()  # synthetic modules the clips need (e.g. 'faces')


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:10]


# generator sources -----------------------------------------------------------------

def _perturb(source: Path, pert: Perturbation) -> Path:
    from .generator import read_truth
    from .perturb import PERTURB_VERSION, apply

    path = source.with_name(f"{source.stem}--{pert.label}-{_digest(PERTURB_VERSION, pert.fn, pert.params)}.mp4")
    if not (path.is_file() and read_truth(path)):
        apply(pert.fn, source, path, **pert.params)
    return path


def _perturbed(path: Path, perts: list[Perturbation], built: Built, name: str) -> list[dict[str, str]]:
    out = []
    for pert in perts:
        try:
            out.append({"name": pert.label, "path": str(_perturb(path, pert))})
        except (ValueError, ImportError, RuntimeError) as exc:
            built.skipped.append({"probe": f"{name} / {pert.label}", "reason": str(exc)})
    return out


def generator_source(name: str, clips: Callable[[bool], list[ProbeClip]], requires: tuple[str, ...] = ()) -> Source:
    def build(cache: Path, fast: bool) -> Built:
        from .generator import GENERATOR_VERSION, read_truth, render

        built = Built()
        for clip in clips(fast):
            path = cache / "generator" / f"{clip.name}-{_digest(GENERATOR_VERSION, clip.spec)}.mp4"
            path.parent.mkdir(parents=True, exist_ok=True)
            if not (path.is_file() and read_truth(path)):
                render(clip.spec, path)
            truth = read_truth(path)
            if truth.get("skipped"):
                built.skipped += [{"probe": clip.name, "reason": s["reason"]} for s in truth["skipped"]]
                continue
            built.probes.append(Probe(clip.name, str(path), truth, dict(clip.annotation),
                                      _perturbed(path, clip.perturbations, built, clip.name), name, clip.prompt))
        return built

    return Source(name, build, requires)


# author sources ---------------------------------------------------------------------

def author_source(module: str, fn_name: str, kwargs: Callable[[bool], dict[str, Any]] | None = None,
                  extra: Callable[[bool], list[Perturbation]] | None = None, requires: tuple[str, ...] = ()) -> Source:
    """An author's probe function `synthetic.<module>.<fn_name>(out_dir, **kwargs(fast))`, cached by its module source;
    `extra` perturbations (synthetic/perturb.py) are applied to each of its probes that has perturbations."""
    label = f"{module}.{fn_name}"

    def build(cache: Path, fast: bool) -> Built:
        from .generator import GENERATOR_VERSION
        from .perturb import PERTURB_VERSION

        mod = importlib.import_module(f"avgenbench.synthetic.{module}")
        args = kwargs(fast) if kwargs else {}
        # Keyed by the source of every synthetic module (renderers included), so a changed renderer re-renders.
        sources = [p.read_text(encoding="utf-8") for p in sorted(Path(__file__).parent.glob("*.py")) if p.name != "probes.py"]
        out = cache / "author" / f"{fn_name}-{_digest(sources, GENERATOR_VERSION, PERTURB_VERSION, args)}"
        manifest = out / "manifest.json"
        items = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else None
        if not items or not all(Path(p).is_file() for it in items for p in [it["path"]] +
                                [q["path"] for q in it["perturbations"]]):
            out.mkdir(parents=True, exist_ok=True)
            items = getattr(mod, fn_name)(out, **args)
            manifest.write_text(json.dumps(items, default=str), encoding="utf-8")
        built = Built()
        extras = extra(fast) if extra else []
        for item in items:
            path = Path(item["path"])
            perts = [{"name": p["name"], "path": str(p["path"])} for p in item["perturbations"]]
            if perts or extras:
                perts += _perturbed(path, extras, built, path.stem)
            built.probes.append(Probe(path.stem, str(path), dict(item["truth"]), dict(item["annotation"]), perts, label,
                                      item.get("prompt", "")))
        return built

    return Source(label, build, requires)


# the registry -------------------------------------------------------------------------

def _base(fast: bool, **extra) -> dict[str, Any]:
    return {"width": 640, "height": 360, "fps": 24, "duration": 4.0, **extra}  # fast clips are full clips, fewer


def _av_clips(fast: bool) -> list[ProbeClip]:
    offsets = [0, 120] if fast else [-300, -120, 0, 120, 300]
    shift = [Perturbation("shift+200", "shift_audio", {"ms": 200}), Perturbation("shift-200", "shift_audio", {"ms": -200})]
    return [ProbeClip(f"av-offset{o:+d}", _base(fast, impacts=[0.6, 1.35, 2.3, 3.3], audio_offset_ms=o,
                                               background="gradient"),
                      "A ball bounces on the floor; each landing knocks.",
                      perturbations=(shift[:1] if fast else shift) if o == 0 else []) for o in offsets]


def _vis_extra(fast: bool) -> list[Perturbation]:
    perts = [Perturbation("blur-s3", "blur", {"sigma": 3.0}), Perturbation("noise-s25", "frame_noise", {"sigma": 25.0}),
             Perturbation("bitrate-40k", "recompress", {"bitrate": 40_000}), Perturbation("flicker", "flicker", {}),
             Perturbation("freeze-1s", "freeze", {"start": 1.0, "duration": 1.0}),
             Perturbation("drop-every-2nd", "drop_frames", {"every": 2})]
    return perts[:3] if fast else perts


def _vis_clips(fast: bool) -> list[ProbeClip]:
    """Drifting shapes and bouncing balls over the generator's textured backdrop. Its smooth backdrop reads as soft
    (clean Vis about 0.4), but every defect must still lower it. A static clip is no anchor: Vis calls a picture
    without motion frozen."""
    return [ProbeClip("vis-shapes", _base(fast, moving_shapes=4, impacts=[1.0, 2.2]), "Coloured blocks drift over a textured wall.",
                      perturbations=_vis_extra(fast))]


def _aud_clips(fast: bool) -> list[ProbeClip]:
    perts = [Perturbation("white-5db", "add_noise", {"snr_db": 5.0}), Perturbation("clip-18db", "clip_audio", {"drive_db": 18.0}),
             Perturbation("lowpass-800", "lowpass", {"cutoff_hz": 800.0}),
             Perturbation("pink-5db", "add_noise", {"snr_db": 5.0, "color": "pink"})]
    return [ProbeClip("aud-bed", _base(fast, tone_bed=True, notes=[{"sequence": ["E4", "G4", "B4", "E5"], "start": 0.3, "step": 0.7}]),
                      "A soft organ chord under a slow melody.", perturbations=perts[:2] if fast else perts)]


def _music_annotation(kind: str, names: list[str]) -> dict[str, Any]:
    from .sound import note_to_midi

    return {"music": [{"kind": kind, "notes": names, "midi": [note_to_midi(n) for n in names], "octave_strict": True,
                       "source_text": " ".join(names)}]}


def _music_clips(fast: bool) -> list[ProbeClip]:
    dur = 4.0
    pitch = [Perturbation("pitch+1", "pitch_shift", {"semitones": 1}), Perturbation("pitch-2", "pitch_shift", {"semitones": -2})]
    clips = [
        ProbeClip("music-c-arpeggio", _base(fast, notes=[{"sequence": ["C4", "E4", "G4", "C5"], "start": 0.3, "step": dur / 4.4,
                                                         "duration": dur / 5}]),
                  "A rising C major arpeggio, C4 E4 G4 C5.", _music_annotation("sequence", ["C4", "E4", "G4", "C5"]),
                  pitch[:1] if fast else pitch),
        ProbeClip("music-c-chord", _base(fast, notes=[{"chord": ["C4", "E4", "G4"], "start": 0.4, "duration": dur - 0.8}]),
                  "A C major chord rings out.", _music_annotation("chord", ["C4", "E4", "G4"]), pitch),
        ProbeClip("music-g3", _base(fast, notes=[{"note": "G3", "start": 0.4, "duration": 1.5, "timbre": "guitar"}]),
                  "A single guitar note, G3.", _music_annotation("note", ["G3"]), pitch),
    ]
    return clips[:1] if fast else clips


def _text_clips(fast: bool) -> list[ProbeClip]:
    # No blur: the lite OCR still reads these captions at CER 0 under a sigma-8 blur, so blur is not aimed at Text.
    perts = [Perturbation("garble-3", "garble_text", {"edits": 3}), Perturbation("no-text", "remove_text", {})]

    def clip(name, texts, prompt):
        return ProbeClip(name, _base(fast, texts=texts, background="gradient"), prompt,
                         {"required_text": [t["text"] for t in texts]}, perts[:1] if fast else perts)

    clips = [clip("text-fresh", [{"text": "Fresh Every Time", "size": 40}], "The on-screen text reads 'Fresh Every Time'."),
             clip("text-open", [{"text": "OPEN 24 HOURS", "size": 36, "y": 200, "color": [255, 230, 80], "jitter_px": 2}],
                  "A jittery sign reads 'OPEN 24 HOURS'."),
             clip("text-small", [{"text": "Limited Edition", "size": 28, "x": 40, "y": 60, "box": None}],
                  "Small caption 'Limited Edition' in the corner.")]
    return clips[:1] if fast else clips


def _identities(n: int) -> list[str]:
    from .faces import list_identities

    return list_identities()[:n]


def _face_clips(fast: bool) -> list[ProbeClip]:
    clips = []
    for n in ((2,) if fast else (1, 2, 3)):
        # Real names, not '#k': drift_identity picks "another" identity by name from the spec.
        faces = [{"identity": ident, "cx": (k + 1) / (n + 1), "cy": 0.45, "height": 0.45} for k, ident in enumerate(_identities(n))]
        clips.append(ProbeClip(f"face-{n}", _base(fast, faces=faces, background="gradient"), f"{n} people face the camera.",
                               {"faces": {"min_ids": n, "max_ids": n}}, [Perturbation("identity-drift", "drift_identity", {})]))
    return clips


def _lip_clips(fast: bool) -> list[ProbeClip]:
    shift = [Perturbation("shift+208", "shift_audio", {"ms": 208}), Perturbation("shift-208", "shift_audio", {"ms": -208})]
    offsets = (3,) if fast else (-4, 0, 3)
    return [ProbeClip(f"lip-offset{o:+d}",
                      _base(fast, faces=[{"identity": _identities(1)[0], "cy": 0.45, "height": 0.6, "lip_offset_frames": o}],
                            speech=[{"text": "We measure how well the lips follow the voice.", "start": 0.3}],
                            background="gradient"),
                      "A presenter speaks to the camera.", {"speech_required": True, "faces": {"min_ids": 1, "max_ids": 1}},
                      shift if o == 0 else []) for o in offsets]


def _speech_clips(fast: bool) -> list[ProbeClip]:
    lines = ["Good evening, and welcome to the news.", "The weather will be clear and cold tonight."]
    return [ProbeClip(f"speech-{k}", _base(fast, speech=[{"text": line, "start": 0.4 + 0.3 * k}]),
                      f"A narrator says: '{line}'", {"speech_required": True, "speech_lines": [line]},
                      [Perturbation("silence", "silence", {})])
            for k, line in enumerate(lines[:1] if fast else lines)]


PROBES: dict[str, list[Source]] = {
    "av": [author_source("av_probes", "av_probes", lambda fast: {"offsets": (0.0, 0.25)} if fast else {}),
           generator_source("generator", _av_clips)],
    "vis": [author_source("av_probes", "vis_probes",
                          lambda fast: {"scenes": ("coffee",) if fast else ("texture", "coffee", "chelsea"), "degradations": ()},
                          extra=_vis_extra),
            generator_source("generator", _vis_clips)],
    "aud": [author_source("speech_probes", "aud_probes", lambda fast: {"kinds": ("music",)} if fast else {}),
            generator_source("generator", _aud_clips)],
    "music": [author_source("music_probes", "music_probes", lambda fast: {"fast": fast}),
              generator_source("generator", _music_clips)],
    "text": [author_source("text_probes", "text_probes",
                           # 4 s clips: 'partial' shows the text for 1 s, clearly under the 2 s legibility bar (at 6 s it
                           # would show 1.5 s, which 1 fps sampling cannot tell from 2 s).
                           lambda fast: {"width": 640, "height": 360, "seconds": 4.0, "fast": fast}),
             generator_source("generator", _text_clips)],
    "face": [author_source("face_probes", "face_probes", lambda fast: {"fast": fast}, requires=("faces",)),
             generator_source("generator", _face_clips, requires=("faces",))],
    "lip": [author_source("face_probes", "lip_probes", lambda fast: {"fast": fast}, requires=("faces",)),
            generator_source("generator", _lip_clips, requires=("faces",))],
    "speech": [author_source("speech_probes", "speech_probes", lambda fast: {"fast": fast}),
               generator_source("generator", _speech_clips)],
    "ctrl": [author_source("ctrl_probes", "ctrl_probes", lambda fast: {"fast": fast})],  # outside Scheme 2
}


# recovery ------------------------------------------------------------------------------

def not_measurable(keys: str) -> dict[str, Any]:
    return {"measurable": False, "ok": False, "message": f"the backend's evidence has none of: {keys}"}


def av_recovery(m: Measurement, truth: dict[str, Any]) -> dict[str, Any] | None:
    expected = truth.get("audio_offset_ms", truth.get("offset_ms"))
    if expected is None:
        return None
    if m.status != Status.OK:
        return {"measurable": True, "ok": False, "expected_ms": expected, "message": f"status {m.status}"}
    if "offset_ms" not in m.evidence:
        return not_measurable("offset_ms")
    found = float(m.evidence["offset_ms"])
    error = abs(found - float(expected))
    return {"measurable": True, "expected_ms": expected, "found_ms": round(found, 1), "error_ms": round(error, 1),
            "ok": error <= AV_TARGET_MS}


def lip_recovery(m: Measurement, truth: dict[str, Any]) -> dict[str, Any] | None:
    if "offset_frames" in truth:
        expected = float(truth["offset_frames"])  # author clips: the voice follows the mouth by this many frames
    elif truth.get("faces") and any(f.get("lip_sync") for f in truth["faces"]):
        # generator: the mouth lags the audio by lip_offset_frames of the clip's own frame rate; Lip counts 25 fps frames
        fps = float(truth.get("video", {}).get("fps", 25.0))
        expected = round(-float(truth["faces"][0].get("lip_offset_frames", 0)) * 25.0 / fps, 3) + 0.0
    else:
        return None
    tracks = [t for t in m.evidence.get("tracks", []) if t.get("confident")]
    if m.status != Status.OK or not tracks:
        why = f"status {m.status}" if m.status != Status.OK else "no confident face track"
        return {"measurable": True, "ok": False, "expected_frames": expected, "message": why}
    found = float(max(tracks, key=lambda t: t["frames"])["offset"])
    error = abs(found - expected)
    return {"measurable": True, "expected_frames": expected, "found_frames": found, "error_frames": error,
            "ok": error <= LIP_TARGET_FRAMES}


def _music_truth(truth: dict[str, Any]) -> tuple[str, list[int]] | None:
    if "midi" in truth and "kind" in truth:
        return ("chord" if truth["kind"] == "chord" else "notes"), list(truth["midi"])
    notes = truth.get("notes")
    if not notes:
        return None
    if any(n["kind"] == "chord" for n in notes):
        return "chord", [p for n in notes for p in n["midi"]]
    return "notes", [n["midi"][0] for n in notes]


def music_recovery(m: Measurement, truth: dict[str, Any]) -> dict[str, Any] | None:
    expected = _music_truth(truth)
    if expected is None:
        return None
    kind, midi = expected
    if m.status != Status.OK:
        return {"measurable": True, "ok": False, "message": f"status {m.status}"}
    if "detected" not in m.evidence:
        return not_measurable("detected")
    found = [d["midi"] for d in sorted(m.evidence["detected"], key=lambda d: d["t"])]
    if kind == "chord":
        want, got = sorted({p % 12 for p in midi}), sorted({p % 12 for p in found})
        return {"measurable": True, "kind": "chord", "expected_pitch_classes": want, "found_pitch_classes": got,
                "wrong": len(set(want) ^ set(got)), "ok": want == got}
    return {"measurable": True, "kind": "notes", "expected_midi": midi, "found_midi": found,
            "wrong": edit_distance(midi, found), "ok": found == midi}


def edit_distance(a, b) -> int:
    """Levenshtein distance between two sequences (strings or lists)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def text_recovery(m: Measurement, truth: dict[str, Any]) -> dict[str, Any] | None:
    from ..dimensions.text import cer as text_cer

    rendered = [t["rendered"] for t in truth.get("texts", [])] or list(truth.get("strings", []))
    if not rendered:
        return None
    if m.status != Status.OK:
        return {"measurable": True, "ok": False, "message": f"status {m.status}"}
    if "required" not in m.evidence:
        return not_measurable("required[].best_match")
    readings = [r.get("best_match", "") for r in m.evidence["required"]]
    per_text = []
    for text in rendered:
        read = min(readings, key=lambda r: text_cer(text, r), default="")
        per_text.append({"rendered": text, "read": read, "cer": round(text_cer(text, read), 4)})
    worst = max(p["cer"] for p in per_text)
    return {"measurable": True, "texts": per_text, "cer": worst, "ok": worst <= CER_TARGET}


def face_recovery(m: Measurement, truth: dict[str, Any]) -> dict[str, Any] | None:
    ids = truth.get("identities")
    if ids is None:
        return None
    expected = len(ids) if isinstance(ids, list) else int(ids)
    if m.status != Status.OK:
        return {"measurable": True, "ok": False, "expected": expected, "message": f"status {m.status}"}
    if "primary_ids" not in m.evidence:
        return not_measurable("primary_ids")
    found = int(m.evidence["primary_ids"])
    return {"measurable": True, "expected": expected, "found": found, "wrong": abs(found - expected), "ok": found == expected}


def speech_recovery(m: Measurement, truth: dict[str, Any]) -> dict[str, Any] | None:
    if "speech_present" in truth:
        present, start = bool(truth["speech_present"]), truth.get("start_s")
    elif "speech" in truth:
        spoken = [s for s in truth["speech"] if not s.get("babble")]
        present, start = bool(spoken), (spoken[0]["start"] if spoken else None)
    else:
        return None
    vad = m.evidence.get("vad")
    if vad is None:
        return {"measurable": True, "ok": False, "message": f"status {m.status}: no voice activity reported"}
    segments = vad.get("segments", [])
    result: dict[str, Any] = {"measurable": True, "expected_speech": present, "found_speech": bool(segments),
                              "ok": bool(segments) == present}
    if present and segments and start is not None:
        onset_error = abs(float(segments[0][0]) - float(start))
        result.update(onset_error_s=round(onset_error, 3), ok=result["ok"] and onset_error <= SPEECH_ONSET_TARGET_S)
    return result


def expected_value(m: Measurement, truth: dict[str, Any]) -> dict[str, Any] | None:
    """An author truth's expected status and raw range, where it gives them."""
    if "status" not in truth and "raw_min" not in truth:
        return None
    ok = True
    result: dict[str, Any] = {"measurable": True, "status": m.status}
    if "status" in truth:
        result["expected_status"] = truth["status"]
        ok = m.status == truth["status"]
    if "raw_min" in truth:
        result["expected_raw"] = [truth["raw_min"], truth.get("raw_max")]
        ok = ok and m.raw is not None and truth["raw_min"] <= m.raw <= truth.get("raw_max", float("inf"))
    result["ok"] = ok
    return result


RECOVERY: dict[str, Callable[[Measurement, dict[str, Any]], dict[str, Any] | None]] = {
    "av": av_recovery, "lip": lip_recovery, "music": music_recovery, "text": text_recovery, "face": face_recovery,
    "speech": speech_recovery, "ctrl": ctrl_recovery,
}

TARGETS = {
    "av": f"offset error <= {AV_TARGET_MS:g} ms", "lip": f"offset error <= {LIP_TARGET_FRAMES:g} frame",
    "music": "exact MIDI notes on notes and sequences; exact pitch-class set on chords",
    "text": f"CER <= {CER_TARGET:.0%} against the rendered strings", "face": "primary identity count exact",
    "speech": f"presence right; onset within {SPEECH_ONSET_TARGET_S:g} s; expected status and raw range",
    "ctrl": ("trend sign right on every probe; counts exact (sound, and picture where tied to an action); "
             "stop within 0.3 s; orders pass"),
    "vis": "none (quality anchors)", "aud": "expected status and raw range where the truth gives one (silence -> 1)",
}


def recover(dim_id: str, m: Measurement, truth: dict[str, Any]) -> dict[str, Any] | None:
    """Recovery of one clean clip: the dimension's check and the expected-value check, merged; None when neither applies."""
    parts = [r for r in (RECOVERY[dim_id](m, truth) if dim_id in RECOVERY else None, expected_value(m, truth)) if r]
    if not parts:
        return None
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update({k: v for k, v in part.items() if k not in ("ok", "measurable")})
    merged["measurable"] = all(p["measurable"] for p in parts)
    merged["ok"] = all(p["ok"] for p in parts)
    return merged
