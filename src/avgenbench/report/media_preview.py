"""Small previews for the report's drill-down: a few keyframe thumbnails and an audio spectrogram, as data: URIs.

The report decodes on its own (a light decode, separate from evaluation). Any failure becomes a readable note.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

THUMB_WIDTH = 160
THUMB_POSITIONS = (0.1, 0.37, 0.63, 0.9)
SPEC_RATE = 16000
SPEC_SECONDS = 30.0
SPEC_SIZE = (480, 110)


@dataclass
class Preview:
    thumbnails: list[dict] = field(default_factory=list)  # {"uri", "time"}
    spectrogram: str | None = None
    duration: float | None = None
    notes: list[str] = field(default_factory=list)


def _jpeg_uri(image: np.ndarray, quality: int = 70) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _thumbnails(container, stream, duration: float) -> list[dict]:
    out = []
    for fraction in THUMB_POSITIONS:
        target = fraction * duration
        container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is None or frame.time >= target:
                break
        if chosen is None:
            continue
        height = max(2, round(chosen.height * THUMB_WIDTH / max(1, chosen.width)))
        image = chosen.to_ndarray(width=THUMB_WIDTH, height=height, format="rgb24")
        out.append({"uri": _jpeg_uri(image), "time": round(float(chosen.time or target), 2)})
    return out


def _audio(container, stream) -> np.ndarray:
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=SPEC_RATE)
    chunks, total = [], 0
    for frame in container.decode(stream):
        for out in resampler.resample(frame):
            chunk = out.to_ndarray().reshape(-1)
            chunks.append(chunk)
            total += chunk.size
        if total >= SPEC_SECONDS * SPEC_RATE:
            break
    return np.concatenate(chunks)[: int(SPEC_SECONDS * SPEC_RATE)] if chunks else np.zeros(0, np.float32)


def spectrogram_image(audio: np.ndarray, rate: int = SPEC_RATE, size: tuple[int, int] = SPEC_SIZE) -> np.ndarray | None:
    """Log-power spectrogram (0 Hz at the bottom, 80 dB range) as an RGB image, or None for too little audio."""
    from matplotlib import colormaps
    from PIL import Image

    n_fft, hop = 512, 160
    if audio.size < n_fft:
        return None
    starts = np.arange(0, audio.size - n_fft + 1, hop)
    frames = audio[starts[:, None] + np.arange(n_fft)] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    db = 10 * np.log10(power + 1e-12)
    db = np.clip(db, db.max() - 80, None)
    scaled = (db - db.min()) / max(1e-9, db.max() - db.min())
    rgb = (colormaps["magma"](scaled.T[::-1])[..., :3] * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(rgb).resize(size))


def preview(path: str | None) -> Preview:
    """Keyframes and a spectrogram of a video file; notes say what could not be shown and why."""
    import av

    result = Preview()
    if not path:
        result.notes.append("no video file was found for this prompt")
        return result
    if not Path(path).is_file():
        result.notes.append(f"video file not found: {path}")
        return result
    try:
        with av.open(path) as container:
            result.duration = float(container.duration / av.time_base) if container.duration else None
            if container.streams.video:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                duration = result.duration or float((stream.duration or 0) * (stream.time_base or 0))
                result.thumbnails = _thumbnails(container, stream, duration)
            else:
                result.notes.append("no video stream")
    except Exception as exc:  # corrupt or unusual files: say so, keep the report going
        result.notes.append(f"could not decode the video ({type(exc).__name__}: {str(exc)[:200]})")
        return result
    try:
        with av.open(path) as container:
            if container.streams.audio:
                image = spectrogram_image(_audio(container, container.streams.audio[0]))
                if image is None:
                    result.notes.append("audio too short for a spectrogram")
                else:
                    result.spectrogram = _jpeg_uri(image, quality=80)
            else:
                result.notes.append("no audio stream")
    except Exception as exc:
        result.notes.append(f"could not decode the audio ({type(exc).__name__}: {str(exc)[:200]})")
    return result
