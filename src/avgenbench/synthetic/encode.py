"""Write frames and audio to an H.264 + AAC mp4 with PyAV (no system ffmpeg)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterable

import numpy as np


def write_clip(
    path: Path | str,
    frames: Iterable[np.ndarray],
    fps: float = 24,
    audio: np.ndarray | None = None,
    sample_rate: int = 48000,
    crf: int = 23,
    bitrate: int | None = None,
    audio_codec: str = "aac",
) -> Path:
    """Encode RGB uint8 frames (H, W, 3) and float audio in [-1, 1] ((N,) mono or (N, C)) to `path`.

    `crf` sets H.264 quality; `bitrate` (bits/s) overrides it for deliberately heavy compression.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), mode="w") as container:
        vstream = None
        astream = None
        if audio is not None:
            channels = 1 if audio.ndim == 1 else audio.shape[1]
            astream = container.add_stream(audio_codec, rate=sample_rate)
            astream.layout = "mono" if channels == 1 else "stereo"
        for image in frames:
            if vstream is None:
                height, width = image.shape[:2]
                vstream = container.add_stream("libx264", rate=rate)
                vstream.width, vstream.height = width - width % 2, height - height % 2
                vstream.pix_fmt = "yuv420p"
                if bitrate:
                    vstream.bit_rate = bitrate
                else:
                    vstream.options = {"crf": str(crf), "preset": "veryfast"}
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[: vstream.height, : vstream.width]), format="rgb24")
            for packet in vstream.encode(frame):
                container.mux(packet)
        if vstream is None:
            raise ValueError("write_clip needs at least one frame")
        for packet in vstream.encode():
            container.mux(packet)
        if astream is not None:
            _write_audio(container, astream, audio, sample_rate)
    return path


def remux_with_audio(source: Path | str, path: Path | str, audio: np.ndarray | None, sample_rate: int = 48000,
                     audio_codec: str = "aac") -> Path:
    """Copy the video stream of `source` packet for packet (no re-encode: the picture stays bit-identical) and write
    `audio` ((N,) mono or (N, C), sample 0 at t = 0) beside it."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(source)) as src, av.open(str(path), mode="w") as dst:
        if not src.streams.video:
            raise ValueError(f"{source} has no video stream")
        vin = src.streams.video[0]
        vout = dst.add_stream_from_template(vin)
        astream = None
        if audio is not None:
            astream = dst.add_stream(audio_codec, rate=sample_rate)
            astream.layout = "mono" if audio.ndim == 1 or audio.shape[1] == 1 else "stereo"
        for packet in src.demux(vin):
            if packet.dts is None:  # the demuxer's flush packet
                continue
            packet.stream = vout
            dst.mux(packet)
        if astream is not None:
            _write_audio(dst, astream, audio, sample_rate)
    return path


def _write_audio(container, astream, audio: np.ndarray, sample_rate: int) -> None:
    import av

    data = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    planar = data[None, :] if data.ndim == 1 else data.T.copy()
    layout = "mono" if planar.shape[0] == 1 else "stereo"
    block = 1024
    pts = 0
    for start in range(0, planar.shape[1], block):
        chunk = np.ascontiguousarray(planar[:, start:start + block])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate = sample_rate
        frame.pts = pts
        pts += chunk.shape[1]
        for packet in astream.encode(frame):
            container.mux(packet)
    for packet in astream.encode():
        container.mux(packet)
