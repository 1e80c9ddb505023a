"""Aud: audio production quality (paper: Audiobox-Aesthetics PQ, 1–10, higher is better).

Lite backend (`aud-signal-dnsmos`), on the 48 kHz and 16 kHz mono tracks. Seven signal measures, each turned into a
quality factor q in [0, 1] (1 = no problem found):

| measure | how | q |
|---|---|---|
| SNR | loud-frame power over a noise floor from per-bin 10th-percentile power over time, median-smoothed across 750 Hz | (snr − 10) / 35 |
| clipping | bump of the amplitude histogram of loud samples: mass above its running minimum over 14 bins from 0.3 to 1 × the 99.99th-percentile peak (clean sound thins out towards its peak; clipped sound piles up at the clip level, even after AAC) | 1 − (bump − 0.005) / 0.1 |
| bandwidth | highest frequency whose long-term spectrum is within 60 dB of its peak | log(bw / 2 kHz) / log(6) |
| loudness | integrated LUFS (pyloudnorm, BS.1770) | 1 in [−28, −8], linear to 0 at −50 and at 0 |
| dynamics | crest factor (99.99th-percentile peak over RMS) | (crest − 5 dB) / 5 dB |
| DC offset | mean sample value | 1 − (abs(dc) − 0.005) / 0.05 |
| dropouts | 10–500 ms digital silences (< −70 dBFS) cut abruptly into one continuing sound (the 10 ms on each side above −40 dBFS and within 6 dB of the 100 ms around, i.e. no fade; the same spectral shape on both sides, i.e. not a speech stop) | max(0.3, 1 − 0.25 · dropouts per 10 s) (floored: the least certain measure never decides alone) |

(all q clamped to [0, 1]; SNR reported up to 100 dB, the floor down to −120 dBFS). Signal PQ = 1 + 8 · Π max(q, 0.02)^w
with weights snr 1, clipping 1, bandwidth 1, loudness 0.5, dynamics 0.5, DC 0.5, dropouts 0.5: spotless audio gets 9
(Audiobox PQ rarely goes higher); any one fatal fault (q = 0) other than dropouts pins the score below 1.16, and the
floor of 0.02 lets the other measures still order such clips (on real clips a steak hitting a board reads as clipped;
without the floor the same clip under 0 dB noise or a 1 kHz low-pass tied with it at exactly 1).

Where speech dominates (Silero VAD speech fraction f of the clip), DNSMOS P.835 OVRL (the ONNX model shipped in the
`speechmos` wheel, run with onnxruntime on 9 s windows) is mapped to 1–10 by 1 + 8 · (OVRL − 1.5) / 2 (clamped) and
blended in: raw = (1 − w) · signal PQ + w · min(signal PQ, DNSMOS PQ), w = 0.5 · clamp((f − 0.2) / 0.3, 0, 1).
DNSMOS can pull the score down (muffled, distorted or noisy speech), never lift it above the signal score: a voice
DNSMOS likes does not make up for a fault the signal measures found.

A silent track (peak below −80 dBFS) gets raw 1 (the worst value) with evidence `silent`: the generator was asked
for sound and produced none, which is the video's fault, not the tool's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..perception import vad
from ..media import Clip, MediaNeeds
from ..models import onnx_session, require_package_file
from ..paper_workers.identities import AUDIOBOX
from .base import Backend, Dimension, ItemContext, Measurement, Status
from .in_env import ModelEnvBackend

RATE = 16000
HI_RATE = 48000
SILENT_PEAK = 1e-4  # -80 dBFS
WEIGHTS = {"snr": 1.0, "clipping": 1.0, "bandwidth": 1.0, "loudness": 0.5, "dynamics": 0.5, "dc": 0.5, "dropouts": 0.5}
DNSMOS_SECONDS = 9.01
Q_FLOOR = 0.02  # a fatal measure still leaves the others a say, so two faulty clips are not tied at 1


def _clamp(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _db(power: float) -> float:
    return float(10 * np.log10(max(power, 1e-20)))


def _spectrogram(x: np.ndarray, n_fft: int = 4096) -> np.ndarray:
    hop = n_fft // 2
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    n = 1 + (len(x) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n)[:, None]
    frames = x[idx] * np.hanning(n_fft)[None, :]
    return (np.abs(np.fft.rfft(frames, axis=1)) ** 2) / n_fft


def snr_db(x: np.ndarray, sr: int) -> tuple[float, float]:
    """(SNR in dB, noise floor in dBFS) from minimum statistics per frequency bin, smoothed across frequency."""
    from scipy.ndimage import median_filter

    spec = _spectrogram(x.astype(np.float64))
    frame_power = spec.sum(axis=1)
    floor = np.percentile(spec, 10, axis=0)
    bins = int(750 / (sr / 4096)) | 1
    floor = median_filter(floor, size=bins, mode="nearest")
    noise = float(floor.sum())
    loud = frame_power >= np.percentile(frame_power, 95) / 100.0  # frames within 20 dB of the loud ones
    signal = float(frame_power[loud].mean())
    return min(100.0, _db(signal / max(noise, 1e-20))), max(-120.0, _db(noise / 2048))


def bandwidth_hz(x: np.ndarray, sr: int) -> float:
    spec = _spectrogram(x.astype(np.float64))
    frame_power = spec.sum(axis=1)
    active = frame_power >= np.percentile(frame_power, 95) / 1000.0
    ltas = 10 * np.log10(spec[active].mean(axis=0) + 1e-20)
    ltas = np.convolve(ltas, np.ones(9) / 9, mode="same")
    freqs = np.fft.rfftfreq(4096, 1 / sr)
    above = np.nonzero(ltas >= ltas[freqs > 50].max() - 60.0)[0]
    return float(freqs[above[-1]]) if above.size else 0.0


def clipping_excess(x: np.ndarray) -> float:
    """Share of loud samples in a bump of the amplitude histogram (a clean signal's histogram falls towards its peak;
    a clipped one piles up at the clip level, smeared but still there after AAC)."""
    a = np.abs(x)
    level = float(np.percentile(a, 99.99))
    if level <= 0:
        return 0.0
    loud = a[a >= 0.3 * level]
    counts, _ = np.histogram(loud / level, bins=14, range=(0.3, 1.0))
    density = counts / max(len(loud), 1)
    return float((density - np.minimum.accumulate(density)).sum())


def _abrupt(side: np.ndarray) -> bool:
    """True when the 10 ms next to a gap are loud (> -40 dBFS) and not faded (within 6 dB of the 100 ms around)."""
    edge, context = _db(float(side[:2].mean())), _db(float(side.mean()))
    return edge > -40 and edge >= context - 6


def _same_sound(before: np.ndarray, after: np.ndarray, sr: int) -> bool:
    """The 100 ms on both sides of a gap have the same spectral shape (correlation of 24 log band energies >= 0.95):
    one continuing sound was interrupted, rather than one sound ending and another starting (as at a speech stop)."""
    edges = np.geomspace(100, sr / 2 * 0.9, 25)

    def bands(seg: np.ndarray) -> np.ndarray:
        spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)))) ** 2
        freqs = np.fft.rfftfreq(len(seg), 1 / sr)
        return np.log10(np.array([spec[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in zip(edges, edges[1:])]) + 1e-12)

    a, b = bands(before), bands(after)
    return bool(np.corrcoef(a, b)[0, 1] >= 0.95)


def dropouts(x: np.ndarray, sr: int) -> list[float]:
    """Start times of short digital silences inside otherwise loud audio."""
    hop = int(0.005 * sr)
    n = len(x) // hop
    if n < 30:
        return []
    power = np.mean(x[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1)
    quiet = 10 * np.log10(power + 1e-20) < -70
    found, i = [], 0
    while i < n:
        if not quiet[i]:
            i += 1
            continue
        j = i
        while j < n and quiet[j]:
            j += 1
        length = (j - i) * hop / sr
        if (0.01 <= length <= 0.5 and i >= 20 and j + 20 <= n and _abrupt(power[i - 20:i][::-1])
                and _abrupt(power[j:j + 20]) and _same_sound(x[(i - 20) * hop:i * hop], x[j * hop:(j + 20) * hop], sr)):
            found.append(round(i * hop / sr, 3))
        i = j
    return found


def loudness_lufs(x: np.ndarray, sr: int) -> float:
    import pyloudnorm

    if len(x) < int(0.5 * sr):
        x = np.pad(x, (0, int(0.5 * sr) - len(x)))
    value = pyloudnorm.Meter(sr).integrated_loudness(x.astype(np.float64))
    return float(value) if np.isfinite(value) else -100.0


def signal_measures(x: np.ndarray, sr: int) -> dict[str, dict]:
    """Each measure with its value and quality factor q."""
    duration = len(x) / sr
    snr, floor = snr_db(x, sr)
    clip_excess = clipping_excess(x)
    bw = bandwidth_hz(x, sr)
    lufs = loudness_lufs(x, sr)
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    crest = _db((float(np.percentile(np.abs(x), 99.99)) / max(rms, 1e-12)) ** 2)
    dc = float(np.mean(x))
    gaps = dropouts(x, sr)
    if lufs < -28:
        q_loud = _clamp((lufs + 50) / 22)
    else:
        q_loud = _clamp(-lufs / 8) if lufs > -8 else 1.0
    return {
        "snr": {"db": round(snr, 1), "noise_floor_dbfs": round(floor, 1), "q": round(_clamp((snr - 10) / 35), 3)},
        "clipping": {"histogram_bump": round(clip_excess, 4), "q": round(_clamp(1 - (clip_excess - 0.005) / 0.1), 3)},
        "bandwidth": {"hz": round(bw), "q": round(_clamp(np.log(max(bw, 1.0) / 2000) / np.log(6)), 3)},
        "loudness": {"lufs": round(lufs, 1), "q": round(q_loud, 3)},
        "dynamics": {"crest_db": round(crest, 1), "q": round(_clamp((crest - 5) / 5), 3)},
        "dc": {"offset": round(dc, 4), "q": round(_clamp(1 - (abs(dc) - 0.005) / 0.05), 3)},
        "dropouts": {"count": len(gaps), "at_s": gaps[:8], "q": round(max(0.3, 1 - 0.25 * len(gaps) * 10 / max(duration, 1.0)), 3)},
    }


def signal_pq(measures: dict[str, dict]) -> float:
    product = 1.0
    for key, weight in WEIGHTS.items():
        product *= max(measures[key]["q"], Q_FLOOR) ** weight
    return 1.0 + 8.0 * product


class Dnsmos:
    """DNSMOS P.835 (SIG, BAK, OVRL) from the `speechmos` wheel's ONNX model, one session per process."""

    # Polynomial calibration published with DNSMOS P.835 (non-personalised).
    POLY = {"sig": (-0.08397278, 1.22083953, 0.0052439), "bak": (-0.13166888, 1.60915514, -0.39604546),
            "ovrl": (-0.06766283, 1.11546468, 0.04602535)}

    @staticmethod
    def model_path() -> Path:
        return require_package_file("speechmos", "dnsmos_models/sig_bak_ovr.onnx", "speech quality (DNSMOS)")

    @classmethod
    def session(cls):
        return onnx_session(cls.model_path())

    @classmethod
    def score(cls, audio16: np.ndarray) -> dict[str, float]:
        """Mean SIG/BAK/OVRL over non-overlapping 9 s windows (short audio is repeated to fill one window)."""
        need = int(DNSMOS_SECONDS * RATE)
        audio = np.asarray(audio16, np.float32)
        if len(audio) < need:
            audio = np.tile(audio, int(np.ceil(need / max(len(audio), 1))))[:need]
        starts = list(range(0, len(audio) - need + 1, 9 * RATE)) or [0]
        batch = np.stack([audio[s:s + need] for s in starts])
        raw = cls.session().run(None, {"input_1": batch})[0]
        out = {}
        for i, key in enumerate(("sig", "bak", "ovrl")):
            out[key] = float(np.mean(np.polyval(cls.POLY[key], raw[:, i])))
        return out


def dnsmos_pq(ovrl: float) -> float:
    return float(min(10.0, max(1.0, 1.0 + 8.0 * (ovrl - 1.5) / 2.0)))


class AudSignalLite(Backend):
    name = "aud-signal-dnsmos"
    version = "1.1"
    tier = "lite"

    def unavailable_reason(self, options) -> str | None:
        try:
            Dnsmos.model_path()
            vad.model_path()
        except RuntimeError as exc:
            return str(exc)
        return None

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        return assess(clip.audio_at(HI_RATE), clip.audio_at(RATE))


def assess(audio48: np.ndarray, audio16: np.ndarray) -> Measurement:
    """The Aud measurement of one mono track given at 48 kHz and 16 kHz."""
    if audio48.size == 0:
        return Measurement(Status.NO_AUDIO_STREAM, message="audio track is empty")
    peak = float(np.max(np.abs(audio48)))
    if peak < SILENT_PEAK:
        return Measurement(Status.OK, 1.0, {"silent": True, "peak_dbfs": round(_db(peak**2), 1)},
                           "silent audio track: scored as the worst quality")
    measures = signal_measures(audio48, HI_RATE)
    sig = signal_pq(measures)
    found = vad.detect(audio16)
    weight = 0.5 * _clamp((found.fraction - 0.2) / 0.3)
    evidence = {"measures": measures, "signal_pq": round(sig, 2), "speech_fraction": round(found.fraction, 3)}
    raw = sig
    if weight > 0:
        mos = Dnsmos.score(audio16)
        dns = dnsmos_pq(mos["ovrl"])
        raw = (1 - weight) * sig + weight * min(sig, dns)
        evidence["dnsmos"] = {**{k: round(v, 2) for k, v in mos.items()}, "pq": round(dns, 2), "weight": round(weight, 2)}
    worst = min(measures, key=lambda k: measures[k]["q"])
    evidence["weakest"] = worst if measures[worst]["q"] < 1 else None
    return Measurement(Status.OK, raw, evidence)


class AudAudioboxPaper(ModelEnvBackend):
    name, version, env_name, media = AUDIOBOX.name, AUDIOBOX.version, "audiobox-aesthetics", AUDIOBOX.needs


DIMENSION = Dimension(
    id="aud", needs=MediaNeeds(audio_rates=(RATE, HI_RATE), needs_audio=True),
    backends={"lite": AudSignalLite, "paper": AudAudioboxPaper},
)
