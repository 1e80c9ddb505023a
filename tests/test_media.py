import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from avgenbench import runner
from avgenbench.dimensions.base import Status, status_kind
from avgenbench.media import DECODE_COUNTS, MIN_FRAME_SIDE, FrameSpec, MediaNeeds, MediaStatus, decode
from avgenbench.store import Store
from avgenbench.suite import PromptItem, load_suite
from clipmaker import (make_audio_only, make_audio_with_cover, make_clip, make_corrupt, make_empty_audio_track,
                       make_layout_switch, make_shifted, make_surround, make_thumbnail_first, make_variable_rate)

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


def _onset(audio: np.ndarray, rate: int, level: float = 0.2) -> float:
    return float(np.argmax(np.abs(audio) > level)) / rate


def _marker_indices(frames) -> list[int]:
    """Source frame index of each image, read from clipmaker's corner marker."""
    return [int(round(img[2:14, 2:14].mean() / 6)) for img in frames.images]


SURROUND_CHECK = """
import json, sys
import numpy as np
from avgenbench.media import MediaNeeds, decode
clip = decode(sys.argv[1], MediaNeeds(audio_rates=(48000,)))
audio = clip.audio_at(48000)
quiet = audio[: int(0.45 * 48000)]  # before the first click: the front-left tone alone
spectrum = np.abs(np.fft.rfft(quiet)) * 2 / len(quiet)
print(json.dumps({"status": clip.status, "channels": clip.audio_channels, "seconds": len(audio) / 48000,
                  "onset": float(np.argmax(np.abs(audio) > 0.2)) / 48000, "peak": float(np.abs(audio).max()),
                  "tone_hz": float(np.argmax(spectrum)) * 48000 / len(quiet), "tone": float(spectrum.max())}))
"""


def test_surround_audio_decodes_to_its_mono_mix(tmp_path):
    """A 7.1 track crashed the process (PyAV's to_ndarray on 8 channels): decoded in a subprocess so that a crash
    fails this test only. Every channel but the LFE reaches the mono mix: clicks in all of them at full level, a tone
    in the front left only, attenuated."""
    path = make_surround(tmp_path / "surround.mp4", clicks=(0.5, 1.5))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", SURROUND_CHECK, str(path)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, f"decode crashed (rc {done.returncode}): {done.stderr[-2000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "ok" and result["channels"] == 8
    assert abs(result["seconds"] - 2.0) < 0.05 and abs(result["onset"] - 0.5) < 0.005
    assert 0.6 < result["peak"] < 1.0  # the clicks, at the level they have in every channel
    assert abs(result["tone_hz"] - 440) < 5 and 0.01 < result["tone"] < 0.15  # 0.2 in one channel of the mix


def test_audio_starting_after_the_picture_is_a_fault_not_padded_silence(tmp_path):
    """Audio stamped 600 s late used to be padded with 600 s of zeros (and then scored as silence)."""
    clip = decode(make_shifted(tmp_path / "late.mkv", audio_start=600), NEEDS)
    assert clip.ok and clip.has_audio and abs(clip.duration - 2.0) < 0.05
    status, message = clip.faults["audio"]
    assert status == MediaStatus.AUDIO_OFFSET and "600" in message and "after the picture ends" in message
    assert all(len(audio) == 0 for audio in clip.audio.values())
    assert len(clip.frames_for(FrameSpec(1, None))) == 2
    assert clip.summary()["audio_offset_s"] == pytest.approx(600, abs=0.1)
    assert clip.summary()["faults"]["audio"]["status"] == "audio_offset"
    # Audio that ends before a late first frame never plays with the picture either.
    early = decode(make_shifted(tmp_path / "early.mkv", video_start=600, audio_start=0), NEEDS)
    assert early.ok and early.faults["audio"][0] == MediaStatus.AUDIO_OFFSET and "before the first frame" in early.faults["audio"][1]


def test_audio_starting_late_within_the_picture_is_padded_and_recorded(tmp_path):
    clip = decode(make_shifted(tmp_path / "late.mp4", audio_start=1.0, duration=2.0, clicks=(0.5,)), NEEDS)
    assert clip.ok and not clip.faults
    assert abs(_onset(clip.audio_at(16000), 16000) - 1.5) < 0.01
    assert clip.summary()["audio_offset_s"] == pytest.approx(1.0, abs=0.07)  # the stream starts with its priming
    assert "audio_offset_s" not in decode(make_shifted(tmp_path / "in_sync.mp4"), NEEDS).summary()


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_a_late_first_frame_is_the_clip_start(tmp_path, suffix):
    """Streams stamped from 600 s (a cut from a longer recording) are timed from their first frame: no 600 s of
    repeated first frame, no 600 s of padding."""
    spec = FrameSpec(2, None)
    clip = decode(make_shifted(tmp_path / f"late{suffix}", video_start=600, audio_start=600, clicks=(0.5,)),
                  MediaNeeds(frames=(spec, FrameSpec(None, 64)), audio_rates=(16000,)))
    assert clip.ok, clip.message
    assert clip.duration < 2.2 and clip.summary()["video_start_s"] == 600
    frames = clip.frames_for(spec)
    assert list(frames.times) == [0.0, 0.5, 1.0, 1.5] and _marker_indices(frames) == [0, 12, 24, 36]
    assert len(clip.frames_for(FrameSpec(None, 64))) == 48
    assert abs(_onset(clip.audio_at(16000), 16000) - 0.5) < 0.08  # the mkv keeps the encoder's priming
    assert "audio_offset_s" not in clip.summary() and not clip.faults


def test_the_main_video_stream_is_judged_not_a_thumbnail_or_a_cover(tmp_path):
    clip = decode(make_thumbnail_first(tmp_path / "thumb_first.mkv"), NEEDS)
    assert clip.ok and (clip.width, clip.height, clip.n_frames) == (160, 96, 48)
    assert _marker_indices(clip.frames_for(FrameSpec(1, None))) == [0, 24]
    cover = decode(make_audio_with_cover(tmp_path / "song.m4a"), NEEDS)
    assert cover.status == MediaStatus.NO_VIDEO_STREAM and "cover picture" in cover.message


def test_frames_too_small_to_judge_are_a_fault_of_the_frames_only(tmp_path):
    tiny = decode(make_clip(tmp_path / "tiny.mp4", width=16, height=16), NEEDS)
    assert tiny.ok and tiny.faults["frames"][0] == MediaStatus.TOO_SMALL and "16x16" in tiny.faults["frames"][1]
    assert abs(_onset(tiny.audio_at(16000), 16000) - 0.5) < 0.01  # the audio is whole
    assert status_kind(Status.TOO_SMALL) == "video_fault" and status_kind(Status.AUDIO_OFFSET) == "video_fault"
    edge = decode(make_clip(tmp_path / "edge.mp4", width=MIN_FRAME_SIDE, height=MIN_FRAME_SIDE), NEEDS)
    assert edge.ok and not edge.faults


def test_other_odd_files(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    clip = decode(empty, NEEDS)
    assert clip.status == MediaStatus.UNREADABLE and "(0 bytes)" in clip.message
    # Variable frame rate: every frame at its own time stamp.
    vfr = decode(make_variable_rate(tmp_path / "vfr.mkv"), MediaNeeds(frames=(FrameSpec(None, None),)))
    native = vfr.frames_for(FrameSpec(None, None))
    assert vfr.ok and _marker_indices(native) == list(range(30))
    assert np.allclose(native.times[[0, 24, 29]], [0.0, 1.0, 1000 / 3 * 5 / 1000 + 1.0], atol=2e-3)
    # An audio layout that changes midway (stereo, then 5.1): both halves are in the mix.
    switch = decode(make_layout_switch(tmp_path / "switch.ts"), MediaNeeds(audio_rates=(16000,)))
    loud = np.flatnonzero(np.abs(switch.audio_at(16000)) > 0.2) / 16000
    assert switch.ok and abs(len(switch.audio_at(16000)) / 16000 - 2.0) < 0.1
    assert 0.45 < loud[0] < 0.6 and 1.45 < loud[-1] < 1.6 and "decode_errors" not in switch.summary()
    # An audio track with nothing in it is no sound, not a silent soundtrack to score.
    hollow = decode(make_empty_audio_track(tmp_path / "hollow.mkv"), NEEDS)
    assert hollow.ok and hollow.has_audio and hollow.faults["audio"][0] == MediaStatus.NO_AUDIO_STREAM
    # A header declaring a duration of weeks: the clip is what its frames and samples say.
    huge = _declare_huge_duration(make_clip(tmp_path / "huge.mp4", duration=2.0))
    clip = decode(huge, NEEDS)
    assert clip.ok and abs(clip.duration - 2.0) < 0.05 and len(clip.frames_for(FrameSpec(25, 96, gray=True))) == 50


def _declare_huge_duration(path: Path) -> Path:
    """Rewrite the movie and media headers' durations (version 0 boxes) to the 32-bit maximum."""
    data = bytearray(path.read_bytes())
    for box, at in ((b"mvhd", 20), (b"mdhd", 20), (b"tkhd", 24)):
        start = 0
        while (i := data.find(box, start)) >= 0:
            if data[i + 4] == 0:
                data[i + at:i + at + 4] = (0x7FFFFFFF).to_bytes(4, "big")
            start = i + 4
    path.write_bytes(bytes(data))
    return path


# The runner: what a fault of the frames or of the audio, and a file that changes under us, leave in the store.

def _folder(root: Path, clips: dict[str, object]) -> tuple[object, Path]:
    """A one-category suite with one prompt per name, and a videos folder made by each `maker(path)`."""
    (root / "suite" / "prompts").mkdir(parents=True)
    items = [{"content": name, "prompt": "A red square slides across a noisy wall; a sharp click."} for name in clips]
    (root / "suite" / "prompts" / "ads.json").write_text(json.dumps(items))
    for name, maker in clips.items():
        (root / "videos" / "ads").mkdir(parents=True, exist_ok=True)
        maker(root / "videos" / "ads" / name)
    return load_suite(root / "suite"), root / "videos"


def _rows(out: Path) -> dict[tuple[str, str], object]:
    with Store(out) as store:
        return {(r.video_key.split("/")[-1], r.dimension): r for r in store.results()}


def test_frame_and_audio_faults_reach_the_rows_that_read_them(tmp_path):
    suite, videos = _folder(tmp_path, {
        "tiny": lambda p: make_clip(p.with_suffix(".mp4"), width=16, height=16),
        "shifted": lambda p: make_shifted(p.with_suffix(".mkv"), audio_start=600),
        "late": lambda p: make_shifted(p.with_suffix(".mkv"), video_start=600, audio_start=600),
    })
    summary = runner.evaluate(suite, videos, tmp_path / "out", "run", "lite", ["vis", "aud"])
    assert summary.rows_written == 6
    rows = _rows(tmp_path / "out")
    assert rows[("tiny", "vis")].status == "too_small" and "16x16" in rows[("tiny", "vis")].message
    assert rows[("tiny", "aud")].status != "too_small"  # audio-only dimensions still judge the sound
    shifted_aud, shifted_vis = rows[("shifted", "aud")], rows[("shifted", "vis")]
    assert shifted_aud.status == "audio_offset" and "600" in shifted_aud.message
    assert shifted_vis.status == "ok" and shifted_vis.evidence["audio_offset_s"] == pytest.approx(600, abs=0.1)
    assert "shifted" in shifted_vis.message
    assert rows[("late", "vis")].evidence["video_start_s"] == 600 and rows[("late", "aud")].status not in VIDEO_FAULT


VIDEO_FAULT = {"audio_offset", "too_small", "unreadable", "too_short"}


def test_a_file_that_changes_under_the_run_still_gets_its_rows(tmp_path, monkeypatch):
    """Hashed once, from the bytes decoded: a file removed after decoding, removed before decoding, or unreadable
    never makes the run hash it again (which crashed and lost the folder's rows)."""
    suite, videos = _folder(tmp_path, {name: lambda p: make_clip(p.with_suffix(".mp4"), duration=1.0)
                                       for name in ("after", "before", "unreadable")})
    folder = videos / "ads"
    decoded_sha = hashlib.sha256((folder / "after.mp4").read_bytes()).hexdigest()
    real_decode = runner.decode

    def decode_while_files_change(path, needs):
        path = Path(path)
        if path.stem == "before":
            path.unlink()
        clip = real_decode(path, needs)
        if path.stem == "after":
            path.unlink()
        return clip

    def open_denying_one(file, *args, **kwargs):
        if Path(file).stem == "unreadable":
            raise PermissionError(13, "Permission denied", str(file))
        return open(file, *args, **kwargs)

    monkeypatch.setattr(runner, "decode", decode_while_files_change)
    monkeypatch.setattr("avgenbench.media.open", open_denying_one, raising=False)
    summary = runner.evaluate(suite, videos, tmp_path / "out", "run", "lite", ["vis"])
    assert summary.rows_written == 3 and not summary.error
    rows = _rows(tmp_path / "out")
    assert rows[("after", "vis")].status == "ok" and rows[("after", "vis")].video_sha256 == decoded_sha
    assert rows[("before", "vis")].status == "missing_video"
    assert rows[("unreadable", "vis")].status == "unreadable" and "PermissionError" in rows[("unreadable", "vis")].message


def test_planning_survives_a_file_that_vanishes_before_it_is_hashed(tmp_path, monkeypatch):
    suite, videos = _folder(tmp_path, {"clip": lambda p: make_clip(p.with_suffix(".mp4"), duration=1.0)})
    first = runner.evaluate(suite, videos, tmp_path / "out", "run", "lite", ["vis", "music"])
    assert first.rows_written == 2
    again = runner.evaluate(suite, videos, tmp_path / "out", "run", "lite", ["vis", "music"])
    assert again.rows_skipped == 2  # a unit that decoded nothing (music: not applicable) keeps its hash too

    # Found by the planner, gone when it hashes the file to compare with the stored rows.
    path = videos / "ads" / "clip.mp4"
    monkeypatch.setattr(PromptItem, "find_video", lambda self, videos_dir: path)
    path.unlink()
    redo = runner.evaluate(suite, videos, tmp_path / "out", "run", "lite", ["vis", "music"])
    assert redo.units_run == 1 and _rows(tmp_path / "out")[("clip", "vis")].status == "missing_video"
