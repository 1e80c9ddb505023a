"""Small real media files with known properties, for the spine's tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avgenbench.synthetic.encode import write_clip


def moving_square_frames(n: int, width: int, height: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    for i in range(n):
        frame = base.copy()
        x = (i * 7) % max(1, width - 40)
        frame[height // 3: height // 3 + 40, x:x + 40] = (250, 30, 30)
        frame[:16, :16] = (i * 6) % 256  # frame index marker in the corner
        yield frame


def click_track(duration: float, sr: int, times: list[float]) -> np.ndarray:
    audio = np.zeros(int(duration * sr), np.float32)
    for t in times:
        start = int(t * sr)
        n = min(int(0.03 * sr), len(audio) - start)
        audio[start:start + n] = 0.8 * np.exp(-np.arange(n) / (0.004 * sr))
    return audio


def make_clip(path: Path, duration: float = 2.0, fps: float = 24, width: int = 320, height: int = 180,
              sr: int | None = 48000, stereo: bool = True, clicks: tuple[float, ...] = (0.5, 1.5),
              silent: bool = False) -> Path:
    n = int(round(duration * fps))
    audio = None
    if sr is not None:
        mono = np.zeros(int(duration * sr), np.float32) if silent else click_track(duration, sr, list(clicks))
        audio = np.stack([mono, mono], axis=1) if stereo else mono
    return write_clip(path, moving_square_frames(n, width, height), fps, audio, sr or 48000)


def make_audio_only(path: Path, duration: float = 1.0, sr: int = 44100) -> Path:
    import av

    t = np.arange(int(duration * sr)) / sr
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=sr)
        stream.layout = "mono"
        for start in range(0, wave.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(wave[:, start:start + 1024]), format="fltp", layout="mono")
            frame.sample_rate = sr
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_corrupt(path: Path, source: Path | None = None) -> Path:
    """A file that claims to be an mp4: a truncated real one when `source` is given, else random bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if source is not None:
        data = source.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    else:
        path.write_bytes(np.random.default_rng(1).integers(0, 255, 5000, dtype=np.uint8).tobytes())
    return path
