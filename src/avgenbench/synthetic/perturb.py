"""Degrade any clip (synthetic or real) in one known way and re-encode it to mp4.

Every function decodes the source with PyAV (frames streamed one at a time, the audio mixed to mono), transforms the decoded frames or audio, writes `out` and a truth sidecar
`<out stem>.truth.json` ({"source", "perturbation", "source_truth"}), and returns the perturbation record: its name,
parameters and what was measured while applying it (e.g. the achieved SNR).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ..media import _MonoMixer
from .encode import remux_with_audio, write_clip
from .generator import read_truth, render, write_truth

PERTURB_VERSION = "perturb-2"  # bump when a transform changes (calibrate caches by it)
CRF = 18  # re-encode quality: high, so the perturbation and not the re-encode dominates


@dataclass
class Media:
    """A source clip: its audio decoded in full (small); its frames decoded again, one at a time, when iterated."""

    path: Path
    fps: float
    n_frames: int
    audio: np.ndarray | None  # (n,) float32 mono on the video timeline (sample 0 = t 0)
    sample_rate: int

    def frames(self) -> Iterator[np.ndarray]:
        import av

        with av.open(str(self.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")


def load(path: Path | str) -> Media:
    """Decode the audio (mixed to mono, aligned so sample 0 is video time 0) and count the video frames."""
    import av

    path = Path(path)
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"{path} has no video stream")
        vstream = container.streams.video[0]
        astream = container.streams.audio[0] if container.streams.audio else None
        fps = float(vstream.average_rate or vstream.guessed_rate or 24)
        sr = astream.codec_context.sample_rate if astream is not None else 48000
        n_frames, chunks, audio_start = 0, [], None
        mixer = _MonoMixer(sr)
        streams = [vstream] + ([astream] if astream is not None else [])
        for packet in container.demux(*streams):
            if packet.stream.type == "video":
                n_frames += 1 if packet.size else 0
                continue
            for frame in packet.decode():
                if audio_start is None:
                    audio_start = float(frame.time or 0.0)
                chunks.extend(mixer.mix(frame))
        chunks.extend(mixer.flush())
    audio = None
    if astream is not None:
        audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        shift = int(round((audio_start or 0.0) * sr))
        audio = np.concatenate([np.zeros(shift, np.float32), audio]) if shift > 0 else audio[-shift:]
        n = int(round(n_frames / fps * sr))
        audio = np.concatenate([audio, np.zeros(max(0, n - len(audio)), np.float32)])[:n]
    return Media(path, fps, n_frames, audio, sr)


def save(media: Media, out: Path | str, record: dict[str, Any], frames: Iterable[np.ndarray] | None = None,
         bitrate: int | None = None) -> dict[str, Any]:
    """Write `media` to `out`; when the picture is unchanged (no new frames, no bit rate) its video stream is copied
    as it is, so an audio perturbation changes nothing but the audio."""
    if frames is None and bitrate is None:
        remux_with_audio(media.path, out, media.audio, media.sample_rate)
    else:
        write_clip(out, media.frames() if frames is None else frames, media.fps, media.audio, media.sample_rate,
                   crf=CRF, bitrate=bitrate)
    write_truth(out, {"source": str(media.path), "perturbation": record, "source_truth": read_truth(media.path)})
    return record


def _needs_audio(media: Media, name: str) -> np.ndarray:
    if media.audio is None:
        raise ValueError(f"{name} needs a clip with an audio track")
    return media.audio


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2))) if x.size else 0.0


# audio -----------------------------------------------------------------------

def shift_audio(src, out, ms: float) -> dict[str, Any]:
    """Audio later (+ms) or earlier (-ms) than the picture; length kept (silence fills, the overhang is cut)."""
    m = load(src)
    audio = _needs_audio(m, "shift_audio")
    k = int(round(ms / 1000 * m.sample_rate))
    shifted = np.zeros_like(audio)
    if abs(k) >= len(audio):
        pass  # shifted past the end: nothing of the track is left
    elif k >= 0:
        shifted[k:] = audio[: len(audio) - k]
    else:
        shifted[: len(audio) + k] = audio[-k:]
    m.audio = shifted
    return save(m, out, {"name": "shift_audio", "ms": ms, "samples": k})


def replace_audio(src, out, other) -> dict[str, Any]:
    """The picture of `src` with the audio of `other` (looped or cut to length)."""
    m, o = load(src), load(other)
    donor = _needs_audio(o, "replace_audio (donor)")
    from scipy.signal import resample_poly

    if o.sample_rate != m.sample_rate:
        donor = resample_poly(donor, m.sample_rate, o.sample_rate).astype(np.float32)
    n = len(m.audio) if m.audio is not None else int(round(m.n_frames / m.fps * m.sample_rate))
    m.audio = np.resize(donor, n) if donor.size else np.zeros(n, np.float32)
    return save(m, out, {"name": "replace_audio", "donor": str(other)})


def silence(src, out) -> dict[str, Any]:
    m = load(src)
    n = len(m.audio) if m.audio is not None else int(round(m.n_frames / m.fps * m.sample_rate))
    m.audio = np.zeros(n, np.float32)
    return save(m, out, {"name": "silence"})


def mute_after(src, out, fraction: float = 0.5) -> dict[str, Any]:
    """Silence from `fraction` of the clip's length on: a line cut off halfway."""
    m = load(src)
    audio = _needs_audio(m, "mute_after").copy()
    cut = int(round(len(audio) * fraction))
    audio[cut:] = 0.0
    m.audio = audio
    return save(m, out, {"name": "mute_after", "fraction": fraction, "at_s": round(cut / m.sample_rate, 3)})


def noise_signal(n: int, color: str, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n)
    if color == "white":
        return white
    if color != "pink":
        raise ValueError(f"noise colour must be white or pink, not {color!r}")
    spectrum = np.fft.rfft(white)
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spectrum / np.sqrt(f), n)


def add_noise(src, out, snr_db: float, color: str = "white", seed: int = 0) -> dict[str, Any]:
    """Add white or pink noise scaled so that signal power / noise power = snr_db over the whole track."""
    m = load(src)
    audio = _needs_audio(m, "add_noise").astype(np.float64)
    noise = noise_signal(len(audio), color, np.random.default_rng(seed))
    signal_rms = _rms(audio)
    if signal_rms == 0:
        raise ValueError("add_noise: the audio is silent, SNR is undefined")
    noise *= signal_rms / _rms(noise) / 10 ** (snr_db / 20)
    mixed = audio + noise
    peak = float(np.max(np.abs(mixed)))
    gain = min(1.0, 0.98 / peak) if peak else 1.0  # scale both so nothing clips; the SNR is unchanged
    m.audio = (mixed * gain).astype(np.float32)
    achieved = 20 * np.log10(signal_rms / _rms(noise))
    return save(m, out, {"name": "add_noise", "snr_db": snr_db, "color": color, "seed": seed,
                              "achieved_snr_db": round(float(achieved), 3), "gain": round(gain, 4)})


def clip_audio(src, out, drive_db: float = 12.0) -> dict[str, Any]:
    """Amplify by drive_db, then hard-clip at full scale."""
    m = load(src)
    audio = _needs_audio(m, "clip_audio") * 10 ** (drive_db / 20)
    clipped = float(np.mean(np.abs(audio) >= 1.0))
    m.audio = np.clip(audio, -1.0, 1.0).astype(np.float32)
    return save(m, out, {"name": "clip_audio", "drive_db": drive_db, "clipped_fraction": round(clipped, 5)})


def lowpass(src, out, cutoff_hz: float = 1000.0, order: int = 8) -> dict[str, Any]:
    """Band-limit the audio with a zero-phase Butterworth low-pass."""
    from scipy.signal import butter, sosfiltfilt

    m = load(src)
    audio = _needs_audio(m, "lowpass")
    sos = butter(order, cutoff_hz, btype="low", fs=m.sample_rate, output="sos")
    m.audio = sosfiltfilt(sos, audio).astype(np.float32)
    return save(m, out, {"name": "lowpass", "cutoff_hz": cutoff_hz, "order": order})


def pitch_shift(src, out, semitones: float) -> dict[str, Any]:
    """Shift the pitch by n semitones, keeping duration and timing (phase-vocoder stretch, then resample)."""
    m = load(src)
    audio = _needs_audio(m, "pitch_shift")
    m.audio = shift_pitch(audio, semitones)
    return save(m, out, {"name": "pitch_shift", "semitones": semitones})


def shift_pitch(audio: np.ndarray, semitones: float, n_fft: int = 2048, hop: int = 256) -> np.ndarray:
    from scipy.signal import resample

    ratio = 2.0 ** (semitones / 12.0)
    stretched = _stretch(np.asarray(audio, np.float64), ratio, n_fft, hop)
    return resample(stretched, len(audio)).astype(np.float32)


def _stretch(x: np.ndarray, factor: float, n_fft: int, hop: int) -> np.ndarray:
    """Phase vocoder: `x` made `factor` times longer at the same pitch."""
    window = np.hanning(n_fft)
    padded = np.concatenate([np.zeros(n_fft), x, np.zeros(n_fft)])
    starts = range(0, len(padded) - n_fft, hop)
    spec = np.array([np.fft.rfft(window * padded[s:s + n_fft]) for s in starts]).T
    steps = np.arange(0, spec.shape[1] - 1, 1.0 / factor)
    expected = 2 * np.pi * hop * np.arange(spec.shape[0]) / n_fft
    phase = np.angle(spec[:, 0])
    out = np.zeros(len(steps) * hop + n_fft)
    norm = np.zeros_like(out)
    for j, step in enumerate(steps):
        k = int(step)
        frac = step - k
        mag = (1 - frac) * np.abs(spec[:, k]) + frac * np.abs(spec[:, k + 1])
        frame = np.fft.irfft(mag * np.exp(1j * phase), n_fft) * window
        out[j * hop:j * hop + n_fft] += frame
        norm[j * hop:j * hop + n_fft] += window**2
        delta = np.angle(spec[:, k + 1]) - np.angle(spec[:, k]) - expected
        delta -= 2 * np.pi * np.round(delta / (2 * np.pi))
        phase += expected + delta
    out /= np.maximum(norm, 1e-6)
    lead = int(round(n_fft * factor))
    return out[lead:lead + int(round(len(x) * factor))]


# picture ---------------------------------------------------------------------

def blur(src, out, sigma: float = 3.0) -> dict[str, Any]:
    from scipy.ndimage import gaussian_filter

    m = load(src)
    frames = (gaussian_filter(f, sigma=(sigma, sigma, 0)) for f in m.frames())
    return save(m, out, {"name": "blur", "sigma": sigma}, frames)


def frame_noise(src, out, sigma: float = 25.0, seed: int = 0) -> dict[str, Any]:
    """Independent Gaussian noise (std `sigma` in 0..255 units) on every pixel of every frame."""
    m = load(src)
    rng = np.random.default_rng(seed)
    frames = (np.clip(f + rng.normal(0, sigma, f.shape), 0, 255).astype(np.uint8) for f in m.frames())
    return save(m, out, {"name": "frame_noise", "sigma": sigma, "seed": seed}, frames)


def recompress(src, out, bitrate: int = 60_000) -> dict[str, Any]:
    """Re-encode the video at a very low bitrate (bits/s)."""
    m = load(src)
    return save(m, out, {"name": "recompress", "bitrate": bitrate}, bitrate=bitrate)


def freeze(src, out, start: float, duration: float) -> dict[str, Any]:
    """Hold the frame at `start` for `duration` seconds (timing and audio untouched)."""
    m = load(src)
    i0 = min(m.n_frames - 1, int(round(start * m.fps)))
    i1 = min(m.n_frames, int(round((start + duration) * m.fps)))

    def frames():
        held = None
        for i, f in enumerate(m.frames()):
            if i == i0:
                held = f
            yield held if (i0 <= i < i1 and held is not None) else f

    return save(m, out, {"name": "freeze", "start": start, "duration": duration, "frames": [i0, i1]}, frames())


def drop_frames(src, out, every: int = 3) -> dict[str, Any]:
    """Drop every `every`-th frame; the previous frame is shown in its place so duration and sync are kept."""
    if every < 2:
        raise ValueError("drop_frames needs every >= 2")
    m = load(src)

    def frames():
        prev = None
        for i, f in enumerate(m.frames()):
            if i % every == every - 1 and prev is not None:
                f = prev
            prev = f
            yield f

    return save(m, out, {"name": "drop_frames", "every": every, "dropped": m.n_frames // every}, frames())


def flicker(src, out, depth: float = 0.35, hz: float = 6.0) -> dict[str, Any]:
    """Brightness multiplied by 1 + depth * square wave at `hz`."""
    m = load(src)

    def gain(i: int) -> float:
        return 1.0 + depth * (1 if np.sin(2 * np.pi * hz * i / m.fps + 0.1) >= 0 else -1)

    frames = (np.clip(f * gain(i), 0, 255).astype(np.uint8) for i, f in enumerate(m.frames()))
    return save(m, out, {"name": "flicker", "depth": depth, "hz": hz}, frames)


# text (synthetic clips only: re-rendered from their spec) ---------------------

def _rerender(src, out, change: Callable[[dict[str, Any]], dict[str, Any]], record: dict[str, Any]) -> dict[str, Any]:
    truth = read_truth(src)
    if not truth or "spec" not in truth:
        raise ValueError(f"{record['name']} needs a synthetic clip with a truth sidecar holding its spec: {src}")
    render(change(dict(truth["spec"])), out, crf=CRF)
    new_truth = read_truth(out)
    write_truth(out, {**new_truth, "source": str(src), "perturbation": record, "source_truth": truth})
    return record


def remove_text(src, out) -> dict[str, Any]:
    return _rerender(src, out, lambda spec: {**spec, "texts": []}, {"name": "remove_text"})


def garble_text(src, out, edits: int = 3, seed: int = 1) -> dict[str, Any]:
    """Every text element re-rendered with `edits` letters substituted (capped at its letter count)."""
    def change(spec):
        texts = [{**t, "garble_edits": min(edits, sum(c.isalpha() for c in t["text"])), "seed": seed}
                 for t in spec.get("texts", [])]
        return {**spec, "texts": texts}

    return _rerender(src, out, change, {"name": "garble_text", "edits": edits, "seed": seed})


def drift_identity(src, out, at: float | None = None) -> dict[str, Any]:
    """Every face switches to a different identity at `at` seconds (default: mid-clip); re-rendered from the spec."""
    from .faces import list_identities

    def change(spec):
        at_s = spec["duration"] / 2 if at is None else at
        known = list_identities()
        faces = []
        for f in spec.get("faces", []):
            other = next(i for i in known if i != f["identity"])
            faces += [{**f, "end": at_s}, {**f, "start": at_s, "identity": other}]
        return {**spec, "faces": faces}

    return _rerender(src, out, change, {"name": "drift_identity", "at": at})


PERTURBATIONS: dict[str, Callable[..., dict[str, Any]]] = {
    f.__name__: f for f in (shift_audio, replace_audio, silence, mute_after, add_noise, clip_audio, lowpass, pitch_shift, blur,
                            frame_noise, recompress, freeze, drop_frames, flicker, remove_text, garble_text,
                            drift_identity)
}


def apply(name: str, src, out, **params) -> dict[str, Any]:
    """Apply the perturbation called `name` with `params`; see PERTURBATIONS."""
    try:
        fn = PERTURBATIONS[name]
    except KeyError:
        raise KeyError(f"unknown perturbation {name!r}; known: {', '.join(PERTURBATIONS)}") from None
    return fn(src, out, **params)
