"""Face, paper tier: InsightFace's buffalo_l pack (SCRFD detection det_10g + ArcFace recognition w600k_r50), run in the
`insightface` environment.

This worker only detects and embeds: on each frame (2 fps, at most 960 px) the detector's faces scoring at least
DET_SCORE, each with its unit-length ArcFace embedding (of the face aligned on its five key points, as insightface's own
`get` does). The Face backend in the evaluating process groups them into identities and scores them
(dimensions/face.score_identities). `detect_and_embed` is the one loop both places use (the evaluating process runs it
itself when `--face-model DIR` names a local pack).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..dimensions.base import Measurement, Status
from ..dimensions.in_env import DEVICE_ENV
from .common import PaperWorker, choose_device
from .identities import INSIGHTFACE, INSIGHTFACE_FRAMES

FRAMES = INSIGHTFACE_FRAMES
DET_SIZE = (640, 640)
DET_SCORE = 0.5
PACK = "buffalo_l"  # the pack's folder under the weights
REC_HINTS = ("w600k", "glint", "arcface", "r100", "r50", "r34", "r18")


def pack_files(folder: str | Path) -> tuple[Path | None, Path | None]:
    """(detector, recogniser) .onnx files of an InsightFace pack: det_* / scrfd*, and the first named like a
    recognition model."""
    root = Path(folder)
    files = sorted(root.glob("*.onnx")) if root.is_dir() else []
    det = next((f for f in files if f.name.startswith("det") or "scrfd" in f.name.lower()), None)
    rec = next((f for f in files if any(h in f.name.lower() for h in REC_HINTS)), None)
    return det, rec


def providers_for(device: str) -> tuple[list, int]:
    """onnxruntime providers for a device ('cpu', 'cuda', 'cuda:N') and insightface's ctx_id (-1: CPU)."""
    if not device.startswith("cuda"):
        return ["CPUExecutionProvider"], -1
    index = int(device.partition(":")[2] or 0)
    return [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"], index


def load_pack(folder: str | Path, device: str = "cpu"):
    """The pack's detector and recogniser through insightface's model_zoo (which routes each file by its input and
    output shapes), prepared for `device`."""
    from insightface.model_zoo import get_model

    det_path, rec_path = pack_files(folder)
    if det_path is None or rec_path is None:
        raise RuntimeError(f"{folder}: no InsightFace detection (det_*.onnx / scrfd*.onnx) and recognition "
                           f"({'/'.join(REC_HINTS)} *.onnx) models")
    providers, ctx_id = providers_for(device)
    det, rec = get_model(str(det_path), providers=providers), get_model(str(rec_path), providers=providers)
    if getattr(det, "taskname", None) != "detection" or getattr(rec, "taskname", None) != "recognition":
        raise RuntimeError(f"InsightFace did not read {det_path.name} as a detector and {rec_path.name} as a "
                           f"recogniser (got {type(det).__name__}, {type(rec).__name__})")
    det.prepare(ctx_id=ctx_id, input_size=DET_SIZE, det_thresh=DET_SCORE)
    rec.prepare(ctx_id=ctx_id)
    return det, rec


def detect_and_embed(det, rec, images) -> list[tuple[int, np.ndarray, np.ndarray, float]]:
    """Per detected face: (frame index, box x1 y1 x2 y2, unit embedding, detector score), frames RGB."""
    from insightface.app.common import Face

    found = []
    for i, image in enumerate(images):
        bgr = np.ascontiguousarray(image[..., ::-1])
        boxes, points = det.detect(bgr, input_size=DET_SIZE)
        for box, kps in zip(boxes, points if points is not None else [None] * len(boxes)):
            if kps is None or box[4] < DET_SCORE:
                continue
            embedding = np.asarray(rec.get(bgr, Face(bbox=box[:4], kps=kps, det_score=box[4])), np.float64)
            found.append((i, np.asarray(box[:4], np.float64), embedding / (np.linalg.norm(embedding) + 1e-12),
                          float(box[4])))
    return found


class InsightFaceDetections(PaperWorker, identity=INSIGHTFACE):
    def _choose_device(self) -> str:
        import onnxruntime  # no torch here: onnxruntime says whether it can use a GPU

        return choose_device(os.environ.get(DEVICE_ENV),
                             "CUDAExecutionProvider" in onnxruntime.get_available_providers())

    def _build(self, weights):
        return load_pack(weights / PACK, self._device)

    def measure(self, clip, ctx) -> Measurement:
        det, rec = self._load()
        images = clip.frames_for(FRAMES).images
        found = detect_and_embed(det, rec, images)
        return Measurement(Status.OK, float(len(found)), {
            "detections": [{"frame": i, "box": [round(float(v), 1) for v in box], "score": round(score, 4),
                            "embedding": [round(float(v), 6) for v in embedding]}
                           for i, box, embedding, score in found],
            "frames": len(images), "device": self._device, "det_size": list(DET_SIZE), "det_score": DET_SCORE})


if __name__ == "__main__":
    from ..worker import serve

    serve(InsightFaceDetections())
