"""Render a ClipSpec to a real mp4 (H.264 + AAC) and write `<name>.truth.json` beside it: what was put where, when.

Elements: bouncing objects whose floor contacts make clicks (with a chosen audio offset), notes and chords with a
keyboard that lights up, on-screen text (stable or jittering, readable or garbled), faces and speech (through the
`faces` and `speech` modules, imported only when a spec asks for them), drifting shapes and a tone bed for anchors.
An element that cannot be rendered here (e.g. no TTS installed) is left out and listed under `skipped` in the truth.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from . import sound
from .encode import write_clip
from .spec import ClipSpec
from .text_render import draw_text, text_size

GENERATOR_VERSION = "synth-1"
FLOOR = 0.8  # floor line as a fraction of frame height


def truth_path(video: Path | str) -> Path:
    video = Path(video)
    return video.with_name(video.stem + ".truth.json")


def read_truth(video: Path | str) -> dict[str, Any] | None:
    path = truth_path(video)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def write_truth(video: Path | str, truth: dict[str, Any]) -> Path:
    path = truth_path(video)
    path.write_text(json.dumps(truth, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def render(spec: ClipSpec | dict[str, Any], path: Path | str, crf: int = 20) -> dict[str, Any]:
    """Render `spec` to `path` (mp4) and its truth sidecar; returns the truth."""
    if isinstance(spec, dict):
        spec = ClipSpec.from_dict(spec)
    spec.validate()
    truth: dict[str, Any] = {
        "generator": GENERATOR_VERSION, "spec": spec.to_dict(), "skipped": [], "substituted": [],
        "video": {"width": spec.width - spec.width % 2, "height": spec.height - spec.height % 2, "fps": spec.fps,
                  "n_frames": spec.n_frames, "duration": spec.duration},
    }
    audio, speech_env = _audio(spec, truth)
    painters = [_Backdrop(spec), _Shapes(spec), _Balls(spec, truth), _Keyboard(spec, truth),
                _Faces(spec, truth, speech_env), _Texts(spec, truth)]

    def frames():
        for i in range(spec.n_frames):
            t = i / spec.fps
            image = None
            for painter in painters:
                image = painter.paint(image, i, t)
            yield image

    write_clip(path, frames(), spec.fps, audio, spec.sample_rate, crf=crf)
    write_truth(path, truth)
    return truth


# audio -----------------------------------------------------------------------

def _audio(spec: ClipSpec, truth: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    sr = spec.sample_rate
    track = np.zeros(int(round(spec.duration * sr)), np.float32)
    if spec.tone_bed:
        bed = sound.chord([48, 55, 64], spec.duration, sr, "organ", amplitude=0.08)
        fade = np.minimum(1.0, np.arange(len(bed)) / (0.05 * sr))
        sound.mix_into(track, (bed * np.minimum(fade, fade[::-1])).astype(np.float32), 0.0, sr)
    offset = spec.audio_offset_ms / 1000.0
    truth["audio_offset_ms"] = spec.audio_offset_ms
    truth["impacts"] = []
    for k, impact in enumerate(sorted(spec.impacts, key=lambda x: x.time)):
        onset = impact.time + offset
        sound.mix_into(track, sound.click(sr, seed=spec.seed * 1000 + k), onset, sr)
        truth["impacts"].append({"time": round(impact.time, 6), "lane": impact.lane,
                                 "frame": int(round(impact.time * spec.fps)), "audio_onset": round(onset, 6)})
    truth["notes"] = []
    for note in sorted(spec.notes, key=lambda n: n.start):
        wave = (sound.tone(note.pitches[0], note.duration, sr, note.timbre, amplitude=note.amplitude)
                if len(note.pitches) == 1 else sound.chord(note.pitches, note.duration, sr, note.timbre, note.amplitude))
        sound.mix_into(track, wave, note.start, sr)
        truth["notes"].append({"midi": list(note.pitches), "names": [sound.midi_to_name(m) for m in note.pitches],
                               "start": note.start, "end": round(note.start + note.duration, 6),
                               "kind": "chord" if len(note.pitches) > 1 else "note", "timbre": note.timbre})
    speech_track = np.zeros_like(track)
    truth["speech"] = []
    for k, item in enumerate(spec.speech):
        voice = _voice(item, sr, truth, k)
        if voice is None:
            continue
        sound.mix_into(speech_track, voice * item.gain / (np.max(np.abs(voice)) or 1.0), item.start, sr)
        truth["speech"].append({"text": "" if item.babble else item.text, "babble": item.babble, "start": item.start,
                                "end": round(min(spec.duration, item.start + len(voice) / sr), 4)})
    track += speech_track
    peak = float(np.max(np.abs(track))) if track.size else 0.0
    if peak > 0.98:
        track *= 0.98 / peak
        speech_track *= 0.98 / peak
    envelope = _frame_envelope(speech_track, sr, spec.fps, spec.n_frames) if truth["speech"] else None
    return track, envelope


def _voice(item, sr: int, truth: dict[str, Any], k: int) -> np.ndarray | None:
    try:
        from .speech import babble, speak  # optional: a build without the speech module skips the element
    except ImportError as exc:
        truth["skipped"].append({"element": f"speech[{k}]", "reason": f"speech module unavailable: {exc}"})
        return None
    try:
        voice = babble(item.duration, sr, item.seed) if item.babble else speak(item.text, sr)
    except RuntimeError as exc:
        if not item.babble_without_tts:
            truth["skipped"].append({"element": f"speech[{k}]", "reason": str(exc)})
            return None
        truth["substituted"].append({"element": f"speech[{k}]", "reason": str(exc), "used": "babble"})
        item.babble = True
        voice = babble(item.duration, sr, item.seed)
    return np.asarray(voice, np.float32)


def _frame_envelope(track: np.ndarray, sr: int, fps: float, n_frames: int) -> np.ndarray:
    """RMS of the track around each frame time, scaled to 0..1."""
    half = int(sr / fps / 2)
    env = np.zeros(n_frames, np.float32)
    for i in range(n_frames):
        c = int(i / fps * sr)
        seg = track[max(0, c - half):c + half]
        env[i] = float(np.sqrt(np.mean(seg**2))) if seg.size else 0.0
    top = float(np.percentile(env[env > 0], 95)) if np.any(env > 0) else 1.0
    return np.clip(env / (top or 1.0), 0.0, 1.0)


# pictures --------------------------------------------------------------------

class _Backdrop:
    def __init__(self, spec: ClipSpec):
        h, w = spec.height, spec.width
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        base = np.stack([40 + 60 * xx / w, 60 + 40 * yy / h, np.full_like(xx, 95)], axis=-1)
        if spec.background == "texture":
            rng = np.random.default_rng(spec.seed)
            from scipy.ndimage import gaussian_filter, zoom

            blobs = gaussian_filter(rng.standard_normal((h // 8 + 1, w // 8 + 1)), 1.5)
            blobs = zoom(blobs, 8, order=1)[:h, :w]
            stripes = 12 * np.sign(np.sin(xx / 3.0)) * (yy < h * FLOOR)
            base += (30 * blobs / (np.std(blobs) or 1.0))[..., None] + stripes[..., None] * 0.5
        elif spec.background == "flat":
            base[:] = (70, 80, 95)
        base[int(h * FLOOR):] = (120, 110, 100)
        self.image = np.clip(base, 0, 255).astype(np.uint8)

    def paint(self, image, i, t):
        return self.image.copy()


class _Shapes:
    """Drifting coloured squares: steady motion for quality anchors."""

    def __init__(self, spec: ClipSpec):
        rng = np.random.default_rng(spec.seed + 7)
        self.spec = spec
        self.shapes = [(rng.uniform(0, 1), rng.uniform(0.1, 0.6), rng.uniform(-0.15, 0.15), rng.uniform(-0.05, 0.05),
                        tuple(int(c) for c in rng.integers(60, 255, 3))) for _ in range(spec.moving_shapes)]

    def paint(self, image, i, t):
        h, w = image.shape[:2]
        side = max(4, h // 10)
        for x0, y0, vx, vy, color in self.shapes:
            x = int(((x0 + vx * t) % 1.0) * (w - side))
            y = int(((y0 + vy * t) % 0.7) * h)
            image[y:y + side, x:x + side] = color
            image[y + side // 3:y + 2 * side // 3, x + side // 3:x + 2 * side // 3] = 255 - np.array(color)
        return image


class _Balls:
    """One ball per lane; each touches the floor exactly at its impact times, with parabolic hops between."""

    def __init__(self, spec: ClipSpec, truth: dict[str, Any]):
        self.spec = spec
        lanes = sorted({imp.lane for imp in spec.impacts})
        self.lanes = {lane: sorted(imp.time for imp in spec.impacts if imp.lane == lane) for lane in lanes}
        self.radius = max(3, spec.height // 14)
        truth["objects"] = [{"lane": lane, "x": round(self._x(k), 1), "radius": self.radius,
                             "floor_y": round(spec.height * FLOOR, 1)} for k, lane in enumerate(lanes)]

    def _x(self, k: int) -> float:
        return self.spec.width * (k + 1) / (len(self.lanes) + 1)

    def _y(self, times: list[float], t: float) -> float:
        h = self.spec.height
        floor, top = h * FLOOR - self.radius, h * 0.2
        points = [times[0] - (times[1] - times[0] if len(times) > 1 else 1.0)] + times + [times[-1] + (times[-1] - times[-2] if len(times) > 1 else 1.0)]
        for a, b in zip(points, points[1:]):
            if a <= t <= b:
                u = (t - a) / (b - a)
                return floor - (floor - top) * 4 * u * (1 - u)
        return top

    def paint(self, image, i, t):
        r = self.radius
        for k, times in enumerate(self.lanes.values()):
            cx, cy = self._x(k), self._y(times, t)
            x0, x1 = int(max(0, cx - r)), int(min(image.shape[1], cx + r + 1))
            y0, y1 = int(max(0, cy - r)), int(min(image.shape[0], cy + r + 1))
            yy, xx = np.mgrid[y0:y1, x0:x1]
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            patch = image[y0:y1, x0:x1]
            patch[mask] = (235, 200, 55)
        return image


class _Keyboard:
    """A keyboard along the bottom; keys light up while their note sounds."""

    BLACK = {1, 3, 6, 8, 10}

    def __init__(self, spec: ClipSpec, truth: dict[str, Any]):
        self.notes = spec.notes if spec.show_keyboard else []
        if not self.notes:
            return
        pitches = [p for n in self.notes for p in n.pitches]
        low = min(48, (min(pitches) // 12) * 12)
        high = max(84, (max(pitches) // 12 + 1) * 12)
        self.white = [m for m in range(low, high + 1) if m % 12 not in self.BLACK]
        h, w = spec.height, spec.width
        self.top, self.bottom = int(h * 0.84), h - max(2, h // 60)
        self.key_w = w / len(self.white)
        truth["keyboard"] = {"low": low, "high": high, "top": self.top}

    def _rect(self, midi: int) -> tuple[int, int, int, int]:
        if midi % 12 in self.BLACK:
            k = self.white.index(midi - 1)
            x = (k + 1) * self.key_w
            return int(x - self.key_w * 0.3), self.top, int(x + self.key_w * 0.3), int(self.top + (self.bottom - self.top) * 0.6)
        k = self.white.index(midi)
        return int(k * self.key_w) + 1, self.top, int((k + 1) * self.key_w) - 1, self.bottom

    def paint(self, image, i, t):
        if not self.notes:
            return image
        active = {p for n in self.notes if n.start <= t < n.start + n.duration for p in n.pitches}
        for m in self.white:
            x0, y0, x1, y1 = self._rect(m)
            image[y0:y1, x0:x1] = (90, 200, 255) if m in active else (245, 245, 240)
        for m in range(self.white[0], self.white[-1]):
            if m % 12 in self.BLACK:
                x0, y0, x1, y1 = self._rect(m)
                image[y0:y1, x0:x1] = (90, 200, 255) if m in active else (20, 20, 25)
        return image


class _Texts:
    def __init__(self, spec: ClipSpec, truth: dict[str, Any]):
        from .text_render import garble

        self.spec = spec
        self.items = []
        truth["texts"] = []
        for item in spec.texts:
            shown = garble(item.text, item.garble_edits, item.seed) if item.garble_edits else item.text
            tw, th = text_size(shown, item.size)
            x = item.x if item.x is not None else (spec.width - tw) // 2
            y = item.y if item.y is not None else int(spec.height * 0.1)
            end = spec.duration if item.end is None else min(item.end, spec.duration)
            self.items.append((item, shown, x, y, end))
            truth["texts"].append({"text": item.text, "rendered": shown, "edit_distance": item.garble_edits,
                                   "start": item.start, "end": end, "x": x, "y": y, "size": item.size,
                                   "jitter_px": item.jitter_px})

    def paint(self, image, i, t):
        for item, shown, x, y, end in self.items:
            if not (item.start <= t < end):
                continue
            if item.jitter_px:
                rng = np.random.default_rng(item.seed * 100003 + i)
                x, y = (int(v + rng.integers(-item.jitter_px, item.jitter_px + 1)) for v in (x, y))
            draw_text(image, shown, x, y, item.size, item.color, item.box)
        return image


class _Faces:
    def __init__(self, spec: ClipSpec, truth: dict[str, Any], speech_env: np.ndarray | None):
        self.spec, self.env, self.paste = spec, speech_env, None
        truth["faces"] = []
        if not spec.faces:
            return
        try:
            from .faces import paste_face  # optional: a build without the faces module skips the element
        except ImportError as exc:
            truth["skipped"].append({"element": "faces", "reason": f"faces module unavailable: {exc}"})
            return
        self.paste = paste_face
        for face in spec.faces:
            if face.identity.startswith("#"):  # '#k': the k-th identity the faces module offers
                from .faces import list_identities

                face.identity = list_identities()[int(face.identity[1:])]
            end = spec.duration if face.end is None else min(face.end, spec.duration)
            truth["faces"].append({"identity": face.identity, "variant": face.variant, "start": face.start, "end": end,
                                   "cx": round(face.cx * spec.width), "cy": round(face.cy * spec.height),
                                   "height": round(face.height * spec.height),
                                   "lip_sync": face.lip_sync and speech_env is not None,
                                   "lip_offset_frames": face.lip_offset_frames})
        truth["identities"] = sorted({f.identity for f in spec.faces})

    def paint(self, image, i, t):
        if self.paste is None:
            return image
        for face in self.spec.faces:
            end = self.spec.duration if face.end is None else face.end
            if not (face.start <= t < end):
                continue
            mouth = 0.0
            if face.lip_sync and self.env is not None:
                j = i - face.lip_offset_frames
                mouth = float(self.env[j]) if 0 <= j < len(self.env) else 0.0
            self.paste(image, face.identity, int(face.cx * self.spec.width), int(face.cy * self.spec.height),
                       int(face.height * self.spec.height), mouth_open=mouth, variant=face.variant)
        return image
