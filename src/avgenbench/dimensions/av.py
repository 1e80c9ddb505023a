"""AV: audio-visual synchrony (paper: Synchformer offset, seconds, lower is better).

Lite backend `av-onset-align`: over the whole clip, sound is cross-correlated with what the picture does, at lags
within ±1 s on a 10 ms grid (positive lag = sound later than picture), in two pairs:
- sound onsets (half-wave rectified log-spectral flux of 16 kHz audio, detrended) against visual events: abrupt motion
  changes on small grey frames at the native frame rate, per region of a 4×4 grid (a velocity reversal: pixels that
  change and change back, as when a ball bounces, a stick strikes, a hand strums) and for the whole frame (plus motion
  that starts or stops at once), and the opening speed of each mouth (face tracks of at least MIN_MOUTH_FRAMES frames,
  shared with Face and Lip, perception/faces.py). Each region or mouth with at least MIN_EVENTS events is one channel,
  scaled to a maximum of 1, and the channels are added: a hand in one corner weighs as much as the whole frame;
- speech-band (300–3000 Hz) energy bursts against mouth opening (inner-lip gap over eye distance), when faces are tracked.
Every envelope is detrended (running median) so steady motion and sustained sound do not count, gated to its events
and blurred (σ 30 ms) so events less than a frame apart overlap.

"Better than chance" is a permutation test: the statistic is the highest correlation over both pairs and all lags; the
null keeps the picture and each audio feature's events (runs of the gated envelope, their shapes and number) but puts
every event at an independent random time, SURROGATES times (fixed seed, the same maximum over pairs and lags taken on
each). p = (1 + #surrogates reaching the statistic) / (1 + SURROGATES). With p > ALPHA the clip is `inconclusive`: not
scored (the measure cannot tell; "cannot tell" is not "out of sync"), visible in coverage, evidence kept. Circular
shifts of the audio were measured as the null too: on the real dev clips they let 3 of 14 swapped (unrelated) sound
tracks through at α = 0.05, event shuffles none, so event shuffles are the null.

When conclusive, c(lag) is the higher of the two pairs' correlations at each lag. Periodic events give aliases (peaks
a period apart): among local maxima within ALIAS_FRACTION of the highest one's prominence, the one nearest zero is the
offset, and the lag distribution p(lag) ∝ exp((c(lag) − c_peak) / τ), τ = 0.05 · (c_peak − median c), is restricted
to that peak's lobe (where c stays above half its prominence), so aliases do not enter the expectation. The raw value
is E|offset| = Σ p(lag)·|lag| in seconds (not |E[offset]|, which rewards a symmetric spread); the evidence has the
MAP offset (signed, parabolic sub-step interpolation), a confidence (mass within ±50 ms of it), the p-value, the pair
that gave the peak and the channels used.

Silent audio, fewer than two audio onsets, or no region or mouth with two visual events is `no_events`: with a single
event on either side no alignment can beat chance, so none is claimed. On our synthetic talking heads the mouth's
opening peaks ~50 ms after the voice onset it follows, so a speaker in sync reads ~-50 ms (sound slightly early).
"""

from __future__ import annotations

import numpy as np

from ..media import Clip, MediaNeeds
from ..paper_workers.identities import SYNCHFORMER
from .base import Backend, Dimension, ItemContext, Measurement, Status
from .in_env import ModelEnvBackend
from .frames import FACE_COLOR_FRAMES, FACE_FRAMES, MOTION_FRAMES

AUDIO_RATE = 16000
HOP = 160  # 10 ms at 16 kHz: the envelope and lag step
N_FFT = 512
ENV_RATE = AUDIO_RATE / HOP
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
SURROGATES = 99  # event shuffles of the audio for the permutation p-value
BLUR_S = 0.03  # both envelopes are smoothed this much before correlating (a 24-30 fps frame lasts 33-42 ms)
ALPHA = 0.05  # p-value above which the alignment is inconclusive
ALIAS_FRACTION = 0.9  # peaks this close to the highest are aliases (periodic events): the one nearest zero is taken
MIN_ENERGY_EVENT = 1.0  # detrended log speech-band energy (nats, ~4 dB) for a syllable
MIN_MOUTH_FRAMES = 40  # a face track this long (1.6 s at 25 fps) adds mouth events, as Lip's tracks


def _running_median(x: np.ndarray, width: int) -> np.ndarray:
    from scipy.ndimage import median_filter

    return median_filter(x, size=max(1, width), mode="nearest")


def _magnitudes(audio: np.ndarray) -> np.ndarray:
    """|STFT| of centred Hann frames, one row per 10 ms hop (row k centred at k·10 ms); fewer than 2 rows when short."""
    audio = np.asarray(audio, np.float32)
    padded = np.pad(audio, (N_FFT // 2, N_FFT // 2))
    n = 1 + (len(padded) - N_FFT) // HOP
    if n < 2:
        return np.zeros((max(n, 0), N_FFT // 2 + 1), np.float32)
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    return np.abs(np.fft.rfft(padded[idx] * np.hanning(N_FFT).astype(np.float32), axis=1))


def audio_onset_envelope(audio: np.ndarray) -> np.ndarray:
    """Half-wave rectified log-spectral flux, one value per 10 ms hop; value k belongs to time k·10 ms."""
    spec = _magnitudes(audio)
    if len(spec) < 2:
        return np.zeros(len(spec), np.float32)
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


def visual_event_channels(frames: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """(times, [whole frame, cell 0, ..., cell GRID²-1]) event strengths of abrupt motion changes, one per inner frame.

    Per cell the strength is max(0, reversal − STEADY_MOTION × motion energy) (a bounce, a strike, a strum: pixels
    that change and change back), detrended over 0.4 s; the whole frame adds to the sum over cells max(0, |change of
    motion energy| − STEADY_JUMP × energy) (motion that starts or stops at once; per cell, an object crossing a cell
    border would look like one). Steady motion (a pan, a walking figure) with coding jitter does not count. A cell
    sees a hand on a string or a mouth that the whole frame's change drowns.
    """
    n = len(frames)
    cell_energy = np.zeros((n - 1, GRID, GRID), np.float64)
    cell_reversal = np.zeros((n - 2, GRID, GRID), np.float64)
    prev = None
    for i in range(n - 1):  # one frame pair at a time: long clips stay small in memory
        d = frames[i + 1].astype(np.float32) - frames[i].astype(np.float32)
        d[np.abs(d) < PIXEL_NOISE] = 0.0
        cell_energy[i] = _cell_means(np.abs(d))
        if prev is not None:
            cell_reversal[i - 1] = _cell_means(np.abs(prev) + np.abs(d) - np.abs(prev + d)) / 2
        prev = d
    fps = 1.0 / max(float(np.median(np.diff(times))), 1e-3)
    width = int(round(0.4 * fps))

    def strength(energy: np.ndarray, reversal_excess: np.ndarray) -> np.ndarray:
        steady = (energy[:-1] + energy[1:]) / 2
        jump = np.maximum(np.abs(np.diff(energy)) - STEADY_JUMP * steady, 0.0)
        return _detrend(reversal_excess + jump, width)

    excess = np.maximum(cell_reversal - STEADY_MOTION * (cell_energy[:-1] + cell_energy[1:]) / 2, 0.0)
    whole = strength(cell_energy.sum(axis=(1, 2)), excess.sum(axis=(1, 2)))
    cells = [_detrend(excess[:, r, q], width) for r in range(GRID) for q in range(GRID)]  # no jumps: see docstring
    return times[1:-1], [whole] + cells


def _events(x: np.ndarray, floor: float, distance: int) -> tuple[np.ndarray, np.ndarray]:
    """(peak indices, envelope gated to its events): values under max(floor, 15 % of the maximum) are dropped."""
    from scipy.signal import find_peaks

    if x.size == 0 or float(x.max()) < floor:
        return np.zeros(0, int), np.zeros_like(x)
    height = max(floor, 0.15 * float(x.max()))
    return find_peaks(x, height=height, distance=max(1, distance))[0], np.where(x >= height, x, 0.0)


def _runs(x: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(start, values) of each run of positive values: the events of a gated envelope."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], (x > 0).astype(np.int8), [0]])))
    return [(int(s0), x[s0:s1]) for s0, s1 in zip(edges[::2], edges[1::2])]


def _scatter(runs: list[tuple[int, np.ndarray]], n: int, rng: np.random.Generator) -> np.ndarray:
    """The same runs put at independent uniformly random start times (one surrogate of the event-shuffle null)."""
    fake = np.zeros(n, np.float64)
    for _, run in runs:
        start = int(rng.integers(0, max(1, n - len(run))))
        fake[start:start + len(run)] += run[: n - start]
    return fake


def _blur(x: np.ndarray) -> np.ndarray:
    """Gaussian smoothing (σ = BLUR_S): events whose timing differs by less than a frame still overlap."""
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(np.asarray(x, np.float64), BLUR_S * ENV_RATE, mode="constant")


class _Correlator:
    """Normalised cross-correlation of one audio feature with several visual channels at lags ±max_lag (FFT, the
    channels' spectra computed once so that many surrogate audios are cheap)."""

    def __init__(self, channels: list[np.ndarray], n: int, max_lag: int):
        self.n, self.size = n, 1 << int(np.ceil(np.log2(2 * n + 1)))
        channels = [_blur(v) for v in channels]
        self.lags = np.arange(-max_lag, max_lag + 1)
        spectra, norms = [], []
        for v in channels:
            v = np.pad(v[:n], (0, max(0, n - len(v)))) - float(np.mean(v[:n]))
            spectra.append(np.conj(np.fft.rfft(v, self.size)))
            norms.append(np.linalg.norm(v))
        self.spectra, self.norms = np.array(spectra), np.array(norms)

    def __call__(self, a: np.ndarray) -> np.ndarray:
        """(channels, lags) correlations of a(t + lag) with each channel v(t)."""
        a = _blur(a[: self.n])
        a = a - float(np.mean(a))
        full = np.fft.irfft(np.fft.rfft(a, self.size)[None, :] * self.spectra, self.size, axis=1)
        return full[:, self.lags % self.size] / (np.linalg.norm(a) * self.norms[:, None] + 1e-12)


def _main_peak(c: np.ndarray, lags: np.ndarray) -> int:
    """Index of the peak of c taken as the offset: among local maxima within ALIAS_FRACTION of the highest one's
    prominence over the median (aliases of periodic events), the one nearest zero lag."""
    median, top = float(np.median(c)), float(c.max())
    level = median + ALIAS_FRACTION * (top - median)
    inner = (c[1:-1] >= c[:-2]) & (c[1:-1] >= c[2:]) & (c[1:-1] >= level)
    candidates = list(np.flatnonzero(inner) + 1) + [k for k in (0, len(c) - 1) if c[k] >= level]
    if not candidates:
        return int(np.argmax(c))
    return int(min(candidates, key=lambda k: (abs(lags[k]), -c[k])))


def _lobe(c: np.ndarray, k: int) -> slice:
    """The lags around peak k whose correlation stays above half its prominence over the median: the expectation
    stays on this peak, not on its aliases."""
    level = float(np.median(c)) + 0.5 * (float(c[k]) - float(np.median(c)))
    lo, hi = k, k
    while lo > 0 and c[lo - 1] > level:
        lo -= 1
    while hi < len(c) - 1 and c[hi + 1] > level:
        hi += 1
    return slice(lo, hi + 1)


def mouth_event_envelopes(tracks, min_frames: int = MIN_MOUTH_FRAMES) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(times, opening speed, opening) per face track of at least `min_frames` frames, each detrended over 0.4 s and
    half-wave rectified (module docstring): the speed pairs with sound onsets, the opening with speech-band energy."""
    from ..perception.faces import mouth_opening

    out = []
    for track in tracks:
        if len(track) < min_frames:
            continue
        opening = np.array([mouth_opening(p) for p in track.landmarks], np.float32)
        t = np.asarray(track.times, np.float64)
        fps = 1.0 / max(float(np.median(np.diff(t))), 1e-3)
        width = int(round(0.4 * fps))
        speed = _detrend(np.maximum(np.diff(opening), 0.0), width)
        out.append(((t[1:] + t[:-1]) / 2, speed, _detrend(opening[1:], width)))
    return out


def audio_energy_envelope(audio: np.ndarray) -> np.ndarray:
    """Speech-band (300–3000 Hz) log energy per 10 ms hop, detrended over 0.4 s and half-wave rectified: syllables."""
    spec = _magnitudes(audio)
    if len(spec) < 2:
        return np.zeros(len(spec), np.float32)
    power = spec ** 2
    freqs = np.fft.rfftfreq(N_FFT, 1 / AUDIO_RATE)
    band = power[:, (freqs >= 300) & (freqs <= 3000)].mean(axis=1)
    env = _detrend(np.log(band + 1e-8), int(0.4 * ENV_RATE))
    env[: int(EDGE_S * ENV_RATE) + 1] = 0.0
    return env


def _on_grid(grid: np.ndarray, t: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.interp(grid, t, x, left=0.0, right=0.0)


def _sum_scaled(channels: list[np.ndarray]) -> np.ndarray:
    """Channels each scaled to a maximum of 1 and added: a small region's events weigh as much as the whole frame's."""
    return np.sum([c / max(float(c.max()), 1e-12) for c in channels], axis=0)


def _significance(pairs: list[tuple[np.ndarray, list[np.ndarray]]], max_lag: int) -> tuple[np.ndarray, float, float]:
    """(curves, peak, p): correlation curves of every (audio feature, visual channel) pair, the highest value over all
    of them, and its permutation p-value against SURROGATES event shuffles of the audio features (each audio event run
    put at an independent random time, fixed seed; the same maximum over pairs and lags taken on each surrogate)."""
    rng = np.random.default_rng(0)
    correlators = [(_Correlator(channels, len(a), max_lag), a) for a, channels in pairs]
    curves = np.vstack([corr(a) for corr, a in correlators])
    peak = float(curves.max())
    runs = [_runs(a) for _, a in correlators]
    beaten = 0
    for _ in range(SURROGATES):
        best = max(float(corr(_scatter(r, len(a), rng)).max()) for (corr, a), r in zip(correlators, runs))
        beaten += best >= peak
    return curves, peak, (1 + beaten) / (1 + SURROGATES)


def estimate_offset(audio: np.ndarray, frames: np.ndarray, times: np.ndarray,
                    mouths: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = ()) -> dict:
    """Offset distribution and events for one clip; 'status' is ok, no_events or inconclusive. `mouths`: the output of
    mouth_event_envelopes."""
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if len(audio) else 0.0
    a_peaks, onset = _events(audio_onset_envelope(audio), MIN_AUDIO_EVENT, int(0.05 * ENV_RATE))
    grid = np.arange(len(onset)) / ENV_RATE
    fps = 1.0 / max(float(np.median(np.diff(times))), 1e-3) if len(times) > 1 else 0.0
    v_times, channels = visual_event_channels(frames, times) if len(frames) >= 3 else (np.zeros(0), [np.zeros(0)])
    v_peaks, _ = _events(channels[0], MIN_VISUAL_EVENT, max(1, int(round(0.08 * fps))))
    names, onset_channels = [], []
    opening_channels = []
    for j, channel in enumerate(channels):
        peaks, gated = _events(channel, MIN_VISUAL_EVENT, max(1, int(round(0.08 * fps))))
        if len(peaks) >= MIN_EVENTS:
            where = "whole frame" if j == 0 else f"cell {(j - 1) // GRID},{(j - 1) % GRID}"
            names.append(where)
            onset_channels.append(_on_grid(grid, v_times, gated))
    mouth_times: list[float] = []
    for m, (m_times, speed, opening) in enumerate(mouths):
        m_peaks, speed = _events(speed, 1e-6, 2)  # 2 frames apart at 25 fps
        mouth_times += [float(m_times[k]) for k in m_peaks]
        if len(m_peaks) >= MIN_EVENTS:
            names.append(f"mouth {m}")
            onset_channels.append(_on_grid(grid, m_times, speed))
            opening_channels.append(_on_grid(grid, m_times, _events(opening, 1e-6, 2)[1]))
    n_visual = int(len(v_peaks)) + len(mouth_times)
    base = {
        "audio_rms_dbfs": round(float(20 * np.log10(max(rms, 1e-10))), 1),
        "audio_onsets": int(len(a_peaks)), "visual_events": n_visual,
        "motion_events": int(len(v_peaks)), "mouth_events": len(mouth_times), "visual_channels": len(onset_channels),
        "audio_onset_times_s": [round(float(k) / ENV_RATE, 2) for k in a_peaks[:12]],
        "visual_event_times_s": sorted(round(float(v_times[k]), 2) for k in v_peaks)[:12],
        "mouth_event_times_s": sorted(round(t, 2) for t in mouth_times)[:12],
        "lag_window_s": [-MAX_LAG_S, MAX_LAG_S], "lag_step_ms": round(1000 / ENV_RATE, 1),
    }
    if rms < SILENCE_RMS or len(a_peaks) < MIN_EVENTS or not onset_channels:
        if rms < SILENCE_RMS:
            why = "silent audio"
        elif len(a_peaks) < MIN_EVENTS:
            why = "no audio onsets" if not len(a_peaks) else f"only 1 audio onset; {MIN_EVENTS} are needed to align"
        else:
            why = ("no visual motion events" if not n_visual else
                   f"fewer than {MIN_EVENTS} visual events in every region and face; {MIN_EVENTS} are needed to align")
        return {"status": Status.NO_EVENTS, "reason": why, **base}
    max_lag = int(round(MAX_LAG_S * ENV_RATE))
    pairs = [(onset, [_sum_scaled(onset_channels)])]
    pair_names = ["visual events (regions, mouths) vs sound onsets"]
    _, energy = _events(audio_energy_envelope(audio)[: len(onset)], MIN_ENERGY_EVENT, int(0.05 * ENV_RATE))
    if opening_channels and energy.any():
        pairs.append((energy, [_sum_scaled(opening_channels)]))
        pair_names.append("mouth opening vs speech energy")
    curves, peak, p_value = _significance(pairs, max_lag)
    best_pair = pair_names[int(np.argmax(curves.max(axis=1)))]
    base.update(peak_correlation=round(peak, 3), p_value=round(p_value, 4), best_pair=best_pair, channels=names[:12])
    if p_value > ALPHA:
        return {"status": Status.INCONCLUSIVE, **base,
                "reason": f"sound and picture line up no better than chance (p = {p_value:.2f} > {ALPHA:g})"}
    c = curves.max(axis=0)
    lags = np.arange(-max_lag, max_lag + 1) / ENV_RATE
    k = _main_peak(c, lags)
    shift = 0.0
    if 0 < k < len(c) - 1:
        denom = c[k - 1] - 2 * c[k] + c[k + 1]
        shift = float(np.clip(0.5 * (c[k - 1] - c[k + 1]) / denom, -0.5, 0.5)) if denom < 0 else 0.0
    map_offset = (k - max_lag + shift) / ENV_RATE
    prominence = float(c[k] - np.median(c))
    lobe = _lobe(c, k)
    p = np.zeros_like(c)
    p[lobe] = np.exp((c[lobe] - c[k]) / max(TAU_FRACTION * prominence, 1e-6))
    p /= p.sum()
    expected_abs = float(np.sum(p * np.abs(lags)))
    confidence = float(p[np.abs(lags - map_offset) <= CONFIDENCE_WINDOW_S + 1e-9].sum())
    return {
        "status": Status.OK, "expected_abs_offset_s": expected_abs, "map_offset_s": map_offset,
        "confidence": confidence, "peak_prominence": prominence, **base,
    }


_ROUNDED = {"map_offset_s", "expected_abs_offset_s", "confidence", "peak_prominence"}


class AVOnsetAlignLite(Backend):
    """Whole-clip cross-correlation of audio onsets with visual motion-change events."""

    name = "av-onset-align"
    version = "2.1"  # 2.0: permutation p-value -> inconclusive, region channels, speech energy vs mouth, main-peak alias; 2.1: CenterFace tracks
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
            **{k: v for k, v in result.items() if k not in _ROUNDED},
        }
        message = (f"sound {evidence['offset_ms']:+.0f} ms vs picture (E|offset| {evidence['expected_abs_offset_ms']:.0f} ms, "
                   f"confidence {evidence['confidence']:.2f}) from {evidence['audio_onsets']} onsets, "
                   f"{evidence['motion_events']} motion and {evidence['mouth_events']} mouth events")
        return Measurement(Status.OK, result["expected_abs_offset_s"], evidence, message)


class AVSynchformerPaper(ModelEnvBackend):
    name, version, env_name, media = SYNCHFORMER.name, SYNCHFORMER.version, "synchformer", SYNCHFORMER.needs


DIMENSION = Dimension(
    id="av",
    needs=MediaNeeds(frames=(MOTION_FRAMES, FACE_FRAMES, FACE_COLOR_FRAMES), audio_rates=(AUDIO_RATE,), needs_audio=True),
    annotations_used=(),
    backends={"lite": AVOnsetAlignLite, "paper": AVSynchformerPaper},
)
