"""Reader for dlib's serialized face-recognition ResNet (`dlib_face_recognition_resnet_model_v1.dat`).

The file holds one `anet_type` network of dlib's face-recognition example, written by dlib's own binary serializer:
integers as a control byte (low 4 bits: byte count, bit 7: sign) followed by little-endian bytes; reals as an integer
mantissa and exponent; strings as length + bytes; bools as the characters '0'/'1'; tensors (version 2) as four dims
and raw little-endian float32. A network is written outside-in: every wrapper (loss, layer, tag, skip) first writes
its version, so the file starts with the versions of all wrappers from the loss down to the input, then the input
layer, then each computational layer's details from the input upward, each followed by bookkeeping (flags and empty
training tensors).

`read_network` checks every wrapper and layer against the architecture below and returns the layers bottom-up with
their parameters as numpy arrays; anything unexpected raises `DlibModelError` with the byte offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class DlibModelError(ValueError):
    """The .dat file is not the network this reader knows (truncated, corrupt or another architecture)."""


@dataclass
class Layer:
    """One step of the network, bottom-up. kind: input, con, affine, relu, max_pool, avg_pool, add_prev, tag, skip, fc.

    `tag` is the tag number for tag/skip/add_prev; conv/pool fields are (filters, size, stride, padding)."""

    kind: str
    tag: int = 0
    filters: int = 0
    size: int = 0  # window rows = cols (0: the whole input, for avg_pool_everything)
    stride: int = 1
    padding: int = 0
    weights: np.ndarray | None = None  # con: (out, in, size, size); affine: gamma (C,); fc: (inputs, outputs)
    bias: np.ndarray | None = None  # con: (out,); affine: beta (C,)
    means: tuple[float, float, float] = (0.0, 0.0, 0.0)  # input: per-channel RGB means
    image_size: int = 0  # input: chip rows = cols


@dataclass
class Network:
    layers: list[Layer] = field(default_factory=list)  # bottom-up, input first

    @property
    def image_size(self) -> int:
        return self.layers[0].image_size


def _ares(filters: int) -> list[Layer]:
    """dlib's `ares`: relu(add_prev1(affine(con(relu(affine(con(tag1(x)))))))) with 3x3 convs of stride 1."""
    return [Layer("tag", tag=1), Layer("con", filters=filters, size=3, stride=1), Layer("affine"), Layer("relu"),
            Layer("con", filters=filters, size=3, stride=1), Layer("affine"), Layer("add_prev", tag=1), Layer("relu")]


def _ares_down(filters: int) -> list[Layer]:
    """dlib's `ares_down`: the block starts with a stride-2 conv; the skip path is avg_pool 2x2/2 of the block's input."""
    return [Layer("tag", tag=1), Layer("con", filters=filters, size=3, stride=2), Layer("affine"), Layer("relu"),
            Layer("con", filters=filters, size=3, stride=1), Layer("affine"), Layer("tag", tag=2),
            Layer("skip", tag=1), Layer("avg_pool", size=2, stride=2), Layer("add_prev", tag=2), Layer("relu")]


def expected_layers() -> list[Layer]:
    """The face-recognition `anet_type`, bottom-up (parameters empty)."""
    layers = [Layer("input", image_size=150), Layer("con", filters=32, size=7, stride=2), Layer("affine"),
              Layer("relu"), Layer("max_pool", size=3, stride=2)]
    layers += [layer for _ in range(3) for layer in _ares(32)]
    for filters, plain in ((64, 3), (128, 2), (256, 2)):
        layers += _ares_down(filters) + [layer for _ in range(plain) for layer in _ares(filters)]
    layers += _ares_down(256)
    layers += [Layer("avg_pool", size=0, stride=1), Layer("fc", filters=128)]
    return layers


_DETAIL_NAMES = {"con": "con_4", "affine": "affine_", "relu": "relu_", "max_pool": "max_pool_2",
                 "avg_pool": "avg_pool_2", "add_prev": "add_prev_", "fc": "fc_2"}


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def fail(self, what: str) -> DlibModelError:
        return DlibModelError(f"unexpected content at byte {self.pos} of {len(self.data)}: {what}")

    def take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise self.fail(f"the file ends early (wanted {count} more bytes)")
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def integer(self) -> int:
        control = self.take(1)[0]
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise self.fail(f"bad integer control byte 0x{control:02x}")
        value = int.from_bytes(self.take(size), "little")
        return -value if control & 0x80 else value

    def real(self) -> float:
        mantissa, exponent = self.integer(), self.integer()
        if abs(exponent) > 4000:  # dlib's markers for inf / nan
            return math.nan
        return math.ldexp(mantissa, exponent)

    def string(self) -> str:
        size = self.integer()
        if size > 256:
            raise self.fail(f"string length {size}")
        return self.take(size).decode("latin-1")

    def flag(self) -> bool:
        char = self.take(1)
        if char not in (b"0", b"1"):
            raise self.fail(f"bad bool byte {char!r}")
        return char == b"1"

    def expect_int(self, wanted: int | tuple[int, ...], what: str) -> int:
        value = self.integer()
        allowed = wanted if isinstance(wanted, tuple) else (wanted,)
        if value not in allowed:
            raise self.fail(f"{what} is {value}, expected {' or '.join(map(str, allowed))}")
        return value

    def tensor(self) -> np.ndarray:
        self.expect_int(2, "tensor version")
        dims = [self.integer() for _ in range(4)]
        if min(dims) < 0:
            raise self.fail(f"negative tensor dims {dims}")
        count = math.prod(dims)
        return np.frombuffer(self.take(4 * count), dtype="<f4").astype(np.float32).reshape(dims)

    def alias(self) -> tuple[int, ...]:
        self.expect_int(1, "alias_tensor version")
        return tuple(self.integer() for _ in range(4))


def _read_details(reader: _Reader, layer: Layer, channels: int) -> int:
    """Read one layer's details into `layer` (checked against the architecture); returns its output channels."""
    name = reader.string()
    wanted = _DETAIL_NAMES[layer.kind]
    if name != wanted:
        raise reader.fail(f"layer '{name}' where '{wanted}' was expected")
    if layer.kind == "con":
        params = reader.tensor().ravel()
        shape = [reader.integer() for _ in range(5)]  # filters, rows, cols, stride y, stride x
        pad_y, pad_x = reader.integer(), reader.integer()
        if shape != [layer.filters, layer.size, layer.size, layer.stride, layer.stride] or pad_y != pad_x:
            raise reader.fail(f"con {shape} padding {pad_y},{pad_x} differs from the expected "
                              f"{layer.filters} {layer.size}x{layer.size}/{layer.stride}")
        filters, biases = reader.alias(), reader.alias()
        n_weights = layer.filters * channels * layer.size * layer.size
        if filters != (layer.filters, channels, layer.size, layer.size) or math.prod(biases) != layer.filters \
                or params.size != n_weights + layer.filters:
            raise reader.fail(f"con parameter shapes {filters} {biases} ({params.size} values) for {channels} inputs")
        for _ in range(4):  # learning-rate and weight-decay multipliers
            reader.real()
        layer.padding = pad_y
        layer.weights = params[:n_weights].reshape(filters)
        layer.bias = params[n_weights:].copy()
        return layer.filters
    if layer.kind == "affine":
        params = reader.tensor().ravel()
        gamma, beta = reader.alias(), reader.alias()
        mode = reader.integer()
        if math.prod(gamma) != channels or math.prod(beta) != channels or params.size != 2 * channels or mode != 0:
            raise reader.fail(f"affine shapes {gamma} {beta} mode {mode} for {channels} channels")
        layer.weights, layer.bias = params[:channels].copy(), params[channels:].copy()
        return channels
    if layer.kind in ("max_pool", "avg_pool"):
        rows, cols, stride_y, stride_x, pad_y, pad_x = (reader.integer() for _ in range(6))
        if (rows, cols, stride_y, stride_x) != (layer.size, layer.size, layer.stride, layer.stride) or pad_y != pad_x:
            raise reader.fail(f"{name} {rows}x{cols}/{stride_y},{stride_x} padding {pad_y},{pad_x}")
        layer.padding = pad_y
        return channels
    if layer.kind == "fc":
        outputs, inputs = reader.integer(), reader.integer()
        params = reader.tensor().ravel()
        weights, biases = reader.alias(), reader.alias()
        bias_mode = reader.integer()
        for _ in range(4):
            reader.real()
        if (outputs, inputs) != (layer.filters, channels) or weights != (inputs, outputs, 1, 1) \
                or params.size != inputs * outputs or bias_mode != 1:  # 1: FC_NO_BIAS
            raise reader.fail(f"fc {inputs}->{outputs} weights {weights} bias mode {bias_mode}")
        layer.weights = params.reshape(inputs, outputs)
        return outputs
    return channels  # relu, add_prev: no parameters


def read_network(path: str | Path) -> Network:
    """Parse the face ResNet from `path`; raises DlibModelError (or OSError) when the file is not that network."""
    reader = _Reader(Path(path).read_bytes())
    layers = expected_layers()
    # Header: the loss layer (version, details), then the version of every wrapper from the top down.
    reader.expect_int(1, "loss layer version")
    loss = reader.string()
    if loss not in ("loss_metric_", "loss_metric_2"):
        raise reader.fail(f"loss '{loss}' (expected dlib's loss_metric)")
    reader.real()
    if loss == "loss_metric_2":
        reader.real()
    versions: dict[int, int] = {}
    for layer in layers[:0:-1]:
        if layer.kind in ("tag", "skip"):
            reader.expect_int(1, f"{layer.kind} layer version")
        elif layer is layers[1]:
            versions[id(layer)] = reader.expect_int((2, 3), "version of the layer on the input")
        else:
            versions[id(layer)] = reader.expect_int((1, 2), f"{layer.kind} layer version")
    name = reader.string()
    if name != "input_rgb_image_sized":
        raise reader.fail(f"input layer '{name}' (expected input_rgb_image_sized)")
    means = (reader.real(), reader.real(), reader.real())
    rows, cols = reader.integer(), reader.integer()
    if rows != cols or rows != layers[0].image_size:
        raise reader.fail(f"input size {rows}x{cols}")
    layers[0].means = tuple(float(m) for m in means)
    channels = 3
    tagged: dict[int, int] = {}  # channels of the tensor each tag marks
    for layer in layers[1:]:
        if layer.kind == "tag":
            tagged[layer.tag] = channels
            continue
        if layer.kind == "skip":
            channels = tagged[layer.tag]
            continue  # tags and skips write nothing after their subnetwork
        channels = _read_details(reader, layer, channels)
        if layer.kind == "add_prev":
            channels = max(channels, tagged[layer.tag])  # dlib zero-pads the smaller tensor
        for _ in range(3):
            reader.flag()
        for _ in range(2):
            reader.tensor()  # gradient and cached output (empty in a saved model)
        version = versions[id(layer)]
        if layer is layers[1]:
            reader.tensor()  # gradient of the input
            if version >= 3:
                reader.integer()  # sample expansion factor
        elif version >= 2:
            reader.tensor()  # parameter gradient
    if reader.pos != len(reader.data):
        raise reader.fail(f"{len(reader.data) - reader.pos} bytes left after the last layer")
    return Network(layers)

