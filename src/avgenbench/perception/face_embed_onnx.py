"""dlib's 128-d face-recognition ResNet run on onnxruntime, with the weights read from the wheel's own .dat file.

dlib's `compute_face_descriptor` costs ~75 ms per face in the `dlib-bin` wheel (no BLAS); the same network as an ONNX
graph on onnxruntime takes a few ms. The graph is built in memory from `dlib_resnet.read_network` (nothing is
downloaded or shipped) and mirrors dlib's forward pass layer by layer:
- input: RGB chip, (value - channel mean) / 256, channels R, G, B;
- con: cross-correlation with bias, symmetric zero padding as stored in the file (1 for 3x3/1, 0 for stride 2);
- affine: per-channel gamma * x + beta (dlib's frozen batch norm);
- max_pool / avg_pool: floor-sized windows with the stored padding; avg_pool of size 0 averages the whole map;
- add_prev: the two tensors are added after zero-padding the smaller one at the end of each of channels, rows and
  columns (dlib adds tensors of different shapes that way, e.g. 3x3 + 4x4 in the 256-filter down-sampling block);
- fc (no bias): x @ W with W stored (inputs, outputs).
Outputs match dlib's to float32 rounding (max |diff| < 1e-6 on real chips; see tests/test_face_embed_onnx.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from avgenbench.executor import thread_share
from avgenbench.perception.dlib_resnet import Network, read_network

OPSET = 17


def _out_size(size: int, window: int, stride: int, padding: int) -> int:
    return 1 + (size + 2 * padding - window) // stride


def build_model(net: Network):
    """The network as an onnx.ModelProto: input `chips` (N, S, S, 3) uint8 RGB, output `descriptors` (N, 128)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list = []
    inits: list = []
    count = [0]

    def name(prefix: str) -> str:
        count[0] += 1
        return f"{prefix}{count[0]}"

    def const(prefix: str, array: np.ndarray) -> str:
        key = name(prefix)
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), key))
        return key

    def node(op: str, inputs: list[str], **attrs) -> str:
        out = name(op.lower())
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    size = net.image_size
    x = node("Cast", ["chips"], to=TensorProto.FLOAT)
    x = node("Sub", [x, const("mean", np.array(net.layers[0].means, np.float32))])
    x = node("Div", [x, const("scale", np.array(256.0, np.float32))])
    x = node("Transpose", [x], perm=[0, 3, 1, 2])
    shape = (3, size, size)  # (channels, rows, cols) of the current tensor
    tags: dict[int, tuple[str, tuple[int, int, int]]] = {}
    for layer in net.layers[1:]:
        channels, rows, cols = shape
        if layer.kind == "con":
            p = layer.padding
            x = node("Conv", [x, const("w", layer.weights), const("b", layer.bias)],
                     kernel_shape=[layer.size, layer.size], strides=[layer.stride] * 2, pads=[p, p, p, p])
            shape = (layer.filters, _out_size(rows, layer.size, layer.stride, p),
                     _out_size(cols, layer.size, layer.stride, p))
        elif layer.kind == "affine":
            x = node("Mul", [x, const("gamma", layer.weights.reshape(1, -1, 1, 1))])
            x = node("Add", [x, const("beta", layer.bias.reshape(1, -1, 1, 1))])
        elif layer.kind == "relu":
            x = node("Relu", [x])
        elif layer.kind in ("max_pool", "avg_pool") and layer.size == 0:
            x = node("GlobalMaxPool" if layer.kind == "max_pool" else "GlobalAveragePool", [x])
            shape = (channels, 1, 1)
        elif layer.kind in ("max_pool", "avg_pool"):
            p = layer.padding
            attrs = {} if layer.kind == "max_pool" else {"count_include_pad": 0}
            x = node("MaxPool" if layer.kind == "max_pool" else "AveragePool", [x], kernel_shape=[layer.size] * 2,
                     strides=[layer.stride] * 2, pads=[p, p, p, p], **attrs)
            shape = (channels, _out_size(rows, layer.size, layer.stride, p), _out_size(cols, layer.size, layer.stride, p))
        elif layer.kind == "tag":
            tags[layer.tag] = (x, shape)
        elif layer.kind == "skip":
            x, shape = tags[layer.tag]
        elif layer.kind == "add_prev":
            other, other_shape = tags[layer.tag]
            joint = tuple(max(a, b) for a, b in zip(shape, other_shape))
            x = node("Add", [_pad_to(x, shape, joint, const, node), _pad_to(other, other_shape, joint, const, node)])
            shape = joint
        elif layer.kind == "fc":
            x = node("Flatten", [x], axis=1)
            x = node("MatMul", [x, const("fc", layer.weights)])
        else:
            raise ValueError(f"no ONNX mapping for dlib layer '{layer.kind}'")
    nodes[-1].output[0] = "descriptors"
    graph = helper.make_graph(
        nodes, "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chips", TensorProto.UINT8, ["n", size, size, 3])],
        [helper.make_tensor_value_info("descriptors", TensorProto.FLOAT, ["n", net.layers[-1].filters])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="avgenbench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _pad_to(x: str, shape: tuple[int, int, int], joint: tuple[int, int, int], const, node) -> str:
    """Zero-pad (N, C, H, W) `x` at the end of C, H and W up to `joint` (no-op when it already has that shape)."""
    if shape == joint:
        return x
    after = [j - s for s, j in zip(shape, joint)]
    return node("Pad", [x, const("pads", np.array([0, 0, 0, 0, 0, *after], np.int64))], mode="constant")


class FaceEmbedder:
    """The face ResNet as an onnxruntime session: `embed_chips` maps (N, 150, 150, 3) uint8 chips to (N, 128)."""

    name = "onnx-dlib-resnet-v1"

    def __init__(self, dat_path: str | Path, threads: int | None = None):
        import onnxruntime as ort

        net = read_network(dat_path)
        self.chip_size = net.image_size
        model = build_model(net)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or thread_share() or min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def embed_chips(self, chips: np.ndarray) -> np.ndarray:
        chips = np.ascontiguousarray(chips, dtype=np.uint8)
        if chips.ndim == 3:
            chips = chips[None]
        if chips.shape[1:] != (self.chip_size, self.chip_size, 3):
            raise ValueError(f"face chips must be {self.chip_size}x{self.chip_size} RGB, got {chips.shape[1:]}")
        return self.session.run(["descriptors"], {"chips": chips})[0]
