"""`setup paper`: a model's own environment built from a local package source, its weights placed and checked, and a
backend measuring through a worker in that environment, end to end, with a stand-in model package."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from avgenbench import model_envs
from avgenbench.model_envs import ModelEnv, SetupError, WeightFile

STUB_WORKER = '''"""A stand-in model: mean brightness of the frames times the scale in its weights file."""
import json
import os
from pathlib import Path

from avgenbench.dimensions.base import Backend, Measurement, Status
from avgenbench.media import FrameSpec, MediaNeeds
from avgenbench.worker import serve

SPEC = FrameSpec(2.0, 64, True)


class StubModel(Backend):
    name = "stub-model"
    version = "1"
    tier = "paper"

    def __init__(self):
        weights = Path(os.environ["AVGENBENCH_MODEL_WEIGHTS"]) / "scale.json"
        self.scale = json.loads(weights.read_text())["scale"]

    def needs(self):
        return MediaNeeds(frames=(SPEC,), audio_rates=())

    def measure(self, clip, ctx):
        images = clip.frames_for(SPEC).images
        return Measurement(Status.OK, float(images.mean()) * self.scale,
                           {"frames": len(images), "device": os.environ.get("AVGENBENCH_MODEL_DEVICE")})


if __name__ == "__main__":
    serve(StubModel())
'''


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(folder: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A minimal pure-Python wheel (PEP 427) holding `files`."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    contents = {path: text.encode() for path, text in files.items()}
    contents[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    contents[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: avgenbench-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = [_record_line(path, data) for path, data in contents.items()] + [f"{info}/RECORD,,"]
    contents[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        for member, data in contents.items():
            whl.writestr(member, data)
    return path


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    """A local package source: the worker protocol's own dependencies (numpy, pydantic, at the versions installed
    here) and the stand-in model package."""
    house = tmp_path_factory.mktemp("wheelhouse")
    import pydantic

    wanted = [f"numpy=={np.__version__}", f"pydantic=={pydantic.VERSION}"]
    done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary", ":all:", "-d", str(house),
                           *wanted], capture_output=True, text=True)
    if done.returncode != 0:
        message = f"cannot fill a local wheel folder from the package index: {done.stderr.strip()[-300:]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    make_wheel(house, "avgb-stub-model", "0.1", {"avgb_stub_model/__init__.py": "", "avgb_stub_model/worker.py": STUB_WORKER})
    return house


@pytest.fixture
def stub_env(monkeypatch, tmp_path):
    monkeypatch.setenv("AVGENBENCH_CACHE_DIR", str(tmp_path / "cache"))
    spec = ModelEnv("stub", "vis", "a stand-in model", ("avgb-stub-model==0.1",),
                    (WeightFile("scale.json", "http://127.0.0.1:9/unreachable/scale.json"),),
                    worker="avgb_stub_model.worker")
    monkeypatch.setattr(model_envs, "MODEL_ENVS", {"stub": spec})
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "scale.json").write_text(json.dumps({"scale": 0.5}))
    return spec, weights


def test_setup_builds_the_environment_once_and_the_worker_measures_in_it(wheelhouse, stub_env, tmp_path):
    spec, weights = stub_env
    assert not model_envs.state("stub").ready
    assert "avgenbench setup paper --dimensions vis" in model_envs.state("stub").fix
    log: list[str] = []
    states = model_envs.setup(["stub"], weights, [wheelhouse], no_index=True, log=log.append)
    assert states["stub"].ready, states["stub"].missing
    assert any("--no-index" in line for line in log)
    stamp = model_envs.stamp("stub")
    assert stamp["spec"] == spec.spec_hash()
    assert stamp["weights"]["scale.json"] == hashlib.sha256((weights / "scale.json").read_bytes()).hexdigest()
    python = model_envs.env_python("stub")
    built = python.stat().st_mtime_ns

    again: list[str] = []
    model_envs.setup(["stub"], weights, [wheelhouse], no_index=True, log=again.append)
    assert again == ["stub: ready (" + str(model_envs.env_dir("stub")) + ")"]
    assert python.stat().st_mtime_ns == built

    # Isolated: the stand-in model and the protocol's dependencies, none of this installation's (no onnxruntime).
    probe = subprocess.run([str(python), "-c", "import avgb_stub_model, numpy, pydantic, importlib.util as u;"
                            "print(u.find_spec('onnxruntime') is None)"], capture_output=True, text=True)
    assert probe.stdout.strip() == "True", probe.stderr

    from avgenbench.dimensions.in_env import ModelEnvBackend
    from avgenbench.media import FrameSpec, MediaNeeds, decode
    from clipmaker import make_clip

    class StubBackend(ModelEnvBackend):
        name, version, env_name = "stub-model", "1", "stub"
        media = MediaNeeds(frames=(FrameSpec(2.0, 64, True),), audio_rates=())

    backend = StubBackend()
    assert backend.unavailable_reason({}) is None
    assert backend.identity({})[1].startswith("1+" + spec.spec_hash())
    video = make_clip(tmp_path / "clip.mp4", duration=2.0)
    clip = decode(video, backend.needs())
    from avgenbench.annotations import PromptAnnotation
    from avgenbench.dimensions.base import ItemContext
    from avgenbench.suite import PromptItem

    ctx = ItemContext(PromptItem("ads", 0, "clip", "a clip"), PromptAnnotation(), "paper", {"device": "cpu"})
    try:
        measured = backend.measure(clip, ctx)
    finally:
        backend.close()
    assert measured.status == "ok", measured.message
    expected = float(clip.frames_for(FrameSpec(2.0, 64, True)).images.mean()) * 0.5
    assert measured.raw == pytest.approx(expected)
    assert measured.evidence == {"frames": 4, "device": "cpu"}


def test_a_weight_file_with_the_wrong_checksum_is_refused(wheelhouse, stub_env, monkeypatch):
    spec, weights = stub_env
    pinned = ModelEnv(spec.name, spec.dimension, spec.model, spec.requirements,
                      (WeightFile("scale.json", spec.weights[0].url, "0" * 64),), worker=spec.worker)
    monkeypatch.setattr(model_envs, "MODEL_ENVS", {"stub": pinned})
    with pytest.raises(SetupError, match="SHA-256"):
        model_envs.setup(["stub"], weights, [wheelhouse], no_index=True, log=lambda line: None)
    assert not model_envs.state("stub").ready


def test_missing_weights_without_internet_say_how_to_bring_them(wheelhouse, stub_env, tmp_path):
    with pytest.raises(SetupError, match="pass --weights DIR"):
        model_envs.setup(["stub"], tmp_path / "empty", [wheelhouse], no_index=True, log=lambda line: None)
    assert not model_envs.state("stub").ready


@pytest.mark.parametrize("inside", ["", "buffalo_l/"])
def test_a_fetched_zip_archive_becomes_the_weights_folder(tmp_path, inside):
    archive = tmp_path / "buffalo_l.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(f"{inside}det_10g.onnx", b"det")
        zipped.writestr(f"{inside}w600k_r50.onnx", b"rec")
    target = tmp_path / "weights" / "buffalo_l"
    target.parent.mkdir()
    model_envs._fetch(WeightFile("buffalo_l", archive.as_uri()), target, None, lambda line: None)
    assert sorted(p.name for p in target.iterdir()) == ["det_10g.onnx", "w600k_r50.onnx"]
    assert (target / "det_10g.onnx").read_bytes() == b"det"
    assert sorted(p.name for p in target.parent.iterdir()) == ["buffalo_l"]  # no archive or staging left


def test_every_paper_model_is_pinned():
    from packaging.requirements import Requirement

    for env in model_envs.MODEL_ENVS.values():
        assert env.worker.startswith("avgenbench.paper_workers."), env.name
        for line in env.requirements:
            req = Requirement(line)
            assert req.specifier, f"{env.name}: {line} is not pinned"
        if env.repo:
            assert len(env.repo.commit) == 40 and int(env.repo.commit, 16) >= 0, env.name
    dims = {env.dimension for env in model_envs.MODEL_ENVS.values()}
    assert {"vis", "aud", "av", "lip", "lo_phy", "face", "speech"} <= dims
