"""Synthetic clips that obey (or break) a controllability instruction, with the truth in the `.truth.json` sidecar.

`render_control(path, control)` writes a small mp4 (160x90, 12 fps, AAC 48 kHz; the panel brightens with the sound's
level) whose audio does one controlled thing, and the sidecar
    {"generator": CONTROLS_VERSION, "controls": [{"kind", "span": [0, 1], ...the truth}]}
Controls (dicts; `reverse: true` plays the audio backwards, `keep` keeps only the first events of a count,
`noise_db` adds a steady noise bed at that RMS level in dBFS):
- loudness_up / loudness_down: a held organ chord ramping linearly in dB from -36 to -8 dBFS (or back); truth change_db.
- tempo_up / tempo_down: clicks whose interval shrinks from 0.55 to 0.18 s (or grows); truth rate_ratio (end / start).
- pitch_up / pitch_down: a harmonic tone gliding from MIDI 57 to 69 (or back); truth change_semitones.
- count: `n` piano notes (A4) evenly spaced; truth count. The picture flashes once per event (`flashes`: how many of
  the `n` evenly spaced events flash, default the notes kept), not with the sound's level; truth flashes_s.
- order: one sound class in the first half and another in the second (`first`, `second` among speech (espeak-ng
  words, or babble without it), tonal (a held organ note), impact (three sharp knocks), noise (a steady hiss));
  `swap: true` plays the two halves the other way round; truth first/second with their spans in seconds.
- stop: a steady organ chord that stops at `stop_s`; truth stop_s (`stop_s: null` never stops).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .encode import write_clip
from .generator import write_truth
from .sound import click, midi_to_hz, tone

CONTROLS_VERSION = "controls-2"  # 2: count clips flash per event; order clips
RATE = 48000
FPS = 12
SIZE = (160, 90)
LOW_DB, HIGH_DB = -36.0, -8.0
SLOW_GAP, FAST_GAP = 0.55, 0.18
LOW_MIDI, HIGH_MIDI = 57.0, 69.0
FLASH_S = 0.15
LINE = "The quick brown fox jumps over the lazy dog."


def _db_ramp(n: int, start_db: float, end_db: float) -> np.ndarray:
    return (10.0 ** (np.linspace(start_db, end_db, n) / 20.0)).astype(np.float32)


def _bed(duration: float) -> np.ndarray:
    """A held chord at a steady level (peak 1), with a slight tremolo so it is not a pure test tone."""
    n = int(duration * RATE)
    t = np.arange(n) / RATE
    wave = sum(np.sin(2 * np.pi * midi_to_hz(m) * t) * a for m, a in ((57, 1.0), (61, 0.7), (64, 0.6), (69, 0.3)))
    wave = wave * (1.0 + 0.05 * np.sin(2 * np.pi * 3.0 * t))
    return (wave / np.max(np.abs(wave))).astype(np.float32)


def _glide(duration: float, start_midi: float, end_midi: float) -> np.ndarray:
    n = int(duration * RATE)
    midi = np.linspace(start_midi, end_midi, n)
    phase = 2 * np.pi * np.cumsum(440.0 * 2.0 ** ((midi - 69.0) / 12.0)) / RATE
    wave = np.sin(phase) + 0.4 * np.sin(2 * phase) + 0.2 * np.sin(3 * phase)
    return (0.3 * wave / np.max(np.abs(wave))).astype(np.float32)


def _click_times(duration: float, first_gap: float, last_gap: float) -> list[float]:
    times, t = [], 0.3
    while t < duration - 0.2:
        times.append(t)
        progress = t / duration
        t += first_gap + (last_gap - first_gap) * progress
    return times


def _noise(n: int, level_db: float, seed: int = 7) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(n).astype(np.float32)
    noise = np.convolve(noise, np.ones(8, np.float32) / 8, mode="same")  # darker than white
    return noise * 10.0 ** (level_db / 20.0) / (float(np.sqrt(np.mean(noise ** 2))) or 1.0)


def _class_sound(name: str, length: float) -> tuple[np.ndarray, str]:
    """About `length` s of one sound class (see the module docstring), and how it was made."""
    from .speech import babble, espeak_available, speak

    n = int(length * RATE)
    if name == "speech":
        if espeak_available():
            return speak(LINE, RATE, amplitude=0.5)[:n], "espeak-ng"
        return babble(length, RATE, amplitude=0.5), "babble"
    if name == "tonal":
        t = np.arange(n) / RATE
        note = sum(np.sin(2 * np.pi * midi_to_hz(57) * k * t) / k for k in (1, 2, 3, 4))
        return (0.2 * note * (1.0 + 0.05 * np.sin(2 * np.pi * 3.0 * t))).astype(np.float32), "organ note A3"
    if name == "impact":
        out = np.zeros(n, np.float32)
        for k, t in enumerate((0.1, 0.9, 1.7)):
            snd = click(RATE, seed=k, duration=0.05, amplitude=0.7)
            out[int(t * RATE):int(t * RATE) + snd.size] += snd[:max(0, n - int(t * RATE))]
        return out, "knocks"
    if name == "noise":
        return _noise(n, -22.0, seed=3), "hiss"
    raise ValueError(f"unknown sound class '{name}'")


def _order_audio(control: dict[str, Any], duration: float) -> tuple[np.ndarray, dict[str, Any]]:
    n, half = int(duration * RATE), duration / 2
    audio = np.zeros(n, np.float32)
    truth: dict[str, Any] = {"kind": "order", "span": [0.0, 1.0]}
    for key, start in (("first", 0.3), ("second", half + 0.2)):
        sound, made = _class_sound(control[key], half - 0.5)
        at = int(start * RATE)
        audio[at:at + sound.size] += sound[:n - at]
        truth[key] = {"class": control[key], "made_by": made,
                      "span_s": [round(start, 2), round(start + sound.size / RATE, 2)]}
    if control.get("swap"):
        cut = int(half * RATE)
        audio = np.concatenate([audio[cut:], audio[:cut]])
        for key in ("first", "second"):
            a, b = truth[key]["span_s"]
            shift = -half if a >= half else duration - cut / RATE
            truth[key]["span_s"] = [round(a + shift, 2), round(b + shift, 2)]
        truth["swapped"] = True
    return audio, truth


def control_audio(control: dict[str, Any], duration: float) -> tuple[np.ndarray, dict[str, Any]]:
    """The audio of one control and its truth."""
    kind = control["kind"]
    n = int(duration * RATE)
    audio = np.zeros(n, np.float32)
    truth: dict[str, Any] = {"kind": kind, "span": [0.0, 1.0]}
    if kind == "order":
        audio, truth = _order_audio(control, duration)
    elif kind in ("loudness_up", "loudness_down"):
        a, b = (LOW_DB, HIGH_DB) if kind == "loudness_up" else (HIGH_DB, LOW_DB)
        audio = _bed(duration) * _db_ramp(n, a, b)
        truth["change_db"] = round(b - a, 1)
    elif kind in ("tempo_up", "tempo_down"):
        a, b = (SLOW_GAP, FAST_GAP) if kind == "tempo_up" else (FAST_GAP, SLOW_GAP)
        times = _click_times(duration, a, b)
        for k, t in enumerate(times):
            snd = click(RATE, seed=k, amplitude=0.5)
            audio[int(t * RATE):int(t * RATE) + snd.size] += snd[:max(0, n - int(t * RATE))]
        truth.update(onsets_s=[round(t, 3) for t in times], rate_ratio=round(a / b, 3))
    elif kind in ("pitch_up", "pitch_down"):
        a, b = (LOW_MIDI, HIGH_MIDI) if kind == "pitch_up" else (HIGH_MIDI, LOW_MIDI)
        audio = _glide(duration, a, b)
        truth["change_semitones"] = b - a
    elif kind == "count":
        count = int(control["n"])
        gap = (duration - 1.0) / count
        times = [0.4 + k * gap for k in range(count)][: control.get("keep", count)]
        for t in times:
            note = tone(69, min(0.8, gap * 0.8), RATE, "piano", amplitude=0.4)
            audio[int(t * RATE):int(t * RATE) + note.size] += note[:max(0, n - int(t * RATE))]
        flashes = [0.4 + k * gap for k in range(count)][: control.get("flashes", len(times))]
        truth.update(count=len(times), onsets_s=[round(t, 3) for t in times], asked=count,
                     flashes_s=[round(t, 3) for t in flashes])
    elif kind == "stop":
        stop = control.get("stop_s")
        audio = 0.3 * _bed(duration)
        if stop is not None:
            cut = int(stop * RATE)
            fade = int(0.02 * RATE)
            audio[cut:cut + fade] *= np.linspace(1.0, 0.0, min(fade, n - cut)).astype(np.float32)
            audio[cut + fade:] = 0.0
        truth["stop_s"] = stop
    else:
        raise ValueError(f"unknown control kind '{kind}'")
    if control.get("noise_db") is not None:  # a steady noise bed under the control (room tone, rain)
        audio = audio + _noise(n, float(control["noise_db"]))
        truth["noise_db"] = control["noise_db"]
    if control.get("reverse"):
        audio = audio[::-1].copy()
        truth["reversed"] = True
        if "onsets_s" in truth:
            truth.pop("onsets_s")
    return audio.astype(np.float32), truth


def render_control(path: Path | str, control: dict[str, Any], duration: float = 6.0) -> dict[str, Any]:
    """Render one control clip and its truth sidecar; returns the truth."""
    audio, truth = control_audio(control, duration)
    width, height = SIZE
    hop = RATE // FPS
    flashes = truth.get("flashes_s")
    frames = []
    for k in range(int(duration * FPS)):
        if flashes is not None:  # one flash per visible event, whatever the sound does
            lit = any(t <= k / FPS < t + FLASH_S for t in flashes)
            frames.append(np.full((height, width, 3), 230 if lit else 40, np.uint8))
            continue
        level = float(np.sqrt(np.mean(np.square(audio[k * hop:(k + 1) * hop])) + 1e-12))
        frames.append(np.full((height, width, 3), int(40 + min(200, 600 * level)), np.uint8))
    path = write_clip(path, frames, fps=FPS, audio=np.clip(audio, -1, 1), sample_rate=RATE)
    full = {"generator": CONTROLS_VERSION, "duration": duration, "controls": [truth]}
    write_truth(path, full)
    return full
