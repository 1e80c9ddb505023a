"""A corpus of bad and unusual inputs in the suite layout: every file is made here, at test time, with PyAV.

`build(root)` writes `root/suite/prompts/odd.json` (one prompt per case) and `root/videos/odd/<file>` and returns the
cases. Each case names what it is and the statuses its rows may take (None: any status, the point being no crash).
"""

from __future__ import annotations

import json
import os
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np

from avgenbench.suite import safe_filename

SR = 48000
FPS = 24


@dataclass
class Case:
    name: str
    make: Callable[[Path], None] | None  # writes the file at the given path; None: no file
    ext: str = ".mp4"
    expect: frozenset[str] | None = None  # statuses every row of this video may take (None: any)
    prompt: str | None = None  # the prompt content (default: the case name)


def _frames(n: int, w: int, h: int, kind: str = "moving"):
    rng = np.random.default_rng(7)
    base = rng.integers(40, 200, size=(h, w, 3), dtype=np.uint8)
    for i in range(n):
        if kind == "black":
            yield np.zeros((h, w, 3), np.uint8)
        elif kind == "white":
            yield np.full((h, w, 3), 255, np.uint8)
        elif kind == "static":
            yield base
        else:
            frame = base.copy()
            x = (i * 5) % max(1, w - w // 4)
            frame[h // 3: h // 3 + h // 4, x: x + w // 4] = (240, 30, 30)
            yield frame


def _tone(seconds: float, sr: int = SR, channels: int = 2, kind: str = "clicks") -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    if kind == "silent":
        mono = np.zeros_like(t)
    elif kind == "dc":
        mono = 0.3 + 0.2 * np.sin(2 * np.pi * 330 * t)
    elif kind == "clipped":
        mono = np.clip(3 * np.sin(2 * np.pi * 220 * t), -0.6, 0.6)
    else:
        mono = 0.2 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    return np.repeat(mono[None, :].astype(np.float32), channels, axis=0)


LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}


def write(path: Path, *, fmt: str | None = None, vcodec: str = "libx264", size: tuple[int, int] = (160, 120),
          seconds: float = 1.5, fps: float = FPS, kind: str = "moving", audio: np.ndarray | None | str = "default",
          sr: int = SR, acodec: str = "aac", video_start: float = 0.0, audio_start: float = 0.0,
          pix_fmt: str = "yuv420p", options: dict | None = None, times: list[float] | None = None,
          thumbnail_first: bool = False, second_audio: np.ndarray | None = None) -> None:
    import av

    if isinstance(audio, str):
        audio = _tone(seconds, sr)
    w, h = size
    n = len(times) if times is not None else max(1, int(round(seconds * fps)))
    with av.open(str(path), mode="w", format=fmt, options=options or {}) as out:
        thumb = None
        if thumbnail_first:
            thumb = out.add_stream("mjpeg", rate=1)
            thumb.width, thumb.height, thumb.pix_fmt = 64, 48, "yuvj420p"
        rate = Fraction(fps).limit_denominator(1001)
        video = out.add_stream(vcodec, rate=rate)
        video.width, video.height, video.pix_fmt = w, h, pix_fmt
        video.time_base = Fraction(1, 1000) if times is not None else 1 / rate
        streams = []
        for track in (audio, second_audio):
            if track is None:
                continue
            stream = out.add_stream(acodec, rate=sr)
            stream.layout = LAYOUTS[track.shape[0]]
            streams.append((stream, track))
        if thumb is not None:
            for i, image in enumerate(_frames(2, 64, 48, "white")):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuvj420p")
                frame.pts = i
                for packet in thumb.encode(frame):
                    out.mux(packet)
            for packet in thumb.encode():
                out.mux(packet)
        for i, image in enumerate(_frames(n, w, h, kind)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            t = (times[i] if times is not None else i / fps) + video_start
            frame.pts = int(round(t / video.time_base))
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        for stream, track in streams:
            fmt_name = "s16p" if acodec in ("libmp3lame",) else ("s16" if acodec == "pcm_s16le" else
                                                                  "flt" if acodec == "pcm_f32le" else "fltp")
            data = track if fmt_name.endswith("p") else np.ascontiguousarray(track.T).reshape(1, -1)
            if fmt_name == "s16p":
                data = (np.clip(track, -1, 1) * 32767).astype(np.int16)
            elif fmt_name == "s16":
                data = (np.clip(data, -1, 1) * 32767).astype(np.int16)
            step = 1152 if acodec == "libmp3lame" else (960 if acodec == "libopus" else 1024)
            start = int(round(audio_start * sr))
            total = track.shape[1]
            for s in range(0, total, step):
                chunk = np.ascontiguousarray(data[:, s:s + step] if fmt_name.endswith("p")
                                             else data[:, s * track.shape[0]:(s + step) * track.shape[0]])
                frame = _audio_frame(chunk, fmt_name, LAYOUTS[track.shape[0]])
                frame.sample_rate = sr
                frame.pts = start + s
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)


def _audio_frame(chunk: np.ndarray, fmt: str, layout: str):
    """An AudioFrame from (channels or 1, samples) data, filled plane by plane (PyAV's from_ndarray fails on 7.1)."""
    import av

    if not fmt.endswith("p"):
        return av.AudioFrame.from_ndarray(chunk, format=fmt, layout=layout)
    frame = av.AudioFrame(format=fmt, layout=layout, samples=chunk.shape[1])
    for plane, data in zip(frame.planes, chunk):
        plane.update(np.ascontiguousarray(data).tobytes())
    return frame


def _ok(path: Path) -> None:
    write(path)


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _cut(fraction: float) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        write(path)
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])
    return make


def _head(nbytes: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        write(path)
        path.write_bytes(path.read_bytes()[:nbytes])
    return make


def _appended(path: Path) -> None:
    write(path)
    with open(path, "ab") as fh:
        fh.write(np.random.default_rng(2).integers(0, 255, 100_000, dtype=np.uint8).tobytes())


def _audio_only(path: Path) -> None:
    import av

    track = _tone(1.5, channels=1)
    with av.open(str(path), mode="w", format="mp4") as out:
        stream = out.add_stream("aac", rate=SR)
        stream.layout = "mono"
        for s in range(0, track.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(track[:, s:s + 1024]), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = SR, s
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _nan_audio(path: Path) -> None:
    track = _tone(1.5)
    track[:, 1000:3000] = np.nan
    track[:, 5000:5010] = np.inf
    write(path, fmt="matroska", acodec="pcm_f32le", audio=track)


def _symlink_to_ok(path: Path) -> None:
    target = path.parent / ".targets" / "real.mp4"
    target.parent.mkdir(exist_ok=True)
    write(target)
    path.symlink_to(target)


def _dangling(path: Path) -> None:
    path.symlink_to(path.parent / "does-not-exist.mp4")


def _directory(path: Path) -> None:
    path.mkdir()


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _nfd(path: Path) -> None:
    write(path.with_name(unicodedata.normalize("NFD", path.name)))


def _vfr(path: Path) -> None:
    times, t = [], 0.0
    rng = np.random.default_rng(5)
    while t < 2.0:
        times.append(round(t, 3))
        t += float(rng.choice([1 / 60, 1 / 24, 1 / 8, 0.25]))
    write(path, times=times)


CJK_LONG = "一个穿着红色外套的女人在雨中的城市街道上慢慢地走着，她抬头看着天空，远处传来雷声和汽车的喇叭声，" * 3
E_ACUTE = "Caf\u00e9 scene with an accordion"


def cases() -> list[Case]:
    fault = frozenset
    video_faults = fault({"unreadable", "no_video_stream", "too_short", "not_applicable", "missing_video"})
    return [
        Case("ok basic", _ok), Case("ok mov", lambda p: write(p, fmt="mov"), ".mov"),
        Case("ok mkv", lambda p: write(p, fmt="matroska"), ".mkv"),
        Case("ok webm vp9 opus", lambda p: write(p, fmt="webm", vcodec="libvpx-vp9", acodec="libopus"), ".webm"),
        Case("upper case extension", _ok, ".MP4"), Case("mixed case extension", _ok, ".Mp4"),
        Case("cjk long name", _ok, prompt=CJK_LONG), Case("nfd name", _nfd, prompt=E_ACUTE),
        Case("missing", None, expect=fault({"missing_video", "not_applicable"})),
        Case("zero bytes", _bytes(b""), expect=video_faults),
        Case("random bytes", _bytes(np.random.default_rng(1).integers(0, 255, 5000, dtype=np.uint8).tobytes()),
             expect=video_faults),
        Case("text file", _bytes(b"this is not a video\n" * 20), expect=video_faults),
        Case("truncated to a third", _cut(1 / 3)), Case("truncated to 90 percent", _cut(0.9)),
        Case("header only", _head(2048), expect=video_faults), Case("garbage appended", _appended),
        Case("audio only", _audio_only, expect=fault({"no_video_stream", "not_applicable"})),
        Case("video only", lambda p: write(p, audio=None)),
        Case("silent audio", lambda p: write(p, audio=_tone(1.5, kind="silent"))),
        Case("eight channels", lambda p: write(p, audio=_tone(1.5, channels=8))),
        Case("six channels", lambda p: write(p, audio=_tone(1.5, channels=6))),
        Case("mono audio", lambda p: write(p, audio=_tone(1.5, channels=1))),
        Case("audio at 8 kHz", lambda p: write(p, audio=_tone(1.5, sr=8000, channels=1), sr=8000)),
        Case("audio at 96 kHz", lambda p: write(p, audio=_tone(1.5, sr=96000), sr=96000)),
        Case("mp3 audio", lambda p: write(p, acodec="libmp3lame")),
        Case("pcm audio in mov", lambda p: write(p, fmt="mov", acodec="pcm_s16le"), ".mov"),
        Case("float pcm with nan", _nan_audio, ".mkv"),
        Case("flac audio in mkv", lambda p: write(p, fmt="matroska", acodec="flac"), ".mkv"),
        Case("audio starts at 600 s", lambda p: write(p, audio_start=600.0)),
        Case("audio starts at 3600 s", lambda p: write(p, audio_start=3600.0)),
        Case("video starts at 600 s", lambda p: write(p, video_start=600.0, audio_start=600.0)),
        Case("audio 300 ms late", lambda p: write(p, audio_start=0.3)),
        Case("16x16 frames", lambda p: write(p, size=(16, 16))), Case("32x18 frames", lambda p: write(p, size=(32, 18))),
        Case("very wide frames", lambda p: write(p, size=(1024, 64))),
        Case("very tall frames", lambda p: write(p, size=(64, 1024))),
        Case("thumbnail first", lambda p: write(p, fmt="matroska", thumbnail_first=True), ".mkv"),
        Case("one frame", lambda p: write(p, seconds=1 / FPS)), Case("a third of a second", lambda p: write(p, seconds=0.33)),
        Case("long audio short video", lambda p: write(p, seconds=1.0, audio=_tone(8.0))),
        Case("short audio long video", lambda p: write(p, seconds=3.0, audio=_tone(0.4))),
        Case("variable frame rate", _vfr), Case("120 fps", lambda p: write(p, fps=120)),
        Case("2 fps", lambda p: write(p, fps=2, seconds=3.0)),
        Case("black frames", lambda p: write(p, kind="black")), Case("white frames", lambda p: write(p, kind="white")),
        Case("static frame", lambda p: write(p, kind="static")),
        Case("dc offset audio", lambda p: write(p, audio=_tone(1.5, kind="dc"))),
        Case("clipped audio", lambda p: write(p, audio=_tone(1.5, kind="clipped"))),
        Case("mpeg4 part 2", lambda p: write(p, vcodec="mpeg4")),
        Case("mjpeg in mkv", lambda p: write(p, fmt="matroska", vcodec="mjpeg", pix_fmt="yuvj420p"), ".mkv"),
        Case("hevc", lambda p: write(p, vcodec="libx265")),
        Case("ffv1 in mkv", lambda p: write(p, fmt="matroska", vcodec="ffv1", pix_fmt="yuv444p"), ".mkv"),
        Case("fragmented mp4", lambda p: write(p, options={"movflags": "frag_keyframe+empty_moov"})),
        Case("two audio tracks", lambda p: write(p, audio=_tone(1.5, kind="silent"), second_audio=_tone(1.5))),
        Case("full hd", lambda p: write(p, size=(1920, 1080), seconds=0.8)),
        Case("symlink to a clip", _symlink_to_ok),
        Case("dangling symlink", _dangling, expect=fault({"missing_video", "not_applicable"})),
        Case("folder named like a clip", _directory, expect=fault({"missing_video", "not_applicable"})),
        Case("fifo named like a clip", _fifo, expect=fault({"missing_video", "not_applicable"})),
        Case("markup [bold]name[/bold] <b>x</b>", _ok),
    ]


def build(root: Path) -> list[Case]:
    """Write the suite and the videos; return the cases in prompt order."""
    all_cases = cases()
    (root / "suite" / "prompts").mkdir(parents=True)
    rows = [{"content": c.prompt or c.name, "prompt": f"{c.prompt or c.name}: a red block slides while a tone beeps."}
            for c in all_cases]
    (root / "suite" / "prompts" / "odd.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    folder = root / "videos" / "odd"
    folder.mkdir(parents=True)
    for case in all_cases:
        if case.make is not None:
            case.make(folder / f"{safe_filename(case.prompt or case.name)}{case.ext}")
    (folder / "a file no prompt names.mp4").write_bytes(b"")
    return all_cases
