"""Decode each video once into a Clip that serves every dimension.

Dimensions declare what they need (MediaNeeds); the runner merges the needs of all dimensions of a unit and calls
`decode` once. Frames are decoded sequentially (no seeking) and resampled in time by nearest neighbour, so memory holds
only the frames that some dimension asked for, at the size it asked for.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from pathlib import Path

import numpy as np

from .executor import thread_share
from .scheme import Status

MIN_CLIP_SECONDS = 0.5
# One frame stream keeps at most this many bytes; a longer clip's stream stops there (recorded as `Frames.truncated_at`).
# 640 MiB holds ~116 s of the 25 fps 640x360 grey stream Face and Lip read (the largest), far beyond the suite's 8-10 s
# clips.
MAX_STREAM_BYTES = 640 << 20
# Frames whose shorter side is below this are too small to judge: every dimension that reads frames records `too_small`
# (dimensions that read only the audio still run). 64 px is far below any T2AV output (the reference's are >= 704).
MIN_FRAME_SIDE = 64
# A video whose first frame comes later than this (s) is timed from that frame, not from t = 0 of the container.
LATE_START_S = 1.0
# An audio start this far (s) from the first frame, or a late video start, is recorded in the media info and evidence.
OFFSET_NOTE_S = 0.5
# The file is read once, hashed, and decoded from those bytes: in memory up to this size, from a temporary copy beyond.
SPOOL_IN_MEMORY_BYTES = 256 << 20

# Per-process count of decode() calls per file; the runner reports it as media.decodes.
DECODE_COUNTS: Counter[str] = Counter()
_COUNT_LOCK = threading.Lock()


class MediaStatus:
    """The statuses decoding can give (their names and kinds are scheme.Status's)."""

    OK = Status.OK
    MISSING_VIDEO = Status.MISSING_VIDEO
    UNREADABLE = Status.UNREADABLE
    NO_VIDEO_STREAM = Status.NO_VIDEO_STREAM
    NO_AUDIO_STREAM = Status.NO_AUDIO_STREAM
    TOO_SHORT = Status.TOO_SHORT
    TOO_SMALL = Status.TOO_SMALL  # frames too small to judge (MIN_FRAME_SIDE): dimensions that read frames only
    AUDIO_OFFSET = Status.AUDIO_OFFSET  # the audio track starts after the picture ends (or ends before it starts)


@dataclass(frozen=True)
class FrameSpec:
    """Frames sampled at `fps` (None: every native frame), scaled so the longer side is at most `max_side`."""

    fps: float | None = None
    max_side: int | None = None
    gray: bool = False

    @property
    def label(self) -> str:
        rate = "native" if self.fps is None else f"{self.fps:g}fps"
        size = "full" if self.max_side is None else f"{self.max_side}px"
        return f"{rate}/{size}/{'gray' if self.gray else 'rgb'}"


@dataclass(frozen=True)
class MediaNeeds:
    frames: tuple[FrameSpec, ...] = ()
    audio_rates: tuple[int, ...] = ()
    needs_video: bool = True
    needs_audio: bool = False
    min_seconds: float = 0.0

    def merge(self, other: "MediaNeeds") -> "MediaNeeds":
        return MediaNeeds(
            frames=tuple(dict.fromkeys(self.frames + other.frames)),
            audio_rates=tuple(dict.fromkeys(self.audio_rates + other.audio_rates)),
            needs_video=self.needs_video or other.needs_video,
            needs_audio=self.needs_audio or other.needs_audio,
            min_seconds=max(self.min_seconds, other.min_seconds),
        )


@dataclass
class Frames:
    spec: FrameSpec
    times: np.ndarray  # seconds, one per image
    images: np.ndarray  # (N, H, W, 3) uint8, or (N, H, W) for gray
    truncated_at: float | None = None  # the stream stopped here (s): the clip is longer than MAX_STREAM_BYTES holds

    def __len__(self) -> int:
        return len(self.times)


@dataclass
class Clip:
    path: Path | None
    status: str = MediaStatus.OK
    message: str = ""
    duration: float = 0.0
    fps: float = 0.0
    width: int = 0
    height: int = 0
    n_frames: int = 0
    has_audio: bool = False
    audio_native_rate: int = 0
    audio_channels: int = 0
    video_codec: str = ""
    audio_codec: str = ""
    sha256: str = ""
    video_start: float = 0.0  # time stamp (s) of the first frame when the video starts late; the clip's t = 0 is there
    audio_offset: float = 0.0  # where the audio's first sample lies on the clip's timeline (s); > 0: the audio starts late
    # A fault of one part of an otherwise decodable clip: "frames" or "audio" -> (status, message). Every dimension that
    # reads that part records the status instead of a score.
    faults: dict[str, tuple[str, str]] = field(default_factory=dict)
    decode_errors: int = 0  # packets that failed to decode and were skipped (a damaged file)
    frames: dict[FrameSpec, Frames] = field(default_factory=dict)
    audio: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == MediaStatus.OK

    def frames_for(self, spec: FrameSpec) -> Frames:
        if spec not in self.frames:
            raise KeyError(f"frames {spec.label} were not requested when the clip was decoded")
        return self.frames[spec]

    def audio_at(self, rate: int) -> np.ndarray:
        if rate not in self.audio:
            raise KeyError(f"audio at {rate} Hz was not requested when the clip was decoded")
        return self.audio[rate]

    def timing_notes(self) -> dict[str, float]:
        """Large start offsets, for the media info and every row's evidence: `video_start_s` (the first frame's time
        stamp, which the clip is timed from) and `audio_offset_s` (the audio's start relative to the first frame)."""
        notes = {}
        if self.video_start:
            notes["video_start_s"] = round(self.video_start, 3)
        if abs(self.audio_offset) >= OFFSET_NOTE_S:
            notes["audio_offset_s"] = round(self.audio_offset, 3)
        return notes

    def summary(self) -> dict:
        truncated = {spec.label: round(f.truncated_at, 3) for spec, f in self.frames.items() if f.truncated_at is not None}
        notes: dict = ({"frames_truncated_at": truncated} if truncated else {}) | self.timing_notes()
        if self.faults:
            notes["faults"] = {part: {"status": status, "message": message} for part, (status, message) in self.faults.items()}
        if self.decode_errors:
            notes["decode_errors"] = self.decode_errors
        return notes | {
            "status": self.status, "message": self.message, "duration": round(self.duration, 3),
            "fps": round(self.fps, 3), "width": self.width, "height": self.height, "n_frames": self.n_frames,
            "has_audio": self.has_audio, "audio_rate": self.audio_native_rate, "audio_channels": self.audio_channels,
            "video_codec": self.video_codec, "audio_codec": self.audio_codec, "sha256": self.sha256,
        }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


class _Sampler:
    """Nearest-neighbour resampling of a frame stream to a fixed rate, without keeping the stream.

    Each sampler owns its scaler (a persistent swscale context: interleaving several output sizes through
    `frame.reformat` would rebuild the context on every call), converts a source frame at most once, and writes
    images straight into one growing array (no list of frames to stack at the end).
    """

    def __init__(self, spec: FrameSpec, width: int, height: int, expected: int = 0, max_bytes: int = MAX_STREAM_BYTES):
        from av.video.reformatter import VideoReformatter

        self.spec = spec
        self.size = _scaled_size(width, height, spec.max_side)
        self.times: list[float] = []
        self._shape = (self.size[1], self.size[0]) if spec.gray else (self.size[1], self.size[0], 3)
        self._max_images = max(2, max_bytes // int(np.prod(self._shape)))
        self.truncated_at: float | None = None
        cap = min(self._max_images, max(8, (256 << 20) // int(np.prod(self._shape))))  # bad metadata must not reserve gigabytes up front
        self._buffer = np.empty((max(1, min(expected, cap)),) + self._shape, np.uint8)
        self._n = 0
        self._scaler = VideoReformatter()
        self._prev: tuple[float, Any] | None = None  # (time, av frame)
        self._prev_index: int | None = None  # where the previous frame's image was first written
        self._next_k = 0

    def _full(self) -> bool:
        return self._n >= self._max_images

    def _slot(self) -> np.ndarray:
        if self._n == len(self._buffer):
            grown = np.empty((min(self._max_images, max(8, len(self._buffer) * 3 // 2)),) + self._shape, np.uint8)
            grown[: self._n] = self._buffer[: self._n]
            self._buffer = grown
        self._n += 1
        return self._buffer[self._n - 1]

    def _convert_into(self, frame, out: np.ndarray) -> None:
        fmt = "gray" if self.spec.gray else "rgb24"
        out[...] = self._scaler.reformat(frame, width=self.size[0], height=self.size[1], format=fmt).to_ndarray()

    def _emit_prev_until(self, limit: float) -> None:
        fps = self.spec.fps
        assert self._prev is not None and fps is not None  # only a fixed-rate sampler holds a previous frame
        frame = self._prev[1]
        while self._next_k / fps < limit:
            if self._full():
                self.truncated_at = self._next_k / fps
                return
            slot = self._slot()
            if self._prev_index is None:
                self._convert_into(frame, slot)
                self._prev_index = self._n - 1
            else:
                slot[...] = self._buffer[self._prev_index]
            self.times.append(self._next_k / fps)
            self._next_k += 1

    def push(self, t: float, frame) -> None:
        if self.truncated_at is not None:
            return
        if self.spec.fps is None:
            if self._full():
                self.truncated_at = t
                return
            self.times.append(t)
            self._convert_into(frame, self._slot())
            return
        if self._prev is not None:
            self._emit_prev_until((self._prev[0] + t) / 2)
        self._prev = (t, frame)
        self._prev_index = None

    def finish(self, end: float) -> Frames:
        if self.spec.fps is not None and self._prev is not None and self.truncated_at is None:
            self._emit_prev_until(end)
        images = self._buffer[: self._n]
        if self._n < len(self._buffer) * 0.9:  # do not keep a mostly unused buffer alive behind a view
            images = images.copy()
        self._buffer = np.empty((0,) + self._shape, np.uint8)  # the sampler lets go of its buffer
        return Frames(self.spec, np.asarray(self.times, dtype=np.float64), images, self.truncated_at)


def _expected_count(spec: FrameSpec, n_frames: int, duration: float) -> int:
    """Images a sampler will hold, from the container's metadata (0 when unknown); only sizes the first buffer."""
    if spec.fps is None:
        return n_frames
    return int(duration * spec.fps) + 2 if duration > 0 else 0


class _MonoMixer:
    """Down-mix any layout (7.1 included) to mono float32 at the native rate with swresample, before any plane is
    read: PyAV's `AudioFrame.to_ndarray` crashes on frames of 8 or more channels. Integer output (s32) makes
    swresample normalise its mix, so stereo becomes the mean of both channels (float output would sum them at -3 dB
    each). A stream whose layout, format or rate changes midway (broadcast AAC) gets a new resampler at the change."""

    SCALE = np.float32(1.0 / 2147483648.0)

    def __init__(self, rate: int):
        self.rate = rate or None
        self._resampler: Any = None
        self._source: tuple | None = None

    def mix(self, frame) -> list[np.ndarray]:
        import av

        source = (frame.format.name, frame.layout.name, frame.sample_rate)
        chunks = []
        if source != self._source:
            chunks = self.flush()
            self._resampler = av.AudioResampler(format="s32", layout="mono", rate=self.rate)
            self._source = source
        return chunks + self._convert(frame)

    def flush(self) -> list[np.ndarray]:
        return self._convert(None) if self._resampler is not None else []

    def _convert(self, frame) -> list[np.ndarray]:
        return [out.to_ndarray().reshape(-1).astype(np.float32) * self.SCALE for out in self._resampler.resample(frame)]


def _resample(audio: np.ndarray, src: int, dst: int) -> np.ndarray:
    if src == dst or audio.size == 0:
        return audio.astype(np.float32)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(src, dst)
    return resample_poly(audio, dst // g, src // g).astype(np.float32)


def _read_once(path: Path) -> tuple[tempfile.SpooledTemporaryFile, str, int]:
    """The file's bytes, read once, with their sha256 and size. Decoding reads these bytes, so the stored hash is the
    hash of what was measured even when the file changes or disappears meanwhile; memory holds at most
    SPOOL_IN_MEMORY_BYTES of it (a larger file spills to a temporary copy)."""
    digest = hashlib.sha256()
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)
    size = 0
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
                spool.write(block)
                size += len(block)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, digest.hexdigest(), size


def decode(path: Path | str | None, needs: MediaNeeds) -> Clip:
    """Decode `path` once, serving every frame spec and audio rate in `needs`. Never raises for bad media."""
    if path is None or not Path(path).is_file():
        return Clip(Path(path) if path else None, MediaStatus.MISSING_VIDEO, "no video file for this prompt")
    path = Path(path)
    with _COUNT_LOCK:
        DECODE_COUNTS[str(path.resolve())] += 1
    import av

    clip = Clip(path)
    try:
        source, clip.sha256, size = _read_once(path)
    except FileNotFoundError:
        clip.status, clip.message = MediaStatus.MISSING_VIDEO, "the video file disappeared before it could be read"
        return clip
    except OSError as exc:  # permission, I/O error, a folder...
        clip.status, clip.message = MediaStatus.UNREADABLE, f"cannot read: {type(exc).__name__}: {exc}"
        return clip
    with source:
        if size == 0:
            clip.status, clip.message = MediaStatus.UNREADABLE, "the file is empty (0 bytes)"
            return clip
        try:
            container = av.open(source, mode="r")
            candidates = _video_candidates(container)
            index = _main_video_index(container, candidates)
            if len(candidates) > 1:  # picking one read packets: start again
                container.close()
                source.seek(0)
                container = av.open(source, mode="r")
        except Exception as exc:  # corrupt header, unknown format...
            clip.status, clip.message = MediaStatus.UNREADABLE, f"cannot open: {type(exc).__name__}: {exc}"
            return clip
        try:
            _decode_streams(container, clip, needs, index)
        except Exception as exc:
            clip.status, clip.message = MediaStatus.UNREADABLE, f"decode failed: {type(exc).__name__}: {exc}"
            clip.frames.clear()
            clip.audio.clear()
        finally:
            container.close()
    return clip


def _video_candidates(container) -> list:
    """Video streams that are not a cover picture (an audio file's artwork, disposition attached_pic)."""
    import av

    return [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]


def _main_video_index(container, candidates: list) -> int | None:
    """The stream to judge among `candidates`: the only one, or among several (a thumbnail track beside the video) the
    longest (time span of its packets, then their count; one demux pass, no decoding), then the largest."""
    if len(candidates) <= 1:
        return candidates[0].index if candidates else None
    start: dict[int, float] = {}
    end: dict[int, float] = {}
    count: Counter[int] = Counter()
    try:
        for packet in container.demux(*candidates):
            i = packet.stream.index
            count[i] += 1
            if packet.pts is not None and packet.time_base:
                t = float(packet.pts * packet.time_base)
                start[i] = min(start.get(i, t), t)
                end[i] = max(end.get(i, t), t + float((packet.duration or 0) * packet.time_base))
    except Exception:  # damaged packets: judge by what was read
        pass

    def rank(s) -> tuple[float, int, int]:
        span = end.get(s.index, 0.0) - start.get(s.index, 0.0)
        return round(span, 1), count[s.index], s.codec_context.width * s.codec_context.height

    return max(candidates, key=rank).index


def _align_audio(clip: Clip, audio: np.ndarray, video_end: float) -> np.ndarray:
    """Put the audio on the clip's timeline (sample 0 at the first frame). A late start is padded with silence only
    within the picture: audio that starts after the last frame, or ends before the first, never plays with the picture.
    That is the video's fault (`audio_offset` for every dimension that reads audio), never minutes of padded silence."""
    rate = clip.audio_native_rate
    offset = clip.audio_offset
    ends = offset + len(audio) / rate
    if offset >= video_end or ends <= 0:
        where = (f"starts {offset:.2f} s after the first frame, after the picture ends ({video_end:.2f} s)" if offset > 0
                 else f"ends {-ends:.2f} s before the first frame")
        clip.faults["audio"] = (MediaStatus.AUDIO_OFFSET, f"the audio track {where}: no sound plays with the picture")
        return np.zeros(0, np.float32)
    shift = int(round(offset * rate))
    return np.concatenate([np.zeros(shift, np.float32), audio]) if shift > 0 else audio[-shift:]


def _decode_streams(container, clip: Clip, needs: MediaNeeds, video_index: int | None) -> None:
    vstream = container.streams[video_index] if video_index is not None else None
    astream = container.streams.audio[0] if container.streams.audio else None
    if vstream is None:
        cover = " (only a cover picture)" if container.streams.video else ""
        clip.status, clip.message = MediaStatus.NO_VIDEO_STREAM, f"the file has no video stream{cover}"
        return
    ctx = vstream.codec_context
    clip.width, clip.height = ctx.width, ctx.height
    clip.fps = float(vstream.average_rate or vstream.guessed_rate or 0) or 0.0
    clip.video_codec = ctx.name
    clip.has_audio = astream is not None
    mixer: _MonoMixer | None = None
    if astream is not None:
        clip.audio_native_rate = astream.codec_context.sample_rate or astream.rate or 0
        clip.audio_channels = astream.codec_context.channels or 0
        clip.audio_codec = astream.codec_context.name
        mixer = _MonoMixer(clip.audio_native_rate)
    vstream.thread_type = "AUTO"
    share = thread_share()
    if share:  # a pool worker decodes with its share of the cores, not with every core
        vstream.codec_context.thread_count = share

    n_meta = int(vstream.frames or 0)
    seconds_meta = float(vstream.duration * vstream.time_base) if (vstream.duration and vstream.time_base) else 0.0
    if not seconds_meta and container.duration:
        seconds_meta = container.duration / 1_000_000
    if not n_meta and seconds_meta and clip.fps:
        n_meta = int(seconds_meta * clip.fps) + 1
    samplers: list[_Sampler] = []
    streams = [vstream] + ([astream] if astream is not None else [])
    audio_chunks: list[np.ndarray] = []
    audio_start: float | None = None
    origin: float | None = None  # the clip's t = 0 on the container's clock
    last_video_t = 0.0
    for packet in container.demux(*streams):
        try:
            frames = packet.decode()
            if packet.stream.type == "audio" and frames:
                if audio_start is None:
                    audio_start = float(frames[0].time) if frames[0].time is not None else 0.0
                assert mixer is not None  # set whenever the audio stream is demuxed
                for frame in frames:
                    audio_chunks.extend(mixer.mix(frame))
                continue
        except Exception:
            clip.decode_errors += 1  # a damaged packet: keep going, judge the result by what decoded (and say so)
            if clip.decode_errors > 50:
                raise
            continue
        for frame in frames:
            t = float(frame.time) if frame.time is not None else clip.n_frames / (clip.fps or 25.0)
            if origin is None:  # a late first frame (a stream cut from a longer one) is the clip's start
                origin = t if t > LATE_START_S else 0.0
                clip.width, clip.height = clip.width or frame.width, clip.height or frame.height
                samplers = [_Sampler(spec, clip.width, clip.height, _expected_count(spec, n_meta, seconds_meta - origin),
                                     MAX_STREAM_BYTES) for spec in needs.frames]
            t -= origin
            clip.n_frames += 1
            last_video_t = max(last_video_t, t)
            for sampler in samplers:
                sampler.push(t, frame)
    if mixer is not None:
        audio_chunks.extend(mixer.flush())
    if clip.n_frames == 0:
        clip.status, clip.message = MediaStatus.UNREADABLE, "no video frame could be decoded"
        return
    if not clip.fps:
        clip.fps = clip.n_frames / max(last_video_t, 1e-6)
    video_end = last_video_t + 1.0 / clip.fps
    clip.video_start = origin or 0.0
    audio = np.concatenate(audio_chunks) if audio_chunks else np.zeros(0, np.float32)
    audio_chunks.clear()
    if clip.has_audio and clip.audio_native_rate and audio_start is not None:
        clip.audio_offset = audio_start - clip.video_start
        audio = _align_audio(clip, audio, video_end)
    elif clip.has_audio:  # a declared track with nothing in it is no sound, not a silent soundtrack
        clip.faults["audio"] = (MediaStatus.NO_AUDIO_STREAM, "the audio track holds no decodable sound")
    audio_end = len(audio) / clip.audio_native_rate if clip.audio_native_rate else 0.0
    clip.duration = max(video_end, audio_end)
    for sampler in samplers:
        clip.frames[sampler.spec] = sampler.finish(video_end - 1e-6)  # not one more image from rounding at the end
    if clip.has_audio and clip.audio_native_rate:
        for rate in needs.audio_rates:
            clip.audio[rate] = _resample(audio, clip.audio_native_rate, rate)
    if min(clip.width, clip.height) < MIN_FRAME_SIDE:
        clip.faults["frames"] = (MediaStatus.TOO_SMALL, f"frames are {clip.width}x{clip.height} px, too small to judge "
                                                       f"(the shorter side must be at least {MIN_FRAME_SIDE} px)")
    if clip.duration < MIN_CLIP_SECONDS or clip.n_frames < 2:
        clip.status = MediaStatus.TOO_SHORT
        clip.message = f"clip lasts {clip.duration:.2f} s with {clip.n_frames} frame(s); at least {MIN_CLIP_SECONDS} s needed"
