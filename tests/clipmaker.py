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


# Odd files: the shapes real containers take that a plain H.264 + AAC mp4 never does.


def _encode_frames(container, stream, images, pts=None) -> None:
    import av

    for i, image in enumerate(images):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = i if pts is None else pts[i]
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def _encode_audio(container, stream, planar: np.ndarray, sr: int, layout: str, start_pts: int = 0) -> None:
    """`planar` (C, N) float; written packed (flt), which PyAV can build for any channel count."""
    import av

    for start in range(0, planar.shape[1], 1024):
        chunk = np.ascontiguousarray(planar[:, start:start + 1024].T).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout=layout)
        frame.sample_rate = sr
        frame.pts = start_pts + start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def _video_stream(container, fps, width: int, height: int, time_base=None):
    from fractions import Fraction

    stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.options = {"preset": "ultrafast", "crf": "12"}
    if time_base is not None:
        stream.codec_context.time_base = time_base
    return stream


def make_shifted(path: Path, video_start: float = 0.0, audio_start: float = 0.0, duration: float = 2.0, fps: int = 24,
                 sr: int = 16000, width: int = 160, height: int = 96, clicks: tuple[float, ...] = (0.5,),
                 channels: int = 2) -> Path:
    """A clip whose first frame is stamped `video_start` s and whose audio starts at `audio_start` s (clicks at
    `clicks` s after the audio's own start). The container format follows the suffix (.mkv keeps absolute stamps)."""
    import av

    n = int(round(duration * fps))
    layout = {1: "mono", 2: "stereo", 8: "7.1"}[channels]
    audio = np.repeat(click_track(duration, sr, list(clicks))[None, :], channels, axis=0)
    with av.open(str(path), mode="w") as container:
        vstream = _video_stream(container, fps, width, height)
        astream = container.add_stream("aac", rate=sr)
        astream.layout = layout
        first = int(round(video_start * fps))
        _encode_frames(container, vstream, moving_square_frames(n, width, height), [first + i for i in range(n)])
        _encode_audio(container, astream, audio, sr, layout, int(round(audio_start * sr)))
    return path


def make_surround(path: Path, duration: float = 2.0, sr: int = 48000, clicks: tuple[float, ...] = (0.5, 1.5)) -> Path:
    """A 7.1 (8-channel) clip: clicks in every channel but the LFE, and a 440 Hz tone in the front left only."""
    import av

    n_audio = int(duration * sr)
    audio = np.repeat(click_track(duration, sr, list(clicks))[None, :], 8, axis=0)
    audio[3] = 0.0  # LFE
    audio[0] += (0.2 * np.sin(2 * np.pi * 440 * np.arange(n_audio) / sr)).astype(np.float32)
    with av.open(str(path), mode="w") as container:
        vstream = _video_stream(container, 24, 160, 96)
        astream = container.add_stream("aac", rate=sr)
        astream.layout = "7.1"
        _encode_frames(container, vstream, moving_square_frames(int(duration * 24), 160, 96))
        _encode_audio(container, astream, audio, sr, "7.1")
    return path


def make_thumbnail_first(path: Path, width: int = 160, height: int = 96, fps: int = 24, duration: float = 2.0) -> Path:
    """An mkv whose first video stream is a 2-frame 320x320 thumbnail and whose second is the clip itself."""
    import av

    with av.open(str(path), mode="w") as container:
        thumb = _video_stream(container, 1, 320, 320)
        main = _video_stream(container, fps, width, height)
        _encode_frames(container, thumb, [np.full((320, 320, 3), 128, np.uint8)] * 2)
        _encode_frames(container, main, moving_square_frames(int(duration * fps), width, height))
    return path


def make_audio_with_cover(path: Path, duration: float = 1.0, sr: int = 44100) -> Path:
    """An .m4a: AAC audio and a cover picture (an mjpeg stream with disposition attached_pic)."""
    import av

    wave = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(duration * sr)) / sr)).astype(np.float32)[None, :]
    with av.open(str(path), mode="w", format="mp4") as container:
        astream = container.add_stream("aac", rate=sr)
        astream.layout = "mono"
        cover = container.add_stream("mjpeg", rate=1)
        cover.width, cover.height, cover.pix_fmt = 128, 128, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        _encode_frames(container, cover, [np.full((128, 128, 3), 200, np.uint8)])
        _encode_audio(container, astream, wave, sr, "mono")
    return path


def make_variable_rate(path: Path, width: int = 160, height: int = 96) -> Path:
    """A variable-frame-rate mkv: 24 frames 1/24 s apart, then 6 frames 1/3 s apart (3 s in all); no audio."""
    from fractions import Fraction

    import av

    pts = [round(1000 * i / 24) for i in range(24)] + [1000 + round(1000 * i / 3) for i in range(6)]
    with av.open(str(path), mode="w") as container:
        stream = _video_stream(container, 24, width, height, time_base=Fraction(1, 1000))
        _encode_frames(container, stream, moving_square_frames(len(pts), width, height), pts)
    return path


def make_layout_switch(path: Path, sr: int = 48000) -> Path:
    """An MPEG-TS whose AAC track switches from stereo to 5.1 after 1 s (two segments, one file, as broadcast does);
    a click 0.5 s into each segment."""
    import av

    parts = []
    for start, layout, channels in ((0, "stereo", 2), (1, "5.1", 6)):
        part = path.with_name(f"{path.stem}.{start}.ts")
        with av.open(str(part), mode="w", format="mpegts") as container:
            vstream = _video_stream(container, 24, 160, 96)
            astream = container.add_stream("aac", rate=sr)
            astream.layout = layout
            _encode_frames(container, vstream, list(moving_square_frames(24, 160, 96)), [start * 24 + i for i in range(24)])
            audio = np.repeat(click_track(1.0, sr, [0.5])[None, :], channels, axis=0)
            _encode_audio(container, astream, audio, sr, layout, start * sr)
        parts.append(part.read_bytes())
        part.unlink()
    path.write_bytes(b"".join(parts))
    return path


def make_empty_audio_track(path: Path) -> Path:
    """An mkv with a 2 s video and an AAC track that holds no packet."""
    import av

    with av.open(str(path), mode="w") as container:
        vstream = _video_stream(container, 24, 160, 96)
        astream = container.add_stream("aac", rate=48000)
        astream.layout = "stereo"
        _encode_frames(container, vstream, list(moving_square_frames(48, 160, 96)))
    return path
