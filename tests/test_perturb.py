"""Perturbations change exactly what they claim, measured on the decoded re-encoded files."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from avgenbench.media import FrameSpec, MediaNeeds, decode
from avgenbench.synthetic import perturb
from avgenbench.synthetic.generator import read_truth, render
from avgenbench.synthetic.sound import midi_to_hz

SR = 48000
ALL = FrameSpec()
NEEDS = MediaNeeds(frames=(ALL,), audio_rates=(SR,))
AAC_FRAME = 1024 / SR


def first_onset(audio: np.ndarray, threshold: float = 0.1) -> float:
    return int(np.argmax(np.abs(audio) > threshold)) / SR


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)))


def peak_hz(seg: np.ndarray) -> float:
    n = 8 * len(seg)
    return float(np.fft.rfftfreq(n, 1 / SR)[np.argmax(np.abs(np.fft.rfft(seg * np.hanning(len(seg)), n)))])


def laplacian_energy(images: np.ndarray) -> float:
    g = images.astype(np.float64).mean(axis=-1)
    lap = 4 * g[:, 1:-1, 1:-1] - g[:, :-2, 1:-1] - g[:, 2:, 1:-1] - g[:, 1:-1, :-2] - g[:, 1:-1, 2:]
    return float(np.mean(lap**2))


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("perturb")


@pytest.fixture(scope="module")
def source(work):
    """A click at 1.0 s, a sustained A4 from 1.5 s, moving shapes on a textured backdrop, one caption."""
    path = work / "source.mp4"
    render({"width": 320, "height": 180, "duration": 3.0, "impacts": [1.0], "moving_shapes": 3,
            "notes": [{"note": "A4", "start": 1.5, "duration": 1.4, "timbre": "organ"}],
            "texts": [{"text": "Fresh Every Time", "size": 24, "y": 20}]}, path)
    return path


@pytest.fixture(scope="module")
def clean(source):
    return decode(source, NEEDS)


def run(work, source, name, **params):
    out = work / f"{name}-{'-'.join(f'{k}{v}' for k, v in params.items())}.mp4"
    record = perturb.apply(name, source, out, **params)
    clip = decode(out, NEEDS)
    assert clip.ok
    sidecar = read_truth(out)
    assert sidecar["perturbation"]["name"] == name and sidecar["source"] == str(source)
    return record, clip


@pytest.mark.parametrize("ms", [200, -150])
def test_audio_shift_moves_the_onset_by_exactly_that(work, source, clean, ms):
    record, clip = run(work, source, "shift_audio", ms=ms)
    moved = first_onset(clip.audio_at(SR)) - first_onset(clean.audio_at(SR))
    assert abs(moved - ms / 1000) <= AAC_FRAME and abs(moved - ms / 1000) < 0.002
    assert clip.n_frames == clean.n_frames  # the picture is untouched (up to re-encoding)
    assert np.abs(clip.frames_for(ALL).images.astype(int) - clean.frames_for(ALL).images.astype(int)).mean() < 2


@pytest.mark.parametrize("color", ["white", "pink"])
def test_noise_is_added_at_the_requested_snr(work, source, clean, color):
    record, clip = run(work, source, "add_noise", snr_db=10.0, color=color, seed=4)
    assert record["gain"] == 1.0 and record["achieved_snr_db"] == pytest.approx(10.0, abs=0.01)
    signal = clean.audio_at(SR)
    noise = clip.audio_at(SR)[: len(signal)] - signal
    # AAC drops the top of the band, so compare with the intended noise below 10 kHz, where the codec keeps it.
    reference = perturb.noise_signal(len(signal), color, np.random.default_rng(4))
    reference *= rms(signal) / rms(reference) / 10 ** (10.0 / 20)
    sos = butter(8, 10000, fs=SR, output="sos")
    band_snr = lambda n: 20 * np.log10(rms(sosfiltfilt(sos, signal)) / rms(sosfiltfilt(sos, n)))  # noqa: E731
    assert band_snr(noise) == pytest.approx(band_snr(reference), abs=1.0)  # AAC coding noise adds a little
    spectrum = np.abs(np.fft.rfft(noise[: SR])) ** 2
    freqs = np.fft.rfftfreq(SR, 1 / SR)
    low, high = spectrum[(freqs > 100) & (freqs < 400)].mean(), spectrum[(freqs > 6400) & (freqs < 12000)].mean()
    assert (high / low > 0.3) if color == "white" else (high / low < 0.2)


def test_silence_and_replacement(work, source, clean):
    _, silent = run(work, source, "silence")
    assert rms(silent.audio_at(SR)) < 1e-4
    donor = work / "donor.mp4"
    render({"width": 64, "height": 48, "duration": 2.0, "notes": [{"note": "E5", "start": 0.0, "duration": 2.0}]}, donor)
    _, replaced = run(work, source, "replace_audio", other=donor)
    audio = replaced.audio_at(SR)
    assert abs(peak_hz(audio[int(0.3 * SR):int(1.0 * SR)]) - midi_to_hz(76)) < 5  # the donor's E5, not the click
    assert abs(replaced.duration - clean.duration) < 0.05


def test_mute_after_silences_the_rest_and_keeps_the_picture_bit_identical(work, source, clean):
    import av

    record, muted = run(work, source, "mute_after", fraction=0.5)
    audio, whole = muted.audio_at(SR), clean.audio_at(SR)
    half = len(audio) // 2
    assert rms(audio[half + int(0.05 * SR):]) < 1e-4 < rms(whole[half:])  # silent after the cut, sound before
    assert rms(audio[:half - int(0.05 * SR)]) > 0.5 * rms(whole[:half - int(0.05 * SR)])
    assert abs(record["at_s"] - muted.duration / 2) < 0.05

    def packets(path):
        with av.open(str(path)) as c:
            return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]

    assert packets(work / "mute_after-fraction0.5.mp4") == packets(source)  # an audio change copies the video stream


def test_clipping_flattens_peaks(work, source, clean):
    record, clip = run(work, source, "clip_audio", drive_db=18.0)
    flat = lambda a: float(np.mean(np.abs(a) > 0.9))  # noqa: E731
    assert record["clipped_fraction"] > 0.02
    assert flat(clip.audio_at(SR)) > 0.02 > 0.001 > flat(clean.audio_at(SR))


def test_lowpass_removes_high_frequencies(work, source, clean):
    _, clip = run(work, source, "lowpass", cutoff_hz=1000.0)
    freqs = np.fft.rfftfreq(len(clean.audio_at(SR)), 1 / SR)
    def band(audio, lo, hi):
        spectrum = np.abs(np.fft.rfft(audio[: len(freqs) * 2 - 2])) ** 2
        return spectrum[(freqs > lo) & (freqs < hi)].sum()
    a, b = clean.audio_at(SR), clip.audio_at(SR)[: len(clean.audio_at(SR))]
    assert band(b, 3000, 12000) < 1e-3 * band(a, 3000, 12000)
    assert band(b, 300, 600) == pytest.approx(band(a, 300, 600), rel=0.2)  # A4 (440 Hz) kept


def test_pitch_shift_moves_pitch_and_keeps_duration_and_timing(work, source, clean):
    _, clip = run(work, source, "pitch_shift", semitones=2)
    seg = slice(int(1.7 * SR), int(2.6 * SR))
    ratio = peak_hz(clip.audio_at(SR)[seg]) / peak_hz(clean.audio_at(SR)[seg])
    assert 12 * np.log2(ratio) == pytest.approx(2.0, abs=0.15)
    assert abs(len(clip.audio_at(SR)) - len(clean.audio_at(SR))) <= 1024 and clip.n_frames == clean.n_frames
    assert abs(first_onset(clip.audio_at(SR), 0.05) - first_onset(clean.audio_at(SR), 0.05)) < 0.03


def test_blur_lowers_high_frequency_energy(work, source, clean):
    _, clip = run(work, source, "blur", sigma=2.0)
    assert laplacian_energy(clip.frames_for(ALL).images) < 0.3 * laplacian_energy(clean.frames_for(ALL).images)
    assert clip.frames_for(ALL).images.mean() == pytest.approx(clean.frames_for(ALL).images.mean(), rel=0.04)
    assert rms(clip.audio_at(SR) - clean.audio_at(SR)[: len(clip.audio_at(SR))]) < 0.02  # audio untouched


def test_frame_noise_has_the_requested_strength(work, source, clean):
    _, clip = run(work, source, "frame_noise", sigma=20.0)
    diff = clip.frames_for(ALL).images.astype(float) - clean.frames_for(ALL).images.astype(float)
    assert 10 < diff.std() < 22 and abs(diff.mean()) < 2


def test_recompression_is_smaller_and_worse(work, source, clean):
    _, clip = run(work, source, "recompress", bitrate=30_000)
    out = next(work.glob("recompress-*.mp4"))
    assert out.stat().st_size < source.stat().st_size
    err = lambda c: np.mean((c.frames_for(ALL).images.astype(float) - clean.frames_for(ALL).images.astype(float)) ** 2)  # noqa: E731
    _, noisy_free = run(work, source, "freeze", start=0.0, duration=0.0)
    assert err(clip) > 4 * max(1.0, err(noisy_free))


def test_freeze_and_drop_hold_frames(work, source, clean):
    record, frozen = run(work, source, "freeze", start=1.0, duration=0.5)
    images = frozen.frames_for(ALL).images.astype(int)
    i0, i1 = record["frames"]
    assert (i0, i1) == (24, 36)
    assert np.abs(images[i0 + 1:i1] - images[i0]).mean() < 1.0
    assert np.abs(images[i1 + 1] - images[i1 - 1]).mean() > 1.0  # motion resumes
    record, dropped = run(work, source, "drop_frames", every=3)
    images = dropped.frames_for(ALL).images.astype(int)
    held = [np.abs(images[i] - images[i - 1]).mean() for i in range(2, 60, 3)]
    kept = [np.abs(images[i] - images[i - 1]).mean() for i in range(1, 60, 3)]
    assert max(held) < 0.15 < 0.3 < np.median(kept) and dropped.n_frames == clean.n_frames


def test_flicker_alternates_brightness(work, source, clean):
    _, clip = run(work, source, "flicker", depth=0.3, hz=6.0)
    ratio = clip.frames_for(ALL).images.mean(axis=(1, 2, 3)) / clean.frames_for(ALL).images.mean(axis=(1, 2, 3))
    assert ratio.max() > 1.15 and ratio.min() < 0.8
    assert np.mean(np.abs(np.diff(ratio)) > 0.3) > 0.25  # it switches several times a second


def test_text_removal_and_garbling_rerender_from_the_spec(work, source, clean):
    _, gone = run(work, source, "remove_text")
    region = (slice(None), slice(15, 50), slice(40, 280))
    assert np.abs(gone.frames_for(ALL).images[region].astype(int) - clean.frames_for(ALL).images[region].astype(int)).mean() > 20
    record, garbled = run(work, source, "garble_text", edits=3)
    truth = read_truth(work / "garble_text-edits3.mp4")
    assert truth["texts"][0]["edit_distance"] == 3 and truth["texts"][0]["rendered"] != "Fresh Every Time"
    assert truth["source_truth"]["texts"][0]["rendered"] == "Fresh Every Time"
    other = (slice(None), slice(60, 140))
    assert np.abs(garbled.frames_for(ALL).images[other].astype(int) - clean.frames_for(ALL).images[other].astype(int)).mean() < 3


def test_text_perturbation_needs_a_synthetic_source(work, source):
    plain = work / "plain.mp4"
    perturb.apply("blur", source, plain, sigma=1.0)
    with pytest.raises(ValueError, match="synthetic clip"):
        perturb.apply("remove_text", plain, work / "never.mp4")
    with pytest.raises(KeyError, match="unknown perturbation"):
        perturb.apply("sharpen", source, work / "never.mp4")
