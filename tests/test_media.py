import numpy as np
import pytest

from avgenbench.media import DECODE_COUNTS, FrameSpec, MediaNeeds, MediaStatus, decode
from clipmaker import make_audio_only, make_clip, make_corrupt

NEEDS = MediaNeeds(frames=(FrameSpec(1, None), FrameSpec(25, 96, gray=True), FrameSpec(None, 64)),
                   audio_rates=(16000, 22050))


@pytest.mark.parametrize("width, height, sr", [(1536, 1024, 24000), (1280, 704, 44100), (1280, 720, 48000)])
def test_reference_like_inputs(tmp_path, width, height, sr):
    """The reference's sample outputs: H.264 at these sizes, 24 fps, AAC stereo at 24/44.1/48 kHz."""
    path = make_clip(tmp_path / "c.mp4", duration=2.0, fps=24, width=width, height=height, sr=sr, clicks=(0.5, 1.25))
    clip = decode(path, NEEDS)
    assert clip.status == MediaStatus.OK, clip.message
    assert (clip.width, clip.height, clip.fps, clip.n_frames) == (width, height, 24.0, 48)
    assert clip.has_audio and clip.audio_native_rate == sr and clip.audio_channels == 2
    assert abs(clip.duration - 2.0) < 0.05
    full = clip.frames_for(FrameSpec(1, None))
    assert full.images.shape == (2, height, width, 3) and list(full.times) == [0.0, 1.0]
    small = clip.frames_for(FrameSpec(25, 96, gray=True))
    assert small.images.shape[1:] == (round(height * 96 / width / 2) * 2, 96) and len(small) == 50
    assert np.allclose(np.diff(small.times), 0.04)
    native = clip.frames_for(FrameSpec(None, 64))
    assert len(native) == 48 and np.allclose(np.diff(native.times), 1 / 24, atol=1e-3)
    for rate in (16000, 22050):
        audio = clip.audio_at(rate)
        assert audio.dtype == np.float32 and abs(len(audio) / rate - 2.0) < 0.05
        onset = np.argmax(np.abs(audio) > 0.2) / rate
        assert abs(onset - 0.5) < 0.005  # encoder priming removed: sample 0 is t = 0
    with pytest.raises(KeyError):
        clip.audio_at(8000)


def test_nearest_frame_sampling_picks_the_right_frames(tmp_path):
    path = make_clip(tmp_path / "c.mp4", duration=2.0, fps=24, width=160, height=96)
    spec = FrameSpec(2, None)
    frames = decode(path, MediaNeeds(frames=(spec,))).frames_for(spec)
    # The corner marker encodes the source frame index: t = 0, 0.5, 1.0, 1.5 s -> frames 0, 12, 24, 36.
    indices = [int(round(img[2:14, 2:14].mean() / 6)) for img in frames.images]
    assert indices == [0, 12, 24, 36]


def test_decode_counts_once_per_call(tmp_path):
    path = make_clip(tmp_path / "c.mp4", duration=1.0)
    key = str(path.resolve())
    before = DECODE_COUNTS[key]
    decode(path, NEEDS)
    assert DECODE_COUNTS[key] == before + 1


def test_bad_media_statuses(tmp_path):
    good = make_clip(tmp_path / "good.mp4", duration=1.0)
    assert decode(tmp_path / "absent.mp4", NEEDS).status == MediaStatus.MISSING_VIDEO
    assert decode(make_corrupt(tmp_path / "junk.mp4"), NEEDS).status == MediaStatus.UNREADABLE
    truncated = decode(make_corrupt(tmp_path / "trunc.mp4", good), NEEDS)
    assert truncated.status in (MediaStatus.UNREADABLE, MediaStatus.TOO_SHORT, MediaStatus.OK)
    assert truncated.message or truncated.status == MediaStatus.OK
    assert decode(make_audio_only(tmp_path / "a.mp4"), NEEDS).status == MediaStatus.NO_VIDEO_STREAM
    short = decode(make_clip(tmp_path / "short.mp4", duration=0.2, clicks=()), NEEDS)
    assert short.status == MediaStatus.TOO_SHORT and "0.5" in short.message
    mute = decode(make_clip(tmp_path / "mute.mp4", duration=1.0, sr=None), NEEDS)
    assert mute.status == MediaStatus.OK and not mute.has_audio and mute.audio == {}
    silent = decode(make_clip(tmp_path / "silent.mp4", duration=1.0, silent=True), NEEDS)
    assert silent.has_audio and float(np.max(np.abs(silent.audio_at(16000)))) < 1e-3


def test_needs_merge_keeps_each_request_once():
    a = MediaNeeds(frames=(FrameSpec(1),), audio_rates=(16000,), min_seconds=1)
    b = MediaNeeds(frames=(FrameSpec(1), FrameSpec(25, 96)), audio_rates=(16000, 22050), needs_audio=True, min_seconds=2)
    merged = a.merge(b)
    assert merged.frames == (FrameSpec(1), FrameSpec(25, 96)) and merged.audio_rates == (16000, 22050)
    assert merged.needs_audio and merged.min_seconds == 2


def test_long_streams_stop_at_the_memory_cap_and_say_where(tmp_path, monkeypatch):
    """A stream that would outgrow MAX_STREAM_BYTES keeps its first frames only and records where it stopped;
    other streams and the audio are whole."""
    import avgenbench.media as media

    path = make_clip(tmp_path / "c.mp4", duration=3.0, fps=24, width=160, height=96)
    big, small = FrameSpec(25, 160), FrameSpec(1, 32, gray=True)
    monkeypatch.setattr(media, "MAX_STREAM_BYTES", 30 * 160 * 96 * 3)  # 30 frames of the big stream
    clip = decode(path, MediaNeeds(frames=(big, small, FrameSpec(None, 160)), audio_rates=(16000,)))
    assert clip.status == MediaStatus.OK
    frames = clip.frames_for(big)
    assert len(frames) == 30 and frames.truncated_at == pytest.approx(1.2)
    assert np.allclose(frames.times, np.arange(30) / 25)
    native = clip.frames_for(FrameSpec(None, 160))  # every frame: stops after 30 of 72
    assert len(native) == 30 and native.truncated_at == pytest.approx(30 / 24, abs=1e-3)
    assert clip.frames_for(small).truncated_at is None and len(clip.frames_for(small)) == 3
    assert abs(len(clip.audio_at(16000)) / 16000 - 3.0) < 0.05
    assert clip.summary()["frames_truncated_at"] == {big.label: 1.2, FrameSpec(None, 160).label: pytest.approx(1.25, abs=1e-3)}
    monkeypatch.setattr(media, "MAX_STREAM_BYTES", 10 << 20)
    assert "frames_truncated_at" not in decode(path, MediaNeeds(frames=(big,))).summary()
