"""Do continuous audio and visual envelopes carry the audio-visual offset of real clips? A measurement, not a backend.

Before redesigning AV for real content, this measures whether candidate features line up at all. Each clip under
REALCLIPS/videos is decoded once (AV's frame streams and 16 kHz audio, and its CenterFace face tracks). The audio is
taken clean, 400 ms late, 400 ms early (silence fills, as perturb.shift_audio) and swapped with its donor clip's audio
(the next clip of the same category, as calibrate --real pairs them). For every pair of one audio envelope and one
visual envelope (both on a 10 ms grid, high-passed by subtracting a HIGHPASS_S running mean, blurred by BLUR_S) the
normalised cross-correlation c(lag) is computed at lags within ±1 s (positive: sound later), and per feature pair it
counts over the clips:
- peak@0: the clean clip's highest c lies within ±80 ms of zero (chance: about 160/2000 of the clips);
- 0>±400: the clean clip's c(0) beats both c(+400 ms) and c(-400 ms) (chance: about 1/3);
- shift found: the 400 ms late and early copies peak within ±80 ms of +400 and -400 ms (what a measure that wins the
  shifted pairs must see);
- binom p: the chance of that many clips or more preferring zero if each prefers it with probability 1/3 (one-sided
  binomial; not corrected for the 24 feature pairs tried);
- ungated won: the (clip, degradation) pairs of the three aimed at AV where the clean clip has the lower E|offset| if
  every reading were scored (no chance gate) with lag weights proportional to c(lag) above its median: what scoring
  weak evidence as a broad offset distribution (the Synchformer way) would give, out of 3 x clips; `null` is the same
  with every visual envelope rolled by half the clip (no true alignment left): the shifted copies lose part of their
  overlap and gain silence, so even unrelated pictures "win" many pairs, and only the excess over null is evidence;
- pooled: the lag at which the mean of the clean curves over all clips peaks (is there evidence in aggregate, too weak
  per clip, or none?).
When a visual family has several channels (grid cells, faces) the per-lag maximum over its channels is taken.

Audio envelopes (with --words also `word onsets` and `words`: faster-whisper tiny.en word start times as impulses,
and word spans as a 0/1 envelope, from the clean audio; the late and early copies shift them, the swap takes the
donor's): `flux` (AV's onset flux), `rise` (the positive slope of the log energy smoothed over 20 ms: onset
strength), `loudness` (log energy, 50 dB floor under the clip's peak so that digital silence is not a -200 dB event),
`speech` (the same in the 300-3000 Hz band). Visual envelopes: `motion` (mean absolute frame difference over the whole
frame, pixel changes under 3 grey levels ignored), `cells` (the same per cell of a 4x4 grid), `flow` (Farneback optical
flow magnitude on AV's small grey frames, whole frame and `flow cells`), `mouth` (inner-lip gap over eye distance from
the tracks' 68 landmarks), `mouth motion` (frame difference in a box around the lip landmarks, padded by 30 % of the
mouth width, on the 640 px face frames).

Measured on the 18 dev clips (2026-11-29), high-pass 1 s and blur 30 ms, and again at 0.5 s and 60 ms (neither tuned):
- per clip no pair finds the offset: the clean peak lies within ±80 ms of zero on 0-6 of 18 clips for every pair
  (chance ~1.4), mouth features on 0-3 of 10 (the generated mouths open and smile while silent);
- 0>±400 beats chance for log-energy rise against whole-frame motion (14/18) or flow (13/18) at 1 s / 30 ms, but
  not at 0.5 s / 60 ms (8/18, 11/18): not robust;
- ungated, loudness against whole-frame motion or flow wins 39-40 of 54 pairs at 1 s / 30 ms (null 21-26) and 33-35
  at 0.5 s / 60 ms (null 22-28): coarse evidence in aggregate, below the 0.8 target even with every reading scored,
  while a phase-randomised chance test passes only 5 of 18 clean clips (and 3 of 18 swapped ones);
- Whisper tiny.en word onsets and word spans (--words) do no better: peak@0 on 0-4 of 18 clips, 1 of 10 against
  the mouths, 0>±400 at or below chance;
- positive control (--control: three synthetic 5 s talking heads whose mouth follows their TTS voice): loudness and
  speech-band energy against mouth opening peak within ±80 ms of zero on 3 of 3, find both shifts on 3 of 3 and win
  9 of 9 ungated pairs, so the sweep does see sync where the picture carries it;
- cost: decode and face tracking dominate (cached with --cache); the features cost ~0.1 s per clip.

usage: python bench/av_envelope_sweep.py [--dir REALCLIPS] [--cache DIR] [--highpass 1.0] [--blur 0.03] [--words]
                                        [--control DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d, uniform_filter1d
from scipy.stats import binomtest

from avgenbench.calibrate_real import _donors, suite_and_videos
from avgenbench.dimensions import av
from av_realclips import DEFAULT_DIR, cached_inputs, load_inputs
from av_realclips import shifted as shifted_ms

RATE = av.ENV_RATE
MAX_LAG = int(round(av.MAX_LAG_S * RATE))
SHIFT = 40  # 400 ms in grid steps
NEAR = 8  # 80 ms in grid steps
GRID = 4
PIXEL_NOISE = 3.0


def shifted(audio: np.ndarray, steps: int) -> np.ndarray:
    """The audio `steps` grid steps later (positive) or earlier."""
    return shifted_ms(audio, steps * av.HOP / av.AUDIO_RATE * 1000)


def _log_power(audio: np.ndarray, band: tuple[float, float] | None = None) -> np.ndarray:
    spec = av._magnitudes(audio) ** 2
    if band:
        freqs = np.fft.rfftfreq(av.N_FFT, 1 / av.AUDIO_RATE)
        spec = spec[:, (freqs >= band[0]) & (freqs <= band[1])]
    power = spec.mean(axis=1)
    return np.log(power + 1e-5 * float(power.max(initial=0.0)) + 1e-12)


def audio_envelopes(audio: np.ndarray) -> dict[str, np.ndarray]:
    loudness = _log_power(audio)
    return {"flux": av.audio_onset_envelope(audio).astype(np.float64),
            "rise": np.maximum(np.gradient(gaussian_filter1d(loudness, 2.0)), 0.0),
            "loudness": loudness, "speech": _log_power(audio, (300.0, 3000.0))}


def word_envelopes(audio: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Word start impulses and word spans (0/1) on the 10 ms grid, from faster-whisper's word timestamps."""
    from faster_whisper import WhisperModel

    from avgenbench.perception.asr import default_model_dir

    model = WhisperModel(str(default_model_dir()), device="cpu", compute_type="int8", local_files_only=True)
    segments, _ = model.transcribe(np.asarray(audio, np.float32), language="en", word_timestamps=True,
                                   condition_on_previous_text=False)
    onsets, spans = np.zeros(n), np.zeros(n)
    for word in (w for segment in segments for w in segment.words):
        start, end = int(round(word.start * RATE)), int(round(word.end * RATE))
        if start < n:
            onsets[start] += 1.0
            spans[start:end] = 1.0
    return {"word onsets": onsets, "words": spans}


def _shifted_envelope(x: np.ndarray, steps: int) -> np.ndarray:
    out = np.zeros_like(x)
    if steps >= 0:
        out[steps:] = x[: len(x) - steps]
    else:
        out[: len(x) + steps] = x[-steps:]
    return out


def _on_grid(t: np.ndarray, x: np.ndarray, n: int) -> np.ndarray:
    return np.interp(np.arange(n) / RATE, t, x)


def _grid_means(x: np.ndarray) -> np.ndarray:
    h, w = x.shape[0] // GRID * GRID, x.shape[1] // GRID * GRID
    return x[:h, :w].reshape(GRID, h // GRID, GRID, w // GRID).mean(axis=(1, 3)).ravel()


def visual_envelopes(clip: dict, n: int) -> dict[str, list[np.ndarray]]:
    import cv2

    from avgenbench.perception.faces import mouth_opening

    images, t = clip["images"], clip["times"]
    mid = (t[1:] + t[:-1]) / 2
    diff_cells, flow_cells = [], []
    for a, b in zip(images[:-1], images[1:]):
        d = np.abs(b.astype(np.float32) - a.astype(np.float32))
        d[d < PIXEL_NOISE] = 0.0
        diff_cells.append(_grid_means(d))
        f = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 2, 9, 2, 5, 1.1, 0)
        flow_cells.append(_grid_means(np.hypot(f[..., 0], f[..., 1])))
    diff_cells, flow_cells = np.array(diff_cells), np.array(flow_cells)
    out = {"motion": [_on_grid(mid, diff_cells.sum(axis=1), n)],
           "cells": [_on_grid(mid, diff_cells[:, j], n) for j in range(GRID * GRID)],
           "flow": [_on_grid(mid, flow_cells.sum(axis=1), n)],
           "flow cells": [_on_grid(mid, flow_cells[:, j], n) for j in range(GRID * GRID)],
           "mouth": [], "mouth motion": []}
    faces, face_t = clip["face_images"], clip["face_times"]
    for track in clip["tracks"]:
        if len(track) < av.MIN_MOUTH_FRAMES:
            continue
        tt = np.asarray(track.times, np.float64)
        out["mouth"].append(_on_grid(tt, np.array([mouth_opening(p) for p in track.landmarks]), n))
        frame = [int(np.argmin(np.abs(face_t - x))) for x in tt]
        energy = []
        for i0, i1, points in zip(frame[:-1], frame[1:], track.landmarks[1:]):
            lips = np.asarray(points)[48:68]
            (x0, y0), (x1, y1) = lips.min(axis=0), lips.max(axis=0)
            pad = 0.3 * (x1 - x0)
            x0, y0 = int(max(0, x0 - pad)), int(max(0, y0 - pad))
            x1, y1 = int(min(faces.shape[2], x1 + pad)), int(min(faces.shape[1], y1 + pad))
            if x1 - x0 < 2 or y1 - y0 < 2:
                energy.append(0.0)
                continue
            d = np.abs(faces[i1, y0:y1, x0:x1].astype(np.float32) - faces[i0, y0:y1, x0:x1].astype(np.float32))
            d[d < PIXEL_NOISE] = 0.0
            energy.append(float(d.mean()))
        out["mouth motion"].append(_on_grid((tt[1:] + tt[:-1]) / 2, np.array(energy), n))
    return out


def correlation(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """c(lag) at lags -MAX_LAG..MAX_LAG: the normalised correlation of a(t + lag) with v(t)."""
    n = min(len(a), len(v))
    a, v = a[:n] - a[:n].mean(), v[:n] - v[:n].mean()
    size = 1 << int(np.ceil(np.log2(2 * n + 1)))
    full = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(v, size)), size)
    return full[np.arange(-MAX_LAG, MAX_LAG + 1) % size] / (np.linalg.norm(a) * np.linalg.norm(v) + 1e-12)


CONTROL_LINES = ("Good evening. Here is the news at nine. The weather stays dry all week.",
                 "Please take a seat. The train to the coast leaves in ten minutes from platform four.",
                 "We found the old map under the stairs, and it shows a path across the hills.")


def control_clips(folder: Path) -> list[Path]:
    """Synthetic talking heads in sync (the generator's mouth follows its own TTS voice), 5 s like the real clips."""
    from avgenbench.synthetic.generator import render

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, line in enumerate(CONTROL_LINES):
        speech = {"text": line, "start": 0.4, "duration": 4.4, "babble_without_tts": True}
        spec = {"duration": 5.0, "width": 640, "height": 360, "fps": 24, "background": "texture", "seed": 3 + k,
                "faces": [{"identity": "#1", "cx": 0.5, "cy": 0.45, "height": 0.6}], "speech": [speech]}
        path = folder / f"talking_head_{k}.mp4"
        render(spec, path)
        paths.append(path)
    return paths


def ungated_expected_abs_offset(c: np.ndarray) -> float:
    """E|offset| in seconds with lag weights proportional to c above its median (a broad distribution when c is flat)."""
    w = np.maximum(c - np.median(c), 0.0)
    lags = np.arange(-MAX_LAG, MAX_LAG + 1) / RATE
    return float(np.sum(w * np.abs(lags)) / max(float(w.sum()), 1e-12))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--cache", type=Path, help="keep each clip's decoded inputs here (pickles) for re-runs")
    parser.add_argument("--highpass", type=float, default=1.0, help="running-mean window subtracted, seconds")
    parser.add_argument("--blur", type=float, default=0.03, help="Gaussian sigma, seconds")
    parser.add_argument("--words", action="store_true", help="add Whisper word onsets and spans as audio envelopes")
    parser.add_argument("--control", type=Path, help="instead of the real clips, render synthetic talking heads "
                        "(known to be in sync) into this folder and sweep them: the positive control")
    args = parser.parse_args()
    if args.control:
        paths = control_clips(args.control)
        keys = [p.stem for p in paths]
        clips = {k: load_inputs(p) for k, p in zip(keys, paths)}
        donor_of = {k: keys[(i + 1) % len(keys)] for i, k in enumerate(keys)}
    else:
        suite, videos = suite_and_videos(args.dir, None)
        items = [i for i in suite.items if i.find_video(videos)]
        keys = [i.key for i in items]
        clips = {i.key: cached_inputs(i.find_video(videos), args.cache) for i in items}
        donor_of = {k: d.key for k, d in _donors(items).items()}

    def prep(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        x = x - uniform_filter1d(x, max(1, int(args.highpass * RATE)), mode="nearest")
        return gaussian_filter1d(x, args.blur * RATE)

    curves: dict[tuple[str, str], dict[str, dict]] = {}
    nulls: dict[tuple[str, str], dict[str, dict]] = {}
    for key in keys:
        clip = clips[key]
        audio = clip["audio"]
        variants = {"clean": audio, "late": shifted(audio, SHIFT), "early": shifted(audio, -SHIFT),
                    "swap": np.resize(clips[donor_of[key]]["audio"], len(audio)).astype(np.float32)}
        sounds = {name: {k: prep(x) for k, x in audio_envelopes(a).items()} for name, a in variants.items()}
        n = len(sounds["clean"]["flux"])
        if args.words:
            own, donor = word_envelopes(audio, n), word_envelopes(variants["swap"], n)
            for name, steps in (("clean", 0), ("late", SHIFT), ("early", -SHIFT)):
                sounds[name].update({k: prep(_shifted_envelope(x, steps)) for k, x in own.items()})
            sounds["swap"].update({k: prep(x) for k, x in donor.items()})
        for family, channels in visual_envelopes(clip, n).items():
            if not channels:
                continue
            channels = [prep(v) for v in channels]
            for feature in sounds["clean"]:
                per_variant = {name: np.max([correlation(s[feature], v) for v in channels], axis=0)
                               for name, s in sounds.items()}
                rolled = {name: np.max([correlation(s[feature], np.roll(v, len(v) // 2)) for v in channels], axis=0)
                          for name, s in sounds.items()}
                curves.setdefault((feature, family), {})[key] = per_variant
                nulls.setdefault((feature, family), {})[key] = rolled
    print(f"{len(keys)} clips, high-pass {args.highpass:g} s, blur {1000 * args.blur:g} ms; chance: peak@0 ~0.08, "
          "0>±400 ~0.33 of the clips")
    print(f"{'audio':11} {'visual':13} {'clips':>5} {'peak@0':>7} {'0>±400':>7} {'binom p':>8} {'shift found':>11} "
          f"{'ungated won':>11} {'null':>8} {'pooled peak':>12}")
    for (feature, family), by_clip in curves.items():
        c = list(by_clip.values())
        peak0 = sum(abs(int(np.argmax(x["clean"])) - MAX_LAG) <= NEAR for x in c)
        zero_best = sum(x["clean"][MAX_LAG] > max(x["clean"][MAX_LAG - SHIFT], x["clean"][MAX_LAG + SHIFT]) for x in c)
        found = sum(abs(int(np.argmax(x["late"])) - MAX_LAG - SHIFT) <= NEAR and
                    abs(int(np.argmax(x["early"])) - MAX_LAG + SHIFT) <= NEAR for x in c)
        pooled = int(np.argmax(np.mean([x["clean"] for x in c], axis=0))) - MAX_LAG
        ungated, null = (sum(ungated_expected_abs_offset(x["clean"]) < ungated_expected_abs_offset(x[k])
                             for x in group for k in ("late", "early", "swap"))
                         for group in (c, list(nulls[feature, family].values())))
        chance = binomtest(int(zero_best), len(c), 1 / 3, alternative="greater").pvalue
        print(f"{feature:11} {family:13} {len(c):5d} {peak0:7d} {zero_best:7d} {chance:8.1e} {found:11d} "
              f"{ungated:8d}/{3 * len(c):<2d} {null:5d}/{3 * len(c):<2d} {10 * pooled:+9d} ms")


if __name__ == "__main__":
    main()
