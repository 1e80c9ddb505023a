"""AV: audio-visual synchrony (paper: Synchformer offset, seconds, lower is better).

Lite backend `av-onset-align`: over the whole clip, an audio onset envelope (spectral flux of 16 kHz audio, 10 ms hop)
is cross-correlated with a visual event envelope built from small grey frames at the native frame rate. A visual event
is an abrupt change of motion: a velocity reversal (a pixel that brightens then darkens again, or the reverse, over
three frames, as when a ball bounces or a stick strikes) plus a jump of the motion energy (motion that starts or stops
at once). Both envelopes are detrended (running median) so steady motion and sustained sound do not count.

Lags within ±1 s on a 10 ms grid are scored by normalised correlation c(lag). They are turned into a distribution
p(lag) ∝ exp((c(lag) − c_max) / τ) with τ = 0.05 · (c_max − median c): a lag whose correlation is 5 % of the peak's
prominence below the best keeps weight 1/e, so competing alignments (periodic events) spread it. That distribution is
trusted only as far as the peak beats chance: the same audio onsets placed at random times (40 draws, fixed seed) give
a chance level (90th percentile of their best correlation), chance_ratio = c_max / chance level, weight
w = clip((ratio − 1) / 0.4, 0, 1), and p ← w·p + (1 − w)·uniform(±1 s). Sound unrelated to the motion thus tends to
E|offset| = 0.5 s (the worst), not to a lucky small offset. The raw value is the expected absolute offset
E|offset| = Σ p(lag)·|lag| in seconds (not |E[offset]|, which rewards a symmetric, uncertain spread).
Evidence also gives the MAP offset (signed, parabolic sub-step interpolation; positive = sound later than picture) and
a confidence = the probability mass within ±50 ms of the MAP offset.

Talking faces: speech onsets rarely line up with whole-frame motion, so a face on screen adds its own visual events.
Face tracks (shared with Face and Lip, perception/faces.py) of at least MIN_MOUTH_FRAMES frames give a mouth-opening
series (inner-lip gap over eye distance, 25 fps); its opening speed (positive frame-to-frame change, detrended the same
way) is a mouth event envelope. The motion and mouth envelopes are each scaled to a maximum of 1 and added before the
correlation, so a clip with both bounces and a speaker uses both. On our synthetic talking heads the mouth's opening
peaks ~50 ms after the voice onset it follows, so a speaker in sync reads ~-50 ms (sound slightly early).

Silent audio, or a clip with fewer than two audio onsets or fewer than two visual events, is `no_events`, not an
offset of zero: with a single event on either side no alignment can beat chance, so none is claimed.
"""

from __future__ import annotations

import numpy as np

from ..media import Clip, FrameSpec, MediaNeeds
from .base import Backend, Dimension, ItemContext, Measurement, Status, inverse
from .face import COLOR_FRAMES as FACE_COLOR_FRAMES, FRAMES as FACE_FRAMES

AUDIO_RATE = 16000
HOP = 160  # 10 ms at 16 kHz: the envelope and lag step
N_FFT = 512
ENV_RATE = AUDIO_RATE / HOP
MOTION_FRAMES = FrameSpec(fps=None, max_side=160, gray=True)  # shared with Vis (flicker / freeze)
MAX_LAG_S = 1.0
SILENCE_RMS = 1e-4  # about -80 dBFS
PIXEL_NOISE = 3.0  # grey levels of change ignored as coding noise
GRID = 4
STEADY_MOTION = 0.35
STEADY_JUMP = 0.15
MIN_VISUAL_EVENT = 0.05  # mean grey levels per pixel for a visual event
MIN_AUDIO_EVENT = 0.3  # detrended log-flux units for an audio onset (steady noise stays well below)
MIN_EVENTS = 2  # of each kind: one event alone cannot be told from chance
EDGE_S = 0.05  # onsets this close to the clip's start are the start itself, not an event
TAU_FRACTION = 0.05
CONFIDENCE_WINDOW_S = 0.05
SURROGATES = 40
RATIO_CHANCE, RATIO_SURE = 1.0, 1.4  # peak / best chance correlation: weight of the correlation vs a uniform spread
MIN_MOUTH_FRAMES = 40  # a face track this long (1.6 s at 25 fps) adds mouth events, as Lip's tracks


def _running_median(x: np.ndarray, width: int) -> np.ndarray:
    from scipy.ndimage import median_filter

    return median_filter(x, size=max(1, width), mode="nearest")


def audio_onset_envelope(audio: np.ndarray) -> np.ndarray:
    """Half-wave rectified log-spectral flux, one value per 10 ms hop; value k belongs to time k·10 ms."""
    audio = np.asarray(audio, np.float32)
    padded = np.pad(audio, (N_FFT // 2, N_FFT // 2))
    n = 1 + (len(padded) - N_FFT) // HOP
    if n < 2:
        return np.zeros(max(n, 0), np.float32)
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(padded[idx] * np.hanning(N_FFT).astype(np.float32), axis=1))
    logmag = np.log1p(100.0 * spec)
    flux = np.maximum(np.diff(logmag, axis=0), 0.0).mean(axis=1)
    flux = np.concatenate([[0.0], flux])
    # The flux of frame k compares k with k-1; its centre lies half a hop before k's centre.
    env = _detrend(flux, int(0.3 * ENV_RATE))
    env[: int(EDGE_S * ENV_RATE) + 1] = 0.0
    return env


def _detrend(x: np.ndarray, width: int) -> np.ndarray:
    return np.maximum(x - _running_median(x, width | 1), 0.0).astype(np.float32)


def _cell_means(x: np.ndarray) -> np.ndarray:
    h, w = (x.shape[0] // GRID) * GRID, (x.shape[1] // GRID) * GRID
    return x[:h, :w].reshape(GRID, h // GRID, GRID, w // GRID).mean(axis=(1, 3)) / (GRID * GRID)


def visual_event_envelope(frames: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(times, strength) of abrupt motion changes, one value per inner frame.

    Strength = Σ over GRID×GRID cells of max(0, reversal − STEADY_MOTION × motion energy) (a bounce, a strike: pixels
    that change and change back), + max(0, |change of whole-frame motion energy| − STEADY_MOTION × energy) (motion
    that starts or stops at once). Steady motion (a pan, a walking figure) with coding jitter does not count. Energy
    jumps are taken over the whole frame: per cell, an object crossing a cell border would look like one.
    """
    n = len(frames)
    energy = np.zeros(n - 1, np.float64)
    cell_energy = np.zeros((n - 1, GRID, GRID), np.float64)
    cell_reversal = np.zeros((n - 2, GRID, GRID), np.float64)
    prev = None
    for i in range(n - 1):  # one frame pair at a time: long clips stay small in memory
        d = frames[i + 1].astype(np.float32) - frames[i].astype(np.float32)
        d[np.abs(d) < PIXEL_NOISE] = 0.0
        cell_energy[i] = _cell_means(np.abs(d))
        energy[i] = cell_energy[i].sum()
        if prev is not None:
            cell_reversal[i - 1] = _cell_means(np.abs(prev) + np.abs(d) - np.abs(prev + d)) / 2
        prev = d
    steady_cells = (cell_energy[:-1] + cell_energy[1:]) / 2
    reversal = np.maximum(cell_reversal - STEADY_MOTION * steady_cells, 0.0).sum(axis=(1, 2))
    steady = (energy[:-1] + energy[1:]) / 2
    jump = np.maximum(np.abs(np.diff(energy)) - STEADY_JUMP * steady, 0.0)
    fps = 1.0 / max(float(np.median(np.diff(times))), 1e-3)
    return times[1:-1], _detrend(reversal + jump, int(round(0.4 * fps)))


def _events(x: np.ndarray, floor: float, distance: int) -> tuple[np.ndarray, np.ndarray]:
    """(peak indices, envelope gated to its events): values under max(floor, 15 % of the maximum) are dropped."""
    from scipy.signal import find_peaks

    if x.size == 0 or float(x.max()) < floor:
        return np.zeros(0, int), np.zeros_like(x)
    height = max(floor, 0.15 * float(x.max()))
    return find_peaks(x, height=height, distance=max(1, distance))[0], np.where(x >= height, x, 0.0)


def _correlate(a: np.ndarray, v: np.ndarray, max_lag: int) -> np.ndarray:
    """c[k] for lag = k - max_lag steps: correlation of a(t + lag) with v(t), globally normalised."""
    n = max(len(a), len(v))
    a = np.pad(a, (0, n - len(a))) - a.mean()
    v = np.pad(v, (0, n - len(v))) - v.mean()
    size = 1 << int(np.ceil(np.log2(2 * n + 1)))
    full = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(v, size)), size)
    lags = np.arange(-max_lag, max_lag + 1)
    c = full[lags % size]
    return c / (np.linalg.norm(a) * np.linalg.norm(v) + 1e-12)


def _chance_ratio(a: np.ndarray, v: np.ndarray, peak: float, max_lag: int) -> float:
    """The peak over the best correlation that chance gives: the same audio onsets (runs of the gated envelope) put at
    random times, SURROGATES times (fixed seed); the ratio is taken against the 90th percentile of their best lags."""
    rng = np.random.default_rng(0)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], (a > 0).astype(np.int8), [0]])))
    runs = [a[s0:s1] for s0, s1 in zip(edges[::2], edges[1::2])]
    best = []
    for _ in range(SURROGATES):
        fake = np.zeros_like(a)
        for run in runs:
            start = int(rng.integers(0, max(1, len(a) - len(run))))
            fake[start:start + len(run)] += run[: len(a) - start]
        best.append(float(_correlate(fake, v, max_lag).max()))
    return float(peak / max(float(np.quantile(best, 0.9)), 1e-6))


def mouth_event_envelopes(tracks, min_frames: int = MIN_MOUTH_FRAMES) -> list[tuple[np.ndarray, np.ndarray]]:
    """(times, strength) of mouth opening speed per face track of at least `min_frames` frames (module docstring)."""
    from ..perception.faces import mouth_opening

    out = []
    for track in tracks:
        if len(track) < min_frames:
            continue
        opening = np.array([mouth_opening(p) for p in track.landmarks], np.float32)
        t = np.asarray(track.times, np.float64)
        speed = np.maximum(np.diff(opening), 0.0)
        fps = 1.0 / max(float(np.median(np.diff(t))), 1e-3)
        out.append(((t[1:] + t[:-1]) / 2, _detrend(speed, int(round(0.4 * fps)))))
    return out


def estimate_offset(audio: np.ndarray, frames: np.ndarray, times: np.ndarray,
                    mouths: list[tuple[np.ndarray, np.ndarray]] = ()) -> dict:
    """Offset distribution and events for one clip; 'status' is ok or no_events. `mouths`: mouth event envelopes."""
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if len(audio) else 0.0
    a_env = audio_onset_envelope(audio)
    a_peaks, a_env = _events(a_env, MIN_AUDIO_EVENT, int(0.05 * ENV_RATE))
    v_times, v_strength = visual_event_envelope(frames, times) if len(frames) >= 3 else (np.zeros(0), np.zeros(0))
    fps = 1.0 / max(float(np.median(np.diff(times))), 1e-3) if len(times) > 1 else 0.0
    v_peaks, v_strength = _events(v_strength, MIN_VISUAL_EVENT, max(1, int(round(0.08 * fps))))
    sources = [(v_times, v_strength)] if len(v_peaks) else []
    mouth_times: list[float] = []
    for m_times, m_strength in mouths:
        m_peaks, m_strength = _events(m_strength, 1e-6, 2)  # 2 frames apart at 25 fps
        if len(m_peaks):
            sources.append((m_times, m_strength))
            mouth_times += [float(m_times[k]) for k in m_peaks]
    n_visual = int(len(v_peaks)) + len(mouth_times)
    base = {
        "audio_rms_dbfs": round(float(20 * np.log10(max(rms, 1e-10))), 1),
        "audio_onsets": int(len(a_peaks)), "visual_events": n_visual,
        "motion_events": int(len(v_peaks)), "mouth_events": len(mouth_times),
        "audio_onset_times_s": [round(float(k) / ENV_RATE, 2) for k in a_peaks[:12]],
        "visual_event_times_s": sorted(round(float(v_times[k]), 2) for k in v_peaks)[:12],
        "mouth_event_times_s": sorted(round(t, 2) for t in mouth_times)[:12],
        "lag_window_s": [-MAX_LAG_S, MAX_LAG_S], "lag_step_ms": round(1000 / ENV_RATE, 1),
    }
    if rms < SILENCE_RMS or len(a_peaks) < MIN_EVENTS or n_visual < MIN_EVENTS:
        if rms < SILENCE_RMS:
            why = "silent audio"
        elif len(a_peaks) < MIN_EVENTS:
            why = "no audio onsets" if not len(a_peaks) else f"only 1 audio onset; {MIN_EVENTS} are needed to align"
        else:
            why = "no visual motion events" if not len(v_peaks) else f"only 1 visual motion event; {MIN_EVENTS} are needed to align"
        return {"status": Status.NO_EVENTS, "reason": why, **base}
    grid = np.arange(len(a_env)) / ENV_RATE
    v_env = np.zeros(len(grid))
    for src_times, strength in sources:  # each source scaled to a maximum of 1
        v_env += np.interp(grid, src_times, strength / max(float(strength.max()), 1e-12), left=0.0, right=0.0)
    max_lag = int(round(MAX_LAG_S * ENV_RATE))
    c = _correlate(a_env, v_env, max_lag)
    lags = np.arange(-max_lag, max_lag + 1) / ENV_RATE
    k = int(np.argmax(c))
    shift = 0.0
    if 0 < k < len(c) - 1:
        denom = c[k - 1] - 2 * c[k] + c[k + 1]
        shift = float(np.clip(0.5 * (c[k - 1] - c[k + 1]) / denom, -0.5, 0.5)) if denom < 0 else 0.0
    map_offset = (k - max_lag + shift) / ENV_RATE
    prominence = float(c[k] - np.median(c))
    tau = max(TAU_FRACTION * prominence, 1e-6)
    p = np.exp((c - c[k]) / tau)
    p /= p.sum()
    ratio = _chance_ratio(a_env, v_env, float(c[k]), max_lag)
    weight = float(np.clip((ratio - RATIO_CHANCE) / (RATIO_SURE - RATIO_CHANCE), 0.0, 1.0))
    p = weight * p + (1.0 - weight) / len(p)
    expected_abs = float(np.sum(p * np.abs(lags)))
    confidence = float(p[np.abs(lags - map_offset) <= CONFIDENCE_WINDOW_S + 1e-9].sum())
    return {
        "status": Status.OK, "expected_abs_offset_s": expected_abs, "map_offset_s": map_offset,
        "confidence": confidence, "peak_correlation": float(c[k]), "peak_prominence": prominence,
        "chance_ratio": round(ratio, 2), "evidence_weight": round(weight, 3), **base,
    }


_ROUNDED = {"map_offset_s", "expected_abs_offset_s", "confidence", "peak_correlation", "peak_prominence"}


class AVOnsetAlignLite(Backend):
    """Whole-clip cross-correlation of audio onsets with visual motion-change events."""

    name = "av-onset-align"
    version = "1.3"  # 1.2: mouth events of face tracks; 1.3: those tracks come from CenterFace
    tier = "lite"

    def needs(self) -> MediaNeeds:
        return MediaNeeds(frames=(MOTION_FRAMES, FACE_FRAMES, FACE_COLOR_FRAMES), audio_rates=(AUDIO_RATE,), needs_audio=True)

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        from ..perception.faces import missing_reason, tracks_for_frames

        frames = clip.frames_for(MOTION_FRAMES)
        mouths = []
        if FACE_FRAMES in clip.frames and missing_reason() is None:  # without face models: motion events only
            tracks = tracks_for_frames(clip.frames_for(FACE_FRAMES), key=clip.sha256,
                                       color=clip.frames_for(FACE_COLOR_FRAMES))
            mouths = mouth_event_envelopes(tracks)
        result = estimate_offset(clip.audio_at(AUDIO_RATE), frames.images, frames.times, mouths)
        status = result.pop("status")
        if status != Status.OK:
            return Measurement(status, evidence=result, message=f"no offset estimated: {result['reason']}")
        evidence = {
            "offset_ms": round(1000 * result["map_offset_s"], 1),
            "sign": "positive offset = sound later than picture",
            "expected_abs_offset_ms": round(1000 * result["expected_abs_offset_s"], 1),
            "confidence": round(result["confidence"], 3),
            "confidence_means": f"probability that the offset lies within ±{CONFIDENCE_WINDOW_S * 1000:g} ms of offset_ms",
            "peak_correlation": round(result["peak_correlation"], 3),
            **{k: v for k, v in result.items() if k not in _ROUNDED},
        }
        message = (f"sound {evidence['offset_ms']:+.0f} ms vs picture (E|offset| {evidence['expected_abs_offset_ms']:.0f} ms, "
                   f"confidence {evidence['confidence']:.2f}) from {evidence['audio_onsets']} onsets, "
                   f"{evidence['motion_events']} motion and {evidence['mouth_events']} mouth events")
        return Measurement(Status.OK, result["expected_abs_offset_s"], evidence, message)


DIMENSION = Dimension(
    id="av", display="AV", group="cross", unit="offset seconds", higher_is_better=False,
    normalize=inverse(0.5), worst_raw=0.5,
    needs=MediaNeeds(frames=(MOTION_FRAMES, FACE_FRAMES, FACE_COLOR_FRAMES), audio_rates=(AUDIO_RATE,), needs_audio=True),
    annotations_used=(),
    backends={"lite": AVOnsetAlignLite},
    description="Audio-visual time offset.",
)
