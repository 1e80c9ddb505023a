"""Face's paper model end to end on CPU: `setup paper` builds the insightface environment (insightface 0.7.3 built
from its sdist, onnxruntime), a buffalo_l pack of ONNX models is written with the pack's file names and the input and
output shapes insightface's model_zoo routes by (random recogniser weights; a detector whose weights are set by hand),
and a clip's faces are found and embedded in the worker and scored by the Face backend in this process.

The detector is an SCRFD-shaped network (three strides, two anchors, scores, boxes and five key points) set so that it
fires exactly on a 32 px cell of its input that is bright: the clip holds one bright square, so each frame has one
face, whose box is centred on the cell's anchor (its top-left corner) and 64 px wide in the detector's input. Nothing
here checks the real buffalo_l weights.

Packages come from the index (pip's own configuration) or from AVGENBENCH_PAPER_WHEELHOUSE (with --no-index).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from avgenbench import model_envs
from avgenbench.annotations import PromptAnnotation
from avgenbench.dimensions import get_backend
from avgenbench.paper_workers.insightface import PACK
from avgenbench.runner import Unit, run_unit
from avgenbench.suite import FaceRange, PromptItem
from avgenbench.synthetic.encode import write_clip
from conftest import ready_paper_env, run_in_env

pytestmark = pytest.mark.slow
ENV = "insightface"
SQUARE = (96, 64, 16)  # x, y, side in the 320x240 clip: the detector (640 px input, scale 2) sees cell (6, 4) at 32 px

BUFFALO_L = """
import sys
from pathlib import Path
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)
folder = Path(sys.argv[1])
folder.mkdir(parents=True, exist_ok=True)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array, np.float32), name)


def save(graph, name):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / name))


def detector():
    # SCRFD's outputs: scores (3 strides), boxes (3), key points (3); 2 anchors per place; rows (y, x, anchor).
    nodes, inits, outs = [], [], {"score": [], "bbox": [], "kps": []}
    for stride in (8, 16, 32):
        for head, per_anchor in (("score", 1), ("bbox", 4), ("kps", 10)):
            name = f"{head}_{stride}"
            weight = np.zeros((2 * per_anchor, 3, stride, stride), np.float32)
            bias = np.zeros(2 * per_anchor, np.float32)
            if head == "score":
                if stride == 32:  # fires where the cell's mean (normalised) brightness is above 0.5
                    weight[:] = 20.0 / (3 * stride * stride)
                    bias[:] = -10.0
                else:
                    bias[:] = -20.0
            elif head == "bbox":
                bias[:] = 1.0  # one stride each way from the anchor: a 64 px box at stride 32
            else:
                bias[:] = np.tile([-0.4, -0.3, 0.4, -0.3, 0.0, 0.0, -0.3, 0.4, 0.3, 0.4], 2)
            inits += [const(name + "_w", weight), const(name + "_b", bias)]
            nodes.append(helper.make_node("Conv", ["input.1", name + "_w", name + "_b"], [name + "_conv"],
                                          kernel_shape=[stride, stride], strides=[stride, stride], name=name + "_c"))
            last = name + "_conv"
            if head == "score":
                nodes.append(helper.make_node("Sigmoid", [last], [name + "_sig"], name=name + "_s"))
                last = name + "_sig"
            nodes.append(helper.make_node("Transpose", [last], [name + "_t"], perm=[0, 2, 3, 1], name=name + "_tr"))
            inits.append(numpy_helper.from_array(np.array([-1, per_anchor], np.int64), name + "_shape"))
            nodes.append(helper.make_node("Reshape", [name + "_t", name + "_shape"], [name], name=name + "_r"))
            outs[head].append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [f"rows_{stride}", per_anchor]))
    image = helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, "?", "?"])
    save(helper.make_graph(nodes, "scrfd", [image], outs["score"] + outs["bbox"] + outs["kps"], inits), "det_10g.onnx")


def pooled(name, side, outputs, file, batch=1):
    # Conv -> ReLU -> mean over the image -> a random projection: input (batch, 3, side, side), output (batch, outputs).
    inits = [const("c_w", rng.normal(0, 0.2, (16, 3, 4, 4))), const("c_b", np.zeros(16)),
             const("p_w", rng.normal(0, 1.0, (16, outputs))), const("p_b", rng.normal(0, 0.1, outputs))]
    nodes = [helper.make_node("Conv", ["data", "c_w", "c_b"], ["c"], kernel_shape=[4, 4], strides=[4, 4], name="conv0"),
             helper.make_node("Relu", ["c"], ["r"], name="relu0"),
             helper.make_node("GlobalAveragePool", ["r"], ["g"], name="pool0"),
             helper.make_node("Flatten", ["g"], ["f"], name="flat0"),
             helper.make_node("Gemm", ["f", "p_w", "p_b"], ["fc1"], name="fc0")]
    image = helper.make_tensor_value_info("data", TensorProto.FLOAT, [batch, 3, side, side])
    out = helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [batch, outputs])
    save(helper.make_graph(nodes, name, [image], [out], inits), file)


detector()
pooled("arcface", 112, 512, "w600k_r50.onnx", batch="None")
pooled("landmark3d", 192, 3309, "1k3d68.onnx")
pooled("landmark2d", 192, 212, "2d106det.onnx")
pooled("genderage", 96, 3, "genderage.onnx")
"""

ROUTES = """
import json, sys
from insightface.model_zoo import get_model
from pathlib import Path
print(json.dumps({p.name: type(get_model(str(p), providers=["CPUExecutionProvider"])).__name__
                  for p in sorted(Path(sys.argv[1]).glob("*.onnx"))}))
"""


@pytest.fixture(scope="module")
def ready_env(tmp_path_factory):
    yield from ready_paper_env(tmp_path_factory, ENV, lambda python, folder: run_in_env(python, BUFFALO_L, folder / PACK))
    backend = get_backend("face", "paper")
    if backend is not None:
        backend.close()


def _square_clip(path, seconds: float = 2.0):
    x, y, side = SQUARE
    frame = np.full((240, 320, 3), 20, np.uint8)
    frame[y:y + side, x:x + side] = 250
    return write_clip(path, (frame for _ in range(int(seconds * 12))), 12, None, 16000)


def test_model_zoo_routes_the_pack_files_by_their_shapes(ready_env):
    _, weights = ready_env
    routes = json.loads(run_in_env(str(model_envs.env_python(ENV)), ROUTES, weights / PACK).splitlines()[-1])
    assert routes == {"1k3d68.onnx": "Landmark", "2d106det.onnx": "Landmark", "det_10g.onnx": "RetinaFace",
                      "genderage.onnx": "Attribute", "w600k_r50.onnx": "ArcFaceONNX"}


def test_each_frame_has_the_one_face_the_detector_was_set_to_find(ready_env, tmp_path):
    from avgenbench.dimensions.base import ItemContext
    from avgenbench.dimensions.face import InsightFaceInEnv
    from avgenbench.media import decode

    backend = InsightFaceInEnv()
    assert backend.unavailable_reason({}) is None
    clip = decode(_square_clip(tmp_path / "square.mp4"), backend.needs())
    ctx = ItemContext(PromptItem("ads", 0, "square", "a face"), PromptAnnotation(), "paper", {"device": "auto"})
    try:
        measured = backend.measure(clip, ctx)
    finally:
        backend.close()
    assert measured.status == "ok", measured.message
    found = measured.evidence["detections"]
    assert measured.evidence["frames"] == 4 and measured.evidence["device"] == "cpu"  # 2 fps over 2 s
    assert [d["frame"] for d in found] == [0, 1, 2, 3]  # one face per frame
    x, y, _ = SQUARE
    for d in found:  # centred on the cell's anchor, 64 px in the detector's input = 32 px in the clip
        x1, y1, x2, y2 = d["box"]
        assert (x1 + x2) / 2 == pytest.approx(x, abs=1) and (y1 + y2) / 2 == pytest.approx(y, abs=1)
        assert x2 - x1 == pytest.approx(32, abs=1) and d["score"] > 0.99
        assert len(d["embedding"]) == 512 and np.linalg.norm(d["embedding"]) == pytest.approx(1.0, abs=1e-4)
    first = np.asarray(found[0]["embedding"])
    assert all(np.dot(first, d["embedding"]) > 0.99 for d in found)  # the same still square in every frame


def test_face_paper_scores_the_environments_detections(ready_env, tmp_path):
    annotation = PromptAnnotation(faces=FaceRange(min_ids=1, max_ids=1)).model_dump()
    unit = Unit(PromptItem("ads", 0, "square", "one person"), str(_square_clip(tmp_path / "square.mp4")), ["face"],
                "paper", annotation, {"device": "cpu"})
    _, backend, version, m = run_unit(unit).measurements[0][:4]
    assert backend == "face-insightface" and f"env:1+{model_envs.stamp(ENV)['spec']}+{PACK}:" in version
    assert m.status == "ok", (m.status, m.message)
    assert m.evidence["detections"] == 4 and m.evidence["primary_ids"] == 1 and m.evidence["stability"] == 1.0
    assert m.raw == pytest.approx(100.0)  # one identity, as expected, and the same in every frame
    assert m.evidence["detector"] == f"InsightFace {PACK} in the {ENV} environment"
