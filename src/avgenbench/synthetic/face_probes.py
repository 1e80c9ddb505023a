"""Ground-truth probes for Face and Lip: small clips of pasted real faces with known identities and lip offsets.

`face_probes(out_dir)` and `lip_probes(out_dir)` write mp4s and return one dict per probe:
{"path", "truth", "annotation" (a PromptAnnotation dict), "perturbations": [{"name", "path"}]}; every perturbation is a
variant the dimension's score must get worse under (identity drift or extra identities for Face, larger offsets for Lip).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .encode import write_clip
from .faces import list_identities, paste_face

FPS = 25
SIZE = (640, 360)
AUDIO_RATE = 16000


@dataclass
class FaceSpan:
    """One face on screen for frames [start, end): identity, centre, head height, variant."""

    identity: str
    start: int
    end: int
    cx: int
    cy: int
    height: int = 220
    variant: str = "plain"


def background(width: int = SIZE[0], height: int = SIZE[1], seed: int = 0) -> np.ndarray:
    """A soft two-colour gradient with faint texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    a, b = rng.uniform(40, 200, 3), rng.uniform(40, 200, 3)
    t = ((xx / width + yy / height) / 2)[:, :, None]
    image = a * (1 - t) + b * t + rng.normal(0, 3, (height, width, 1))
    return np.clip(image, 0, 255).astype(np.uint8)


def render_frames(n_frames: int, spans: list[FaceSpan], mouth: np.ndarray | None = None, seed: int = 0,
                  sway_px: int = 8) -> list[np.ndarray]:
    """Frames with every span's face pasted; heads sway slowly; `mouth` gives mouth_open per frame for all faces."""
    base = background(seed=seed)
    frames = []
    for k in range(n_frames):
        frame = base.copy()
        for j, span in enumerate(spans):
            if span.start <= k < span.end:
                dx = int(round(sway_px * np.sin(2 * np.pi * (k / FPS) * 0.3 + j)))
                opening = float(mouth[k]) if mouth is not None else 0.0
                paste_face(frame, span.identity, span.cx + dx, span.cy, span.height, opening, span.variant)
        frames.append(frame)
    return frames


def syllable_envelope(n_frames: int, seed: int = 0) -> np.ndarray:
    """A speech-like on/off pattern at 25 fps in [0, 1]: syllables of 4–8 frames, gaps of 1–6 frames."""
    rng = np.random.default_rng(seed)
    env = np.zeros(n_frames)
    k = int(rng.integers(2, 6))
    while k < n_frames:
        length = int(rng.integers(4, 9))
        hump = np.sin(np.linspace(0, np.pi, length + 2)[1:-1]) ** 2 * rng.uniform(0.6, 1.0)
        env[k:k + length] = hump[: max(0, min(length, n_frames - k))]
        k += length + int(rng.integers(1, 7))
    return env


def voiced_sound(envelope: np.ndarray, offset_frames: float = 0.0, seconds: float | None = None,
                 rate: int = AUDIO_RATE, f0: float = 120.0, seed: int = 0) -> np.ndarray:
    """A harmonic complex (f0 ≈ 120 Hz, formant-like peaks near 700, 1200 and 2500 Hz) whose amplitude follows
    `envelope` (one value per 25 fps frame, centred on the frame) delayed by `offset_frames`."""
    n = int(round((seconds if seconds is not None else len(envelope) / FPS) * rate))
    t = np.arange(n) / rate
    rng = np.random.default_rng(seed)
    pitch = f0 * (1 + 0.03 * np.sin(2 * np.pi * 3.0 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    signal = np.zeros(n)
    for h in range(1, int(4000 / f0)):
        freq = h * f0
        gain = sum(np.exp(-((freq - f) / 150.0) ** 2) for f in (700.0, 1200.0, 2500.0)) + 0.08
        signal += gain / h ** 0.5 * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    signal /= np.max(np.abs(signal)) + 1e-9
    centres = (np.arange(len(envelope)) + 0.5) / FPS + offset_frames / FPS
    amplitude = np.interp(t, centres, envelope, left=0.0, right=0.0)
    noise = rng.normal(0, 1e-3, n)
    return (0.5 * amplitude * signal + noise).astype(np.float32)


def talking_clip(path: Path | str, identity: str, offset_frames: float, seconds: float = 4.0, seed: int = 0,
                 voice: bool = True, lips: bool = True) -> Path:
    """One face whose mouth follows a syllable envelope; the voice follows the same envelope `offset_frames` later.

    `voice=False` leaves only a faint noise floor; `lips=False` keeps the mouth closed while the voice speaks.
    """
    n = int(seconds * FPS)
    env = syllable_envelope(n, seed)
    frames = render_frames(n, [FaceSpan(identity, 0, n, SIZE[0] // 2, SIZE[1] // 2, 240)], mouth=env if lips else None,
                           seed=seed)
    sound = voiced_sound(env if voice else np.zeros(n), offset_frames, seconds, seed=seed)
    return write_clip(path, frames, fps=FPS, audio=sound, sample_rate=AUDIO_RATE)


def faces_clip(path: Path | str, spans: list[FaceSpan], seconds: float = 3.0, seed: int = 0) -> Path:
    """Faces per `spans` over a quiet soundtrack."""
    n = int(seconds * FPS)
    frames = render_frames(n, spans, seed=seed)
    quiet = np.random.default_rng(seed).normal(0, 1e-3, int(seconds * AUDIO_RATE)).astype(np.float32)
    return write_clip(path, frames, fps=FPS, audio=quiet, sample_rate=AUDIO_RATE)


def morph_clip(path: Path | str, start: FaceSpan, end_identity: str, seconds: float = 3.0, seed: int = 0) -> Path:
    """Gradual identity drift: the face cross-fades from `start.identity` to `end_identity` in place over the clip."""
    n = int(seconds * FPS)
    first = render_frames(n, [start], seed=seed)
    last = render_frames(n, [FaceSpan(end_identity, start.start, start.end, start.cx, start.cy, start.height)], seed=seed)
    weights = np.clip(np.linspace(-0.2, 1.2, n), 0, 1)
    frames = [(a * (1 - w) + b * w).astype(np.uint8) for a, b, w in zip(first, last, weights)]
    quiet = np.random.default_rng(seed).normal(0, 1e-3, int(seconds * AUDIO_RATE)).astype(np.float32)
    return write_clip(path, frames, fps=FPS, audio=quiet, sample_rate=AUDIO_RATE)


def shots_clip(path: Path | str, shots: list[tuple[int, list[FaceSpan]]], shot_seconds: float = 1.0) -> Path:
    """Hard cuts between shots; each shot is (background seed, faces with frame ranges counted inside the shot)."""
    per_shot = int(shot_seconds * FPS)
    frames = []
    for seed, spans in shots:
        frames.extend(render_frames(per_shot, spans, seed=seed))
    quiet = np.random.default_rng(0).normal(0, 1e-3, int(len(shots) * shot_seconds * AUDIO_RATE)).astype(np.float32)
    return write_clip(path, frames, fps=FPS, audio=quiet, sample_rate=AUDIO_RATE)


def _annotation(min_ids: int, max_ids: int, speech: bool = False) -> dict:
    return {"faces": {"min_ids": min_ids, "max_ids": max_ids}, "speech_required": speech, "source": "probe"}


def face_probes(out_dir: Path | str, fast: bool = False) -> list[dict]:
    """Face probes: one and two stable identities; perturbed by identity drift (a swap in place, a gradual morph) and
    by extra identities. `fast`: the one-identity probe with the morph only."""
    out = Path(out_dir)
    a, b, c, d = list_identities()[:4]
    n = int(3.0 * FPS)
    half = n // 2
    one = [FaceSpan(a, 0, n, 320, 180)]
    drift = [FaceSpan(a, 0, half, 320, 180), FaceSpan(b, half, n, 320, 180)]
    crowd = [FaceSpan(a, 0, n, 320, 180, 200), FaceSpan(c, 0, n, 110, 180, 180), FaceSpan(d, 0, n, 530, 180, 180)]
    pair = [FaceSpan(a, 0, n, 170, 180, 200), FaceSpan(b, 0, n, 470, 180, 200, "mirror")]
    pair_drift = [FaceSpan(a, 0, n, 170, 180, 200), FaceSpan(b, 0, half, 470, 180, 200, "mirror"),
                  FaceSpan(c, half, n, 470, 180, 200)]
    if fast:
        return [{"path": str(faces_clip(out / "face_one.mp4", one)), "truth": {"identities": 1, "stable": True},
                 "annotation": _annotation(1, 1),
                 "perturbations": [{"name": "identity_morph", "path": str(morph_clip(out / "face_one_morph.mp4", one[0], b))}]}]
    return [
        {"path": str(faces_clip(out / "face_one.mp4", one)), "truth": {"identities": 1, "stable": True},
         "annotation": _annotation(1, 1),
         "perturbations": [{"name": "identity_drift", "path": str(faces_clip(out / "face_one_drift.mp4", drift))},
                           {"name": "identity_morph", "path": str(morph_clip(out / "face_one_morph.mp4", one[0], b))},
                           {"name": "extra_identities", "path": str(faces_clip(out / "face_one_crowd.mp4", crowd))}]},
        {"path": str(faces_clip(out / "face_two.mp4", pair, seed=1)), "truth": {"identities": 2, "stable": True},
         "annotation": _annotation(2, 2),
         "perturbations": [{"name": "identity_drift", "path": str(faces_clip(out / "face_two_drift.mp4", pair_drift, seed=1))}]},
    ]


def lip_probes(out_dir: Path | str, fast: bool = False) -> list[dict]:
    """Lip probes: a talking face in sync and 2 frames late; perturbed by larger offsets.
    `fast`: the in-sync probe with one larger offset."""
    out = Path(out_dir)
    ids = list_identities()
    probes = []
    cases = (("lip_sync", ids[0], 0, (6,)),) if fast else (("lip_sync", ids[0], 0, (6, -9)), ("lip_late2", ids[1], 2, (9, -7)))
    for name, identity, offset, worse in cases:
        perturbed = [{"name": f"offset_{w:+d}", "path": str(talking_clip(out / f"{name}_{w:+d}.mp4", identity, w, seed=3))}
                     for w in worse]
        probes.append({"path": str(talking_clip(out / f"{name}.mp4", identity, offset, seed=3)),
                       "truth": {"offset_frames": offset}, "annotation": _annotation(1, 1, speech=True),
                       "perturbations": perturbed})
    return probes
