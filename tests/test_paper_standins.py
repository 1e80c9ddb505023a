"""The adapters for the repository-only upstreams (Q-Align, Synchformer, VideoPhy-2), end to end through their workers
in a model environment, against stand-in packages that enforce the upstream call contract (arguments, tensor shapes
and types, output structure; tests/standins/). What the stand-ins compute is simple and known, so the raw values the
workers report are checked against our own reductions computed here. The real networks are not involved.

The environment holds torch's CPU build (from the package index through pip's own configuration, or from a local wheel
folder in AVGENBENCH_PAPER_WHEELHOUSE) and the stand-ins, built as wheels at test time.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from avgenbench import model_envs
from avgenbench.annotations import PromptAnnotation
from avgenbench.dimensions.base import ItemContext
from avgenbench.dimensions.av import AVSynchformerPaper
from avgenbench.dimensions.lo_phy import VideoPhy2Paper
from avgenbench.dimensions.vis import VisQAlignPaper
from avgenbench.media import decode
from avgenbench.model_envs import ModelEnv, SetupError, WeightFile
from avgenbench.paper_workers import q_align, synchformer
from avgenbench.suite import PromptItem
from clipmaker import make_clip
from test_model_envs import make_wheel

pytestmark = pytest.mark.slow
STANDINS = Path(__file__).parent / "standins"
CHECKPOINT_BIAS = np.linspace(0.0, 0.5, 21)
SYNC_CONFIG = """
data: {max_off_sec: 2.0}
training: {use_half_precision: false}
model:
  params:
    afeat_extractor: {params: {ckpt_path: ./logs/a.pt}}
    vfeat_extractor: {params: {ckpt_path: ./logs/v.pt}}
    transformer:
      target: model.modules.feature_selector.SparseSync
      params: {off_head_cfg: {params: {out_features: 21}}}
"""


def _standin_wheels(folder: Path) -> None:
    text = {name: (STANDINS / f"{name}.py").read_text() for name in
            ("transformers_standin", "llama_tokenizer_standin", "mplug_owl_video_standin", "synchformer_standin")}
    make_wheel(folder, "avgb-standin-transformers", "4.36.2", {
        "transformers/__init__.py": text["transformers_standin"], "transformers/models/__init__.py": "",
        "transformers/models/llama/__init__.py": "",
        "transformers/models/llama/tokenization_llama.py": text["llama_tokenizer_standin"]})
    make_wheel(folder, "avgb-standin-mplug-owl-video", "0.1", {
        "mplug_owl_video/__init__.py": "", "mplug_owl_video/processing_mplug_owl.py": text["mplug_owl_video_standin"],
        "mplug_owl_video/modeling_mplug_owl.py": "from .processing_mplug_owl import MplugOwlForConditionalGeneration\n"})
    make_wheel(folder, "avgb-standin-synchformer", "0.1", {
        "scripts/__init__.py": "", "scripts/train_utils.py": text["synchformer_standin"]})


def _weights(folder: Path) -> None:
    (folder / "one-align").mkdir(parents=True)
    (folder / "one-align" / "config.json").write_text("{}")
    (folder / "cfg-24-01-04T16-39-21.yaml").write_text(SYNC_CONFIG)
    (folder / "videophy2_autoeval").mkdir()
    for name in ("config.json", "tokenizer.model", "preprocessor_config.json"):
        (folder / "videophy2_autoeval" / name).write_text("{}")


def _refuse_fetch(weight, target, source, log):
    raise SetupError(f"{weight.name}: not fetched in tests")


@pytest.fixture(scope="module")
def standin_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("standins")
    wheels = root / "wheels"
    wheels.mkdir()
    _standin_wheels(wheels)
    weights = root / "weights"
    _weights(weights)
    spec = ModelEnv("standin", "vis", "stand-ins for the repository-only upstreams",
                    ("torch==2.13.0", "pillow>=10", "omegaconf==2.3.0", "avgb-standin-transformers==4.36.2",
                     "avgb-standin-mplug-owl-video==0.1", "avgb-standin-synchformer==0.1"),
                    tuple(WeightFile(name, f"http://127.0.0.1:9/{name}") for name in
                          ("one-align", "24-01-04T16-39-21.pt", "cfg-24-01-04T16-39-21.yaml", "videophy2_autoeval")),
                    worker="avgenbench.paper_workers.q_align")
    patch = pytest.MonkeyPatch()
    patch.setenv("AVGENBENCH_CACHE_DIR", str(root / "cache"))
    patch.setattr(model_envs, "MODEL_ENVS", {"standin": spec})
    patch.setattr(model_envs, "_fetch", _refuse_fetch)
    house = os.environ.get("AVGENBENCH_PAPER_WHEELHOUSE")
    links = [wheels] + ([Path(house)] if house else [])
    try:
        with pytest.raises(SetupError, match="not fetched in tests"):  # built; the checkpoint needs its torch
            model_envs.setup(["standin"], weights, links, no_index=bool(house), log=lambda line: None)
    except SetupError as exc:
        patch.undo()
        if "No matching distribution" in str(exc) or "Could not find a version" in str(exc):
            pytest.skip(f"torch's CPU build cannot be installed here: {exc}")
        raise
    save = ("import sys, torch; torch.save({'model': {'bias': torch.linspace(0.0, 0.5, 21)}}, sys.argv[1])")
    done = subprocess.run([str(model_envs.env_python("standin")), "-c", save, str(weights / "24-01-04T16-39-21.pt")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1500:]
    assert model_envs.setup(["standin"], weights, links, no_index=bool(house), log=lambda line: None)["standin"].ready
    yield root
    patch.undo()


def _measure(backend_class, module: str, clip_path: Path):
    class InStandin(backend_class):
        env_name = "standin"
        worker = f"avgenbench.paper_workers.{module}"

    backend = InStandin()
    assert backend.unavailable_reason({}) is None
    clip = decode(clip_path, backend.needs())
    ctx = ItemContext(PromptItem("ads", 0, "clip", "a clip"), PromptAnnotation(), "paper", {"device": "cpu"})
    try:
        return clip, backend.measure(clip, ctx)
    finally:
        backend.close()


def test_q_align_gets_rgb_frames_at_1_fps_and_its_score_is_put_on_0_to_1(standin_env, tmp_path):
    import sys

    sys.path.insert(0, str(STANDINS))
    from transformers_standin import level_logits

    clip, measured = _measure(VisQAlignPaper, "q_align", make_clip(tmp_path / "clip.mp4", duration=4.0))
    assert measured.status == "ok", measured.message
    images = clip.frames_for(q_align.FRAMES).images
    assert measured.evidence["frames"] == len(images) == 4
    brightness = float(np.mean([np.asarray(Image.fromarray(f).convert("RGB"), dtype=float).mean()
                                for f in images])) / 255
    expected = q_align.quality_from_level_logits(level_logits(brightness))
    assert measured.raw == pytest.approx(expected, abs=1e-6)
    assert measured.evidence["model_score"] == pytest.approx(5 * expected, abs=1e-3)


def test_synchformer_gets_5_s_crops_and_reports_the_mean_expected_offset(standin_env, tmp_path):
    clip, measured = _measure(AVSynchformerPaper, "synchformer", make_clip(tmp_path / "clip.mp4", duration=8.0))
    assert measured.status == "ok", measured.message
    frames, audio = clip.frames_for(synchformer.FRAMES).images, clip.audio[synchformer.RATE]
    starts = synchformer.crop_starts(min(len(frames) / 25, len(audio) / 16000))
    assert starts == [0.0, 3.0] and [c["start"] for c in measured.evidence["crops"]] == starts
    grid = synchformer.offset_grid()
    expected = np.mean([synchformer.expected_abs_offset(-3.0 * (grid - s / 10) ** 2 + CHECKPOINT_BIAS) for s in starts])
    assert measured.raw == pytest.approx(expected, abs=1e-5)


def test_synchformer_records_a_clip_shorter_than_one_crop(standin_env, tmp_path):
    _, measured = _measure(AVSynchformerPaper, "synchformer", make_clip(tmp_path / "short.mp4", duration=3.0))
    assert measured.status == "too_short" and "5 s crop" in measured.message


def test_videophy2_reads_the_rating_from_the_evaluators_answer(standin_env, tmp_path):
    path = make_clip(tmp_path / "clip.mp4", duration=2.0)
    _, measured = _measure(VideoPhy2Paper, "videophy2", path)
    assert measured.status == "ok", measured.message
    assert measured.raw == 1 + path.stat().st_size % 5
    assert measured.evidence["answer"].startswith("I would rate it")
