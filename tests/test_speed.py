"""The speed work keeps behaviour: frame sampling is the same whatever the buffer guess, worker thread shares are set
only while a pool starts, and the speed bench's prompts ask every lite dimension for something."""

import importlib.util
import os
from pathlib import Path

import av
import pytest
import numpy as np

from avgenbench import executor
from avgenbench.annotations import annotation_for
from avgenbench.media import FrameSpec, MediaNeeds, _Sampler, decode
from avgenbench.suite import load_suite
from clipmaker import make_clip

BENCH = Path(__file__).resolve().parents[1] / "bench" / "lite_speed.py"


def _sample(path: Path, spec: FrameSpec, expected: int):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        sampler = _Sampler(spec, stream.codec_context.width, stream.codec_context.height, expected)
        last = 0.0
        for frame in container.decode(stream):
            last = float(frame.time)
            sampler.push(last, frame)
    return sampler.finish(last + 1 / 24)


def test_sampler_result_does_not_depend_on_the_buffer_guess(tmp_path):
    """A wrong frame-count guess (bad metadata) only changes how the buffer grows, never the frames."""
    path = make_clip(tmp_path / "c.mp4", duration=1.5, fps=24, width=160, height=96)  # markers 0..35
    for spec in (FrameSpec(None, 64, gray=True), FrameSpec(30, None), FrameSpec(2, 80)):
        reference = decode(path, MediaNeeds(frames=(spec,))).frames_for(spec)
        for guess in (1, 7, 1000):
            frames = _sample(path, spec, guess)
            assert np.array_equal(frames.times, reference.times)
            assert frames.images.shape == reference.images.shape and np.array_equal(frames.images, reference.images)
    # The corner marker encodes the source frame index: 30 fps repeats some of the 24 native frames, in order.
    upsampled = _sample(path, FrameSpec(30, None), 1)
    indices = [int(round(img[2:14, 2:14].mean() / 6)) for img in upsampled.images]
    assert len(indices) == 45 and indices == sorted(indices) and set(indices) == set(range(36))


def test_worker_thread_share_is_set_while_the_pool_starts_and_user_values_win(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    share = str(max(1, executor.usable_cores() // 2))
    with executor.worker_threads(2):
        assert os.environ["OMP_NUM_THREADS"] == share
        assert os.environ["OPENBLAS_NUM_THREADS"] == "3"
    assert "OMP_NUM_THREADS" not in os.environ and os.environ["OPENBLAS_NUM_THREADS"] == "3"



def test_default_workers_use_the_cores_the_memory_allows_or_the_environment(monkeypatch):
    monkeypatch.delenv(executor.WORKERS_ENV, raising=False)
    monkeypatch.setattr(executor, "usable_cores", lambda: 8)
    monkeypatch.setattr(executor, "available_memory", lambda: 100 * executor.WORKER_MEMORY)
    assert executor.default_workers() == 8
    monkeypatch.setattr(executor, "available_memory", lambda: 3 * executor.WORKER_MEMORY + 1)
    assert executor.default_workers() == 3
    monkeypatch.setattr(executor, "available_memory", lambda: executor.WORKER_MEMORY // 2)
    assert executor.default_workers() == 1
    monkeypatch.setattr(executor, "available_memory", lambda: None)
    assert executor.default_workers() == 8
    monkeypatch.setenv(executor.WORKERS_ENV, "5")
    assert executor.default_workers() == 5
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(executor.WORKERS_ENV, bad)
        with pytest.raises(ValueError, match="AVGENBENCH_WORKERS"):
            executor.default_workers()


def test_available_memory_reads_this_machine():
    memory = executor.available_memory()
    assert memory is None or 64 << 20 < memory < 1 << 50


def test_eval_refuses_a_bad_workers_setting(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from avgenbench.cli import app

    (tmp_path / "videos").mkdir()
    monkeypatch.setenv(executor.WORKERS_ENV, "many")
    suite = Path(__file__).resolve().parents[1] / "src" / "avgenbench" / "data" / "demo_suite"
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "videos"), "--suite", str(suite), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "AVGENBENCH_WORKERS must be a whole number" in result.output

def test_bench_prompts_ask_every_lite_dimension_for_something(tmp_path):
    spec = importlib.util.spec_from_file_location("lite_speed", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    suite = load_suite(bench.write_suite(tmp_path, 3))
    assert len(suite.items) == 3
    for item in suite.items:
        note = annotation_for(suite, item)
        assert note.required_text == [item.extra["synthetic"]["texts"][0]["text"]]
        assert note.speech_required and note.speech_lines
        assert note.faces is not None and note.faces.min_ids == 1
        assert note.music and note.music[0].midi[0] == 69
        clip = item.extra["synthetic"]
        assert clip["faces"] and clip["speech"] and clip["notes"] and clip["impacts"] and clip["moving_shapes"]


def test_bench_grain_makes_clips_as_costly_as_real_ones_and_keeps_their_content(tmp_path):
    """The bench re-encodes its clean clips with per-frame grain: the bit rate rises several-fold (real outputs are
    Mbit/s), while frame count, frame rate and audio stay the same."""
    spec = importlib.util.spec_from_file_location("lite_speed", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    from avgenbench.synthetic.encode import write_clip

    ys, xs = np.mgrid[0:180, 0:320]
    still = np.stack([xs * 0.5 + 40, ys * 0.6 + 50, np.full_like(xs, 90)], axis=-1).astype(np.uint8)  # clean, static
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(96000) / 48000).astype(np.float32)
    tone[48000:48480] = 0.9  # a click at 1 s
    path = write_clip(tmp_path / "g.mp4", (still for _ in range(48)), 24, tone, 48000, crf=20)
    needs = MediaNeeds(frames=(FrameSpec(None, None, gray=True),), audio_rates=(48000,), needs_audio=True)
    before, clean_rate = decode(path, needs), bench.clip_bitrates([path])[0]
    bench.add_grain(path)
    after, grain_rate = decode(path, needs), bench.clip_bitrates([path])[0]
    assert grain_rate > 3 * clean_rate and grain_rate > 0.3, (clean_rate, grain_rate)
    assert after.n_frames == before.n_frames and abs(after.fps - before.fps) < 1e-6
    a, b = before.audio_at(48000), after.audio_at(48000)
    assert abs(len(a) - len(b)) < 2048 and np.argmax(np.abs(a)) // 480 == np.argmax(np.abs(b)) // 480
    noise = np.abs(after.frames_for(needs.frames[0]).images.astype(int) - before.frames_for(needs.frames[0]).images)
    assert 1.0 < noise.mean() < 6.0  # grain, not a different picture
