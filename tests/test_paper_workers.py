"""Our own pre- and post-processing around the paper tier's models, checked against values worked out by hand. These
functions import no model library, so they run in the main environment."""

from __future__ import annotations

import math

import numpy as np
import pytest

from avgenbench.dimensions.base import Status
from avgenbench.paper_workers import audiobox, common, insightface, q_align, synchformer, syncnet, videophy2, whisper


# Synchformer: E|offset| over 21 classes -2..+2 s --------------------------------------------------------------------

def test_the_offset_grid_is_21_classes_in_steps_of_a_fifth_of_a_second():
    grid = synchformer.offset_grid()
    assert len(grid) == 21 and grid[0] == -2.0 and grid[-1] == 2.0 and grid[10] == 0.0
    assert np.allclose(np.diff(grid), 0.2)


def test_expected_abs_offset_of_certain_and_split_predictions():
    certain = np.full(21, -1e4)
    certain[15] = 0.0  # class 15 = +1.0 s
    assert synchformer.expected_abs_offset(certain) == pytest.approx(1.0)
    # equal logits on 0 s and -0.4 s (classes 10 and 8): 0.5*0 + 0.5*0.4 = 0.2
    split = np.full(21, -1e4)
    split[[8, 10]] = 3.0
    assert synchformer.expected_abs_offset(split) == pytest.approx(0.2)
    # uniform over all classes: mean |grid| = 2 * 0.2 * (1+...+10) / 21 = 22/21
    assert synchformer.expected_abs_offset(np.zeros(21)) == pytest.approx(22 / 21)
    # logits ln(1), ln(3) on +0.2 and -2.0: p = .25, .75 -> .05 + 1.5
    two = np.full(21, -1e4)
    two[11], two[0] = 0.0, math.log(3)
    assert synchformer.expected_abs_offset(two) == pytest.approx(0.25 * 0.2 + 0.75 * 2.0)
    with pytest.raises(ValueError):
        synchformer.expected_abs_offset(np.zeros(20))


def test_long_clips_are_cut_into_crops_that_cover_them():
    assert synchformer.crop_starts(4.9) == []
    assert synchformer.crop_starts(5.0) == [0.0]
    assert synchformer.crop_starts(8.0) == [0.0, 3.0]
    assert synchformer.crop_starts(10.0) == [0.0, 5.0]
    assert synchformer.crop_starts(12.5) == [0.0, 5.0, 7.5]


def test_frames_are_scaled_to_a_shorter_side_of_256_with_even_sides():
    assert synchformer.scale_to_min_side((360, 640)) == (256, 456)  # 640*256/360 = 455.1 -> 456
    assert synchformer.scale_to_min_side((1080, 1920)) == (256, 456)
    assert synchformer.scale_to_min_side((512, 288)) == (456, 256)


# Q-Align: level words -> 0..1 --------------------------------------------------------------------------------------

def test_quality_weighs_the_five_level_words():
    assert q_align.LEVELS == ("excellent", "good", "fair", "poor", "bad")
    assert q_align.quality_from_level_probs([1, 0, 0, 0, 0]) == 1.0
    assert q_align.quality_from_level_probs([0, 0, 0, 0, 1]) == 0.0
    # .1*1 + .2*.75 + .4*.5 + .2*.25 + .1*0 = .5
    assert q_align.quality_from_level_probs([0.1, 0.2, 0.4, 0.2, 0.1]) == pytest.approx(0.5)
    # renormalised over the five words: (2, 2, 0, 0, 0) -> (.5, .5) -> .875
    assert q_align.quality_from_level_probs([2, 2, 0, 0, 0]) == pytest.approx(0.875)
    # logits: equal on good and poor -> .5*.75 + .5*.25 = .5
    assert q_align.quality_from_level_logits([-50, 1.0, -50, 1.0, -50]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        q_align.quality_from_level_probs([0.5, 0.5])


def test_a_score_on_a_multiple_of_the_level_weights_is_put_on_zero_to_one():
    assert q_align.unit_quality(3.75, [5, 3.75, 2.5, 1.25, 0]) == pytest.approx(0.75)
    assert q_align.unit_quality(0.6) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="ratios"):
        q_align.unit_quality(3.0, [5, 4, 3, 2, 1])
    with pytest.raises(ValueError, match="outside"):
        q_align.unit_quality(6.0, [5, 3.75, 2.5, 1.25, 0])


# SyncNet: offset at the minimum, confidence = median - minimum, mean |offset| over confident tracks ---------------

def test_syncnet_rule_on_a_distance_table():
    shifts = 2 * syncnet.MAX_SHIFT + 1
    table = np.full((4, shifts), 10.0)
    table[:, 12] = [6.0, 7.0, 8.0, 7.0]  # mean 7 at column 12 -> offset 15 - 12 = 3
    table[:, 20] = 9.0
    offset, confidence, minimum = syncnet.offset_and_confidence(table)
    assert offset == 3 and minimum == pytest.approx(7.0)
    assert confidence == pytest.approx(10.0 - 7.0)  # the median of the 31 means is 10
    with pytest.raises(ValueError):
        syncnet.offset_and_confidence(np.zeros((4, 30)))


def test_lip_offset_keeps_only_confident_tracks():
    result = syncnet.lip_offset([3, -5, 1], [2.0, 1.0, 0.99])
    assert result.status == Status.OK and result.raw == pytest.approx(4.0)  # |3|, |-5|; the third is not confident
    assert (result.confident, result.tracks) == (2, 3)
    none_sure = syncnet.lip_offset([2], [0.5])
    assert none_sure.status == Status.INCONCLUSIVE and none_sure.raw is None
    assert syncnet.lip_offset([], []).status == Status.NO_FACE


# Audiobox: 10 s windows weighted by their share of audio ------------------------------------------------------------

def test_audio_windows_and_their_weights():
    cuts = audiobox.windows(16000 * 25)
    assert [(c.start, c.length) for c in cuts] == [(0, 160000), (160000, 160000), (320000, 80000)]
    assert [c.weight for c in cuts] == [1.0, 1.0, 0.5]
    # 8 s clip: one window, 80 % audio
    short = audiobox.windows(16000 * 8)
    assert len(short) == 1 and short[0].weight == pytest.approx(0.8)
    wav, mask = audiobox.window_batch(np.arange(10, dtype=np.float32), audiobox.windows(10, rate=1, seconds=4), 4)
    assert wav.shape == (3, 1, 4) and wav[2, 0].tolist() == [8, 9, 0, 0] and mask[2, 0].tolist() == [1, 1, 0, 0]
    # 7, 7 on full windows and 4 on a half one: (7 + 7 + 2) / 2.5 = 6.4
    assert audiobox.weighted_mean([7, 7, 4], [1, 1, 0.5]) == pytest.approx(6.4)
    assert audiobox.strip_prefix({"model.a.b": 1, "c": 2}) == {"a.b": 1, "c": 2}


# VideoPhy-2: the rating in its answer -------------------------------------------------------------------------------

@pytest.mark.parametrize("answer, rating", [
    ("4", 4), (" 2 ", 2), ("Three.", 3), ("I would rate it a five", 5), ("Rating: 1/5", 1), ("5 out of 5", 5),
    ("the video shows 10 balls; 3", 3), ("done", None), ("", None), ("0", None), ("2.5", None), ("someone", None),
])
def test_the_rating_is_read_from_the_answer(answer, rating):
    assert videophy2.rating_from_answer(answer) == rating


# shared helpers -------------------------------------------------------------------------------------------------------

def test_device_choice():
    assert common.choose_device("auto", True) == "cuda"
    assert common.choose_device("auto", False) == "cpu"
    assert common.choose_device(None, True) == "cpu"
    assert common.choose_device("cuda:1", True) == "cuda:1"
    with pytest.raises(RuntimeError, match="no CUDA"):
        common.choose_device("cuda:0", False)
    with pytest.raises(ValueError):
        common.choose_device("tpu", True)


def test_every_worker_takes_its_name_version_and_media_from_its_identity():
    from avgenbench.paper_workers import identities

    for backend, identity in ((audiobox.AudioboxPQ(), identities.AUDIOBOX), (q_align.QAlignVis(), identities.Q_ALIGN),
                              (synchformer.SynchformerAV(), identities.SYNCHFORMER),
                              (syncnet.SyncNetLip(), identities.SYNCNET), (videophy2.VideoPhy2LoPhy(), identities.VIDEOPHY2),
                              (whisper.FasterWhisperSpeech(), identities.WHISPER),
                              (insightface.InsightFaceDetections(), identities.INSIGHTFACE)):
        assert (backend.name, backend.version, backend.tier) == (identity.name, identity.version, "paper")
        assert backend.needs() == identity.needs and backend._model is None and backend._device == "cpu"


def test_the_model_is_built_once_on_the_chosen_device(tmp_path, monkeypatch):
    built = []

    class Counting(common.PaperWorker, identity=common.Identity("x", "1", common.MediaNeeds())):
        def _choose_device(self):
            return "cuda:1"

        def _build(self, weights):
            built.append((weights, self._device))
            return object()

        def measure(self, clip, ctx):
            raise NotImplementedError

    monkeypatch.setenv(common.WEIGHTS_ENV, str(tmp_path))
    backend = Counting()
    assert backend._load() is backend._load() and built == [(tmp_path, "cuda:1")]
    monkeypatch.delenv(common.WEIGHTS_ENV)
    with pytest.raises(RuntimeError, match="run this worker through avgenbench"):
        Counting()._load()


def test_whisper_and_insightface_device_settings():
    assert whisper.compute_type("cpu") == "int8" and whisper.compute_type("cuda:1") == "float16"
    assert whisper.device_and_index("cuda:1") == ("cuda", 1) and whisper.device_and_index("cpu") == ("cpu", 0)
    assert insightface.providers_for("cpu") == (["CPUExecutionProvider"], -1)
    assert insightface.providers_for("cuda:2") == ([("CUDAExecutionProvider", {"device_id": 2}),
                                                    "CPUExecutionProvider"], 2)


def test_an_insightface_pack_is_read_by_its_file_names(tmp_path):
    for name in ("1k3d68.onnx", "2d106det.onnx", "det_10g.onnx", "genderage.onnx", "w600k_r50.onnx"):
        (tmp_path / name).write_bytes(b"")
    assert insightface.pack_files(tmp_path) == (tmp_path / "det_10g.onnx", tmp_path / "w600k_r50.onnx")
    assert insightface.pack_files(tmp_path / "absent") == (None, None)


def test_resampling_keeps_a_tone_and_its_length():
    t = np.arange(48000) / 48000
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    out = common.resample(tone, 48000, 16000)
    assert out.dtype == np.float32 and len(out) == 16000
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) == 440  # 1 s at 16 kHz: bin k is k Hz
    assert common.resample(tone, 16000, 16000) is not None and len(common.resample(tone, 16000, 16000)) == 48000


def test_even_indices():
    assert common.even_indices(10, 5) == [1, 3, 5, 7, 9]
    assert common.even_indices(3, 8) == [0, 1, 2]
    assert common.even_indices(0, 4) == []


@pytest.mark.parametrize("module", ["audiobox", "q_align", "synchformer", "syncnet", "videophy2", "common"])
def test_each_worker_module_imports_first_in_a_fresh_interpreter(module):
    """A worker is the first thing its environment imports; the dimensions (which import the backends) must not loop
    back into a half-imported worker module."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"import avgenbench.paper_workers.{module}"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-1500:]


def test_ffmpeg_link_in_the_model_environment_replaces_a_stale_one(tmp_path, monkeypatch):
    """SyncNet's pipeline calls `ffmpeg` by name; the link to imageio-ffmpeg's binary lives in the environment and a
    link left by an earlier build (pointing nowhere now) is replaced, not an error on the next run."""
    import os
    import sys
    import types

    from avgenbench.paper_workers import syncnet

    binary = tmp_path / "ffmpeg-linux-x86_64"
    binary.write_text("#!/bin/sh\n")
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", types.SimpleNamespace(get_ffmpeg_exe=lambda: str(binary)))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "env"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    stale = tmp_path / "env" / "avgen-bin" / "ffmpeg"
    stale.parent.mkdir(parents=True)
    stale.symlink_to(tmp_path / "deleted-env" / "ffmpeg")  # dangling
    syncnet._ffmpeg_on_path()
    assert stale.resolve() == binary.resolve()
    assert os.environ["PATH"].split(os.pathsep)[0] == str(stale.parent)
    syncnet._ffmpeg_on_path()  # idempotent
    assert stale.resolve() == binary.resolve()
