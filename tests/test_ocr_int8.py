"""The int8 text detector: built from the wheel's model into the cache, and reading what the fp32 one reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from avgenbench.annotations import PromptAnnotation
from avgenbench.dimensions import text
from avgenbench.dimensions.text import DETECT_SIDE, OcrEngine, TextOcrLite, join_lines, normalize_text
from avgenbench.perception import ocr_int8
from avgenbench.runner import Unit, run_unit
from avgenbench.suite import PromptItem
from avgenbench.synthetic.encode import write_clip

pytest.importorskip("rapidocr")
pytest.importorskip("onnx")

# (font size, string): 16-20 px fonts are 12-15 px high at 960 px wide
LINES = ((16, "Limited Edition"), (20, "Station Road 42"), (32, "OPEN 24 HOURS"), (64, "Try it free"))
SCENES = ("dark", "bright", "texture", "coffee", "chelsea", "faces")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    old = os.environ.get("AVGENBENCH_CACHE_DIR")
    os.environ["AVGENBENCH_CACHE_DIR"] = str(root)
    yield root
    if old is None:
        os.environ.pop("AVGENBENCH_CACHE_DIR")
    else:
        os.environ["AVGENBENCH_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def int8_model(cache) -> Path:
    return text.detector_model("int8")


@pytest.fixture(scope="module")
def engines(int8_model):
    return OcrEngine(threads=1, det_model=text.detector_model("fp32")), OcrEngine(threads=1, det_model=int8_model)


def scene(kind: str, seed: int = 3) -> np.ndarray:
    from avgenbench.synthetic.av_probes import scene_frames
    from avgenbench.synthetic.faces import paste_face

    if kind == "dark":
        return np.full((540, 960, 3), (12, 14, 24), np.uint8)
    if kind == "bright":
        return np.full((540, 960, 3), (238, 236, 228), np.uint8)
    import cv2

    crop = scene_frames("texture" if kind == "faces" else kind, duration=1.0, fps=1, width=720, height=405, seed=seed)[0]
    image = cv2.resize(crop, (960, 540), interpolation=cv2.INTER_LINEAR)
    if kind == "faces":
        paste_face(image, "hopper", 700, 300, 360)
    return image


def captioned(kind: str) -> np.ndarray:
    from avgenbench.synthetic.text_render import draw_text

    image = scene(kind)
    y = 30
    for size, line in LINES:
        under = float(image[y:y + size, 60:60 + 10 * size].mean())
        colour = (250, 250, 250) if under < 128 else (10, 10, 10)
        draw_text(image, line, 60, y, size, color=colour)
        y += int(size * 1.9) + 20
    return image


def test_built_once_into_the_cache_deterministically(cache, int8_model):
    det, _ = text._model_files()
    assert int8_model.parent == cache / "models"
    assert int8_model.name.startswith(det.stem) and f"c{ocr_int8.CALIBRATION_VERSION}" in int8_model.name
    assert not list(int8_model.parent.glob("*.part"))
    stamp = int8_model.stat().st_mtime_ns
    assert text.detector_model("int8") == int8_model and int8_model.stat().st_mtime_ns == stamp  # reused, not rebuilt
    import onnx

    model = onnx.load(str(int8_model))
    ops = {n.op_type for n in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    again = cache / "again.onnx"
    ocr_int8.build(det, again, DETECT_SIDE)
    assert again.read_bytes() == int8_model.read_bytes()


def test_calibration_frames_are_what_the_detector_sees():
    frames = ocr_int8.calibration_frames()
    assert frames and all(max(f.shape[:2]) == 960 and f.dtype == np.uint8 for f in frames)
    assert any(f.shape[0] > f.shape[1] for f in frames)  # portrait too
    x = ocr_int8.detector_input(frames[0], DETECT_SIDE)
    assert x.shape == (1, 3, 352, 640) and x.dtype == np.float32  # 960x540 -> 640x360 -> multiples of 32
    assert -1.0 <= float(x.min()) and float(x.max()) <= 1.0


def test_the_calibration_set_is_drawn_without_synthetic():
    """The int8 build runs at first use on the user's machine, so its calibration frames are production code: drawing
    a face scene with captions loads no avgenbench.synthetic module."""
    script = ("import sys, json, numpy as np\nfrom avgenbench.perception import ocr_int8\n"
              "rng = np.random.default_rng(0)\nimage = ocr_int8._background('faces', rng, 480, 270)\nplain = image.copy()\n"
              "ocr_int8._caption(image, rng, lines=3)\n"
              "print(json.dumps([int((image != plain).any()), sorted(m for m in sys.modules if 'synthetic' in m)]))")
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [1, []]


@pytest.mark.parametrize("kind", SCENES)
def test_int8_reads_what_fp32_reads(engines, kind):
    fp32, int8 = engines
    image = captioned(kind)
    ref, got = fp32.read(image), int8.read(image)
    ref_lines = [normalize_text(t) for t, _ in join_lines(ref)]
    got_lines = [normalize_text(t) for t, _ in join_lines(got)]
    assert got_lines == ref_lines
    for _size, line in LINES[1:]:  # the test means something: fp32 reads the strings from 15 px up
        assert normalize_text(line) in ref_lines, (kind, line, ref_lines)
    centres = np.array([b.mean(axis=0) for _, _, b in got])
    for _, _, box in ref:
        nearest = got[int(np.argmin(np.abs(centres - box.mean(axis=0)).sum(axis=1)))][2]
        assert float(np.abs(nearest - box).max()) <= 8.0  # px at 960 wide: ~5 px where the detector looks


@pytest.fixture(scope="module")
def textless_clip(tmp_path_factory):
    frames = [scene(kind, seed=i) for i, kind in enumerate(("texture", "coffee", "chelsea", "faces", "dark", "bright"))]
    path = tmp_path_factory.mktemp("clips") / "textless.mp4"
    write_clip(path, [f for f in frames for _ in range(4)], fps=4)
    return path


def _measure(path: Path, options: dict):
    annotation = PromptAnnotation(required_text=["Grand Opening"]).model_dump(mode="json")
    item = PromptItem("test", 0, "textless", "a scene with a sign", {}, None)
    return run_unit(Unit(item, str(path), ["text"], "lite", annotation, options)).measurements[0]


def test_a_clip_without_text_reads_nothing(int8_model, textless_clip):
    _, backend, version, m, _, _ = _measure(textless_clip, {})
    assert m.status == "ok" and m.raw == 0.0
    assert m.evidence["other_text"] == [] and not m.evidence["required"][0]["seen"]
    assert m.evidence["detector"].endswith(f"int8 (calibrated v{ocr_int8.CALIBRATION_VERSION})")
    assert (backend, version) == TextOcrLite().identity({})


def test_fp32_on_request_and_never_mixed(int8_model):
    backend = TextOcrLite()
    int8_id, fp32_id = backend.identity({}), backend.identity({"ocr_detector": "fp32"})
    assert int8_id != fp32_id and int8_id[1].startswith(TextOcrLite.version) and "fp32" in fp32_id[1]
    assert backend.unavailable_reason({"ocr_detector": "fp32"}) is None
    assert backend.engine({"ocr_detector": "fp32"}) is not backend.engine({})
    assert "unknown ocr_detector" in backend.unavailable_reason({"ocr_detector": "fp16"})


def test_a_failed_build_is_reported_not_replaced_by_fp32(monkeypatch, tmp_path):
    monkeypatch.setenv("AVGENBENCH_CACHE_DIR", str(tmp_path))

    def broken(source, out, detect_side, method=ocr_int8.CALIBRATION_METHOD):
        Path(out).write_bytes(b"half a model")
        raise ValueError("calibration diverged")

    monkeypatch.setattr(ocr_int8, "build", broken)
    backend = TextOcrLite()
    reason = backend.unavailable_reason({})
    assert "could not build the int8 text detector" in reason and "calibration diverged" in reason and "fp32" in reason
    assert [p.suffix for p in (tmp_path / "models").iterdir()] == [".lock"]  # no model, no partial file left
    assert backend.unavailable_reason({"ocr_detector": "fp32"}) is None


def test_missing_onnx_is_reported(monkeypatch, tmp_path):
    import sys

    monkeypatch.setenv("AVGENBENCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now fails as if it were not installed
    reason = TextOcrLite().unavailable_reason({})
    assert "needs the 'onnx' package" in reason and "fp32" in reason
