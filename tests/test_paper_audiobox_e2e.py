"""Aud's paper model end to end on CPU: `setup paper` builds the audiobox-aesthetics environment (the PyPI package,
torch's CPU build), the real network is saved with random weights in the real checkpoint format, and a clip is measured
through the worker and stored by `avgenbench eval --tier paper`. Nothing here checks the real weights (none can be
downloaded here); it checks everything around them.

The environment comes from the package index (pip's own configuration, which on this project's machines offers torch's
CPU build from disk) or from a local wheel folder in AVGENBENCH_PAPER_WHEELHOUSE (installed with --no-index).
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from typer.testing import CliRunner

from avgenbench import model_envs
from clipmaker import make_clip
from conftest import ready_paper_env, run_in_env

pytestmark = pytest.mark.slow
ENV = "audiobox-aesthetics"

RANDOM_CHECKPOINT = """
import sys, torch
from audiobox_aesthetics.model.aes import AesMultiOutput
torch.manual_seed(0)
cfg = dict(proj_num_layer=1, proj_ln=False, proj_act_fn="gelu", proj_dropout=0.0, nth_layer=13,
           use_weighted_layer_sum=True, precision="32", normalize_embed=True, output_dim=1)
transform = {axis: {"mean": 4.0 + i, "std": 1.5} for i, axis in enumerate(["CE", "CU", "PC", "PQ"])}
model = AesMultiOutput(**cfg, target_transform=transform)
state = {"model." + key: value for key, value in model.state_dict().items()}
torch.save({"state_dict": state, "model_cfg": cfg, "target_transform": transform}, sys.argv[1])
"""

# An independent reading of the checkpoint: each 10 s window scored on its own (no batch), weighted by its audio share.
EXPECTED_PQ = """
import json, sys, numpy as np, torch
from audiobox_aesthetics.model.aes import AesMultiOutput
ckpt = torch.load(sys.argv[1], map_location="cpu")
model = AesMultiOutput(**ckpt["model_cfg"], target_transform=ckpt["target_transform"])
model.load_state_dict({k[len("model."):]: v for k, v in ckpt["state_dict"].items()})
model.eval()
audio = np.load(sys.argv[2]).astype(np.float32)
size = 160000
total = weight_sum = 0.0
for start in range(0, len(audio), size):
    piece = audio[start:start + size]
    wav = torch.zeros(1, 1, size)
    wav[0, 0, :len(piece)] = torch.from_numpy(piece)
    mask = torch.zeros(1, 1, size, dtype=torch.bool)
    mask[0, 0, :len(piece)] = True
    with torch.inference_mode():
        pq = model({"wav": wav, "mask": mask})["PQ"].item() * 1.5 + 7.0
    total += pq * len(piece) / size
    weight_sum += len(piece) / size
print(json.dumps({"pq": total / weight_sum}))
"""


@pytest.fixture(scope="module")
def ready_env(tmp_path_factory):
    yield from ready_paper_env(tmp_path_factory, ENV,
                               lambda python, folder: run_in_env(python, RANDOM_CHECKPOINT, folder / "checkpoint.pt"))


def test_the_environment_has_the_package_but_not_the_main_installation(ready_env):
    probe = subprocess.run([str(model_envs.env_python(ENV)), "-c",
                            "import importlib.util as u, audiobox_aesthetics, torch;"
                            "print(u.find_spec('torchaudio') is None, u.find_spec('onnxruntime') is None)"],
                           capture_output=True, text=True)
    assert probe.stdout.split() == ["True", "True"], probe.stderr[-1000:]


def test_a_clip_is_measured_through_the_worker_as_an_independent_reading_of_the_checkpoint(ready_env, tmp_path):
    from avgenbench.annotations import PromptAnnotation
    from avgenbench.dimensions.base import ItemContext
    from avgenbench.dimensions.aud import AudAudioboxPaper
    from avgenbench.media import decode
    from avgenbench.suite import PromptItem

    _, weights = ready_env
    backend = AudAudioboxPaper()
    assert backend.unavailable_reason({}) is None
    clip = decode(make_clip(tmp_path / "clip.mp4", duration=12.0, width=160, height=90, clicks=(1.0, 5.5, 11.0)),
                  backend.needs())
    ctx = ItemContext(PromptItem("ads", 0, "clip", "a clip"), PromptAnnotation(), "paper", {"device": "auto"})
    try:
        measured = backend.measure(clip, ctx)
    finally:
        backend.close()
    assert measured.status == "ok", measured.message
    assert measured.evidence["windows"] == 2 and measured.evidence["device"] == "cpu"
    assert set(measured.evidence["axes"]) == {"CE", "CU", "PC", "PQ"}
    np.save(tmp_path / "audio.npy", clip.audio[16000])
    expected = run_in_env(str(model_envs.env_python(ENV)), EXPECTED_PQ, weights / "checkpoint.pt", tmp_path / "audio.npy")
    assert measured.raw == pytest.approx(json.loads(expected)["pq"], abs=1e-3)


def test_eval_stores_the_row_with_the_model_and_its_environment(ready_env, tmp_path):
    from avgenbench.cli import app
    from avgenbench.store import Store

    (tmp_path / "suite" / "prompts").mkdir(parents=True)
    (tmp_path / "suite" / "prompts" / "ads.json").write_text(json.dumps([{"content": "drum", "prompt": "a drum."}]))
    make_clip(tmp_path / "model_x" / "ads" / "drum.mp4", duration=3.0, width=160, height=90)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "model_x"), "--suite", str(tmp_path / "suite"), "--out",
                                      str(out), "--tier", "paper", "--dimensions", "aud", "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    with Store.open_existing(out) as store:
        rows = store.results("model_x")
    (row,) = [r for r in rows if r.dimension == "aud"]
    assert row.status == "ok" and row.tier == "paper" and row.raw is not None, row.message
    assert row.backend == "aud-audiobox-aesthetics-pq" and row.evidence["windows"] == 1
    stamp = model_envs.stamp(ENV)
    assert stamp["spec"] in row.backend_version and stamp["weights"]["checkpoint.pt"][:12] in row.backend_version
