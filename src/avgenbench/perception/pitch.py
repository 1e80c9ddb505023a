"""Note transcription without TensorFlow.

`BasicPitchOnnx` runs the ONNX export of Basic Pitch (ICASSP 2022, the `nmp.onnx` file inside the `basic-pitch` wheel)
with onnxruntime. Only the model file is taken from the package: windowing, stitching and note segmentation are
written here. The model reads 22050 Hz mono windows (its input shape gives the length, 43844 samples) and returns,
per STFT frame (hop 256 samples, ~86 frames/s) and per piano key (MIDI 21–108), a note (sounding) posterior, an
onset posterior and a finer pitch contour (unused here). Windows overlap so that 15 frames at each edge of every
window's output can be dropped and the centres tiled exactly; frames quieter than -60 dBFS (or 50 dB under the
loudest frame) are zeroed, because the model normalises its input and would otherwise hear notes in near-silence.
`segment_notes` turns the posteriors into notes (see its docstring).

`pyin_track` gives a monophonic f0 track (librosa pYIN) used to cross-check the notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..models import onnx_session, package_file
from ..music_theory import midi_to_name

SAMPLE_RATE = 22050
HOP = 256
FRAME_RATE = SAMPLE_RATE / HOP  # ~86.13 frames per second
LOWEST_MIDI = 21
N_KEYS = 88
EDGE_FRAMES = 15  # frames dropped at each side of a window's output before stitching
RESTRIKE_RISE_DB = 2.0  # a split inside a ringing note needs its harmonics this much louder
MODEL_RELATIVE = Path("saved_models") / "icassp_2022" / "nmp.onnx"
INSTALL_HINT = "pip install --no-deps basic-pitch==0.4.0  (only its ONNX model file is used; no TensorFlow needed)"

# Harmonics 2..6 of a fundamental, in semitones: where a weak simultaneous note is likely a ghost.
HARMONIC_STEPS = (12, 19, 24, 28, 31)

def hz_to_midi(hz: float) -> float:
    return 69.0 + 12.0 * np.log2(hz / 440.0)


@dataclass(frozen=True)
class Note:
    onset: float  # seconds
    offset: float
    midi: int
    strength: float  # mean note posterior over the note's frames

    @property
    def duration(self) -> float:
        return self.offset - self.onset

    @property
    def name(self) -> str:
        return midi_to_name(self.midi)


def model_path() -> Path | None:
    """Where the installed basic-pitch package keeps nmp.onnx, found without importing the package (it imports TF)."""
    return package_file("basic_pitch", MODEL_RELATIVE.as_posix())


def model_missing_reason() -> str | None:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "onnxruntime is not installed: pip install onnxruntime"
    if model_path() is None:
        return f"the Basic Pitch ONNX model (basic_pitch/{MODEL_RELATIVE.as_posix()}) is not installed: {INSTALL_HINT}"
    return None


class BasicPitchOnnx:
    """Frame posteriors and notes from Basic Pitch's ONNX model. Create once; the session loads on first use."""

    def __init__(self, path: Path | None = None, threads: int = 1, batch: int = 8):
        self.path = path
        self.threads = threads
        self.batch = batch
        self._session = None

    def _load(self):
        if self._session is None:
            path = self.path or model_path()
            if path is None:
                raise FileNotFoundError(model_missing_reason())
            self._session = onnx_session(path, self.threads)
            self._input = self._session.get_inputs()[0]
            self.window = int(self._input.shape[1])
            # Outputs are 88 wide (note, onset) or 264 wide (contour); tell note from onset by name order:
            # the export names them StatefulPartitionedCall:{0 contour, 1 note, 2 onset}.
            keyed = sorted((o.name for o in self._session.get_outputs() if o.shape[-1] == N_KEYS))
            if len(keyed) != 2:
                raise RuntimeError(f"unexpected Basic Pitch outputs: {[o.name for o in self._session.get_outputs()]}")
            self._note_name, self._onset_name = keyed
        return self._session

    def posteriors(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(note, onset) posteriors, each (frames, 88), frame i centred on sample i*HOP of `audio` (22050 Hz mono)."""
        session = self._load()
        frames_out = 1 + self.window // HOP
        keep = frames_out - 2 * EDGE_FRAMES
        step = keep * HOP
        n_frames = len(audio) // HOP + 1
        n_windows = max(1, int(np.ceil(n_frames / keep)))
        padded = np.zeros(EDGE_FRAMES * HOP + n_windows * step + self.window, np.float32)
        padded[EDGE_FRAMES * HOP:EDGE_FRAMES * HOP + len(audio)] = audio
        notes, onsets = [], []
        for first in range(0, n_windows, self.batch):
            idx = range(first, min(n_windows, first + self.batch))
            windows = np.stack([padded[w * step:w * step + self.window] for w in idx])[..., None]
            out = dict(zip([o.name for o in session.get_outputs()], session.run(None, {self._input.name: windows})))
            notes.append(out[self._note_name][:, EDGE_FRAMES:EDGE_FRAMES + keep].reshape(-1, N_KEYS))
            onsets.append(out[self._onset_name][:, EDGE_FRAMES:EDGE_FRAMES + keep].reshape(-1, N_KEYS))
        return np.concatenate(notes)[:n_frames], np.concatenate(onsets)[:n_frames]

    def transcribe(self, audio: np.ndarray, **segment_options) -> list[Note]:
        note, onset = self.posteriors(audio)
        quiet = quiet_frames(audio, len(note))
        note[quiet] = 0.0
        onset[quiet] = 0.0
        segment_options.setdefault(
            "confirm_restrike", lambda midi, frame: harmonic_rise_db(audio, midi, frame) >= RESTRIKE_RISE_DB)
        return segment_notes(note, onset, **segment_options)


def frame_rms(audio: np.ndarray, n_frames: int, width: int = 2048) -> np.ndarray:
    """RMS of a `width`-sample window centred on each model frame."""
    padded = np.pad(audio.astype(np.float64), (width // 2, width // 2 + HOP))
    power = np.concatenate([[0.0], np.cumsum(padded**2)])
    starts = np.arange(n_frames) * HOP
    return np.sqrt(np.maximum(0.0, power[starts + width] - power[starts]) / width)


def quiet_frames(audio: np.ndarray, n_frames: int, floor_db: float = -60.0, below_peak_db: float = 50.0) -> np.ndarray:
    """Frames too quiet to hold a note: under `floor_db` dBFS, or `below_peak_db` under the loudest frame.
    The model normalises its input, so without this gate near-silence turns into notes."""
    rms = frame_rms(audio, n_frames)
    peak = float(rms.max()) if len(rms) else 0.0
    return rms < max(10 ** (floor_db / 20), peak * 10 ** (-below_peak_db / 20))


def _onset_peaks(column: np.ndarray, threshold: float) -> list[int]:
    above = column >= threshold
    prev = np.concatenate([[-1.0], column[:-1]])
    nxt = np.concatenate([column[1:], [-1.0]])
    return list(np.flatnonzero(above & (column >= prev) & (column > nxt)))


def _active_regions(column: np.ndarray, threshold: float, max_gap: int) -> list[tuple[int, int]]:
    """[start, end) runs where the posterior is at least `threshold`, bridging dips of up to `max_gap` frames."""
    regions: list[tuple[int, int]] = []
    for i in np.flatnonzero(column >= threshold):
        if regions and i - regions[-1][1] <= max_gap:
            regions[-1] = (regions[-1][0], i + 1)
        else:
            regions.append((i, i + 1))
    return regions


def segment_notes(note: np.ndarray, onset: np.ndarray, onset_threshold: float = 0.5, frame_threshold: float = 0.3,
                  min_duration: float = 0.058, min_midi: int = LOWEST_MIDI, max_midi: int = 83,
                  ghost_ratio: float = 0.6, sustain_threshold: float = 0.6, max_gap: int = 2,
                  min_reonset: float = 0.12, confirm_restrike: Callable[[int, int], bool] | None = None) -> list[Note]:
    """Notes from frame posteriors.

    Per key, a note is a run of frames whose note posterior is at least `frame_threshold`. An onset peak (a local
    maximum at least `onset_threshold`) at the start of a run marks its attack; a run with none counts only if its
    note posterior reaches `sustain_threshold` (a soft attack). Later onset peaks split the run into re-struck notes
    when they come at least `min_reonset` s after the previous attack (vibrato and strums make double peaks) and
    `confirm_restrike(midi, frame)` agrees (transients of other sounds, such as a metronome click, also raise onset
    posteriors on a ringing key). Notes shorter than `min_duration` are dropped, keys above `max_midi` ignored, and
    weak notes on a harmonic (or a semitone) of a stronger simultaneous note removed as ghosts (weaker than
    `ghost_ratio` times the stronger one).
    """
    min_frames = max(1, int(round(min_duration * FRAME_RATE)))
    min_gap = int(round(min_reonset * FRAME_RATE))
    found: list[Note] = []
    for key in range(max(0, min_midi - LOWEST_MIDI), min(N_KEYS, max_midi - LOWEST_MIDI + 1)):
        column = note[:, key]
        midi = key + LOWEST_MIDI
        peaks = _onset_peaks(onset[:, key], onset_threshold)
        for start, end in _active_regions(column, frame_threshold, max_gap):
            # An onset peak may lead the note posterior by a few frames.
            attack = [p for p in peaks if start - 3 <= p <= start + 3]
            cuts = [attack[0]] if attack else []
            for p in peaks:
                if start + 3 < p < end - min_frames // 2 and (not cuts or p - cuts[-1] >= min_gap) \
                        and (confirm_restrike is None or confirm_restrike(midi, p)):
                    cuts.append(p)
            if (not cuts or cuts[0] - start > min_frames) and \
                    column[start:cuts[0] if cuts else end].max() >= sustain_threshold:
                cuts.insert(0, start)
            bounds = cuts + [end]
            for a, b in zip(bounds, bounds[1:]):
                if b - a >= min_frames:
                    strength = float(column[max(a, start):b].mean())
                    found.append(Note(a / FRAME_RATE, b / FRAME_RATE, midi, strength))
    return _drop_ghosts(sorted(found, key=lambda n: (n.onset, n.midi)), ghost_ratio)


def harmonic_rise_db(audio: np.ndarray, midi: int, frame: int, width: int = 2048, harmonics: int = 3) -> float:
    """How much louder (dB) the note's first harmonics are just after `frame` than just before it: a re-struck
    note rises, a broadband click on top of a ringing note barely changes them."""
    centre = frame * HOP
    window = np.hanning(width)
    n = np.arange(width)
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    probes = np.exp(-2j * np.pi * np.outer([f0 * h for h in range(1, harmonics + 1) if f0 * h < SAMPLE_RATE / 2], n)
                    / SAMPLE_RATE)

    def energy(a: int) -> float:
        seg = audio[max(0, a):max(0, a) + width]
        if len(seg) < width:
            seg = np.pad(seg, (0, width - len(seg)))
        return float(np.sum(np.abs(probes @ (seg * window)) ** 2)) + 1e-12

    return 10 * np.log10(energy(centre) / energy(centre - width - HOP))


def note_salience(audio: np.ndarray, note: Note, width: int = 2048, step: int = 4 * HOP) -> float:
    """Energy times duration of a note: the mean power at its fundamental (a Hann-windowed single-bin DFT every
    `step` samples over the note) times its length in seconds. Says which notes dominate a polyphonic transcription."""
    f0 = 440.0 * 2 ** ((note.midi - 69) / 12)
    probe = np.hanning(width) * np.exp(-2j * np.pi * f0 * np.arange(width) / SAMPLE_RATE)
    a, b = int(note.onset * SAMPLE_RATE), max(int(note.onset * SAMPLE_RATE) + 1, int(note.offset * SAMPLE_RATE))
    starts = range(max(0, a - width // 2), max(a - width // 2 + 1, b - width // 2), step)
    powers = []
    for start in starts:
        seg = audio[start:start + width]
        if len(seg) < width:
            seg = np.pad(seg, (0, width - len(seg)))
        powers.append(abs(np.dot(seg, probe)) ** 2)
    return float(np.mean(powers)) * note.duration if powers else 0.0


def _sounds_during(weak: Note, strong: Note, slack: float = 0.035) -> bool:
    """`weak` starts while `strong` sounds (or within `slack` s before it)."""
    return strong.onset - slack <= weak.onset < strong.offset


def _drop_ghosts(notes: list[Note], ratio: float) -> list[Note]:
    ghosts = set()
    for i, weak in enumerate(notes):
        for strong in notes:
            step = weak.midi - strong.midi
            if (step in HARMONIC_STEPS or abs(step) == 1) and weak.strength < ratio * strong.strength \
                    and _sounds_during(weak, strong):
                ghosts.add(i)
                break
    return [n for i, n in enumerate(notes) if i not in ghosts]


def pyin_track(audio: np.ndarray, sr: int = SAMPLE_RATE, fmin: float = 65.0, fmax: float = 1100.0,
               hop: int = 512, resolution: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """(times, MIDI as float with NaN where unvoiced) from librosa's pYIN. A quarter-semitone grid and a narrow
    fmin–fmax keep it fast (~0.3 s per 10 s); its Viterbi cost grows with both."""
    import librosa

    f0, voiced, _ = librosa.pyin(audio, fmin=fmin, fmax=fmax, sr=sr, frame_length=2048, hop_length=hop,
                                 resolution=resolution)
    midi = np.full(len(f0), np.nan)
    ok = voiced & np.isfinite(f0)
    midi[ok] = hz_to_midi(f0[ok])
    return np.arange(len(f0)) * hop / sr, midi


def pyin_pitch_of(note: Note, times: np.ndarray, midi: np.ndarray) -> float | None:
    """Median pYIN pitch over the middle of a note (None when pYIN heard no voiced pitch there)."""
    margin = 0.2 * note.duration
    inside = (times >= note.onset + margin) & (times <= note.offset - margin)
    values = midi[inside]
    values = values[np.isfinite(values)]
    if len(values) < max(1, int(inside.sum()) // 2):
        return None
    return float(np.median(values))
