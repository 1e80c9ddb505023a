"""dlib's face ResNet re-built on onnxruntime (perception/face_embed_onnx.py) against dlib itself, on real faces."""

from __future__ import annotations

import logging
import statistics
import time

import numpy as np
import pytest

from avgenbench.perception import faces as pf
from avgenbench.perception.dlib_resnet import DlibModelError, expected_layers, read_network
from avgenbench.perception.face_embed_onnx import FaceEmbedder
from avgenbench.synthetic import face_probes as fp
from avgenbench.synthetic.faces import list_identities, paste_face

dlib = pytest.importorskip("dlib")
pytestmark = pytest.mark.skipif(pf.missing_reason() is not None, reason=str(pf.missing_reason()))

TOLERANCE = 1e-3  # per component; float32 rounding differences are ~1e-6


def dat_path():
    return pf.model_dir() / pf.MODEL_FILES["embedding"]


@pytest.fixture(scope="module")
def reference():
    """dlib's own embedder (always loaded here, whatever faces.py picked)."""
    return dlib.face_recognition_model_v1(str(dat_path()))


@pytest.fixture(scope="module")
def embedder():
    return FaceEmbedder(dat_path(), threads=1)


def frame_with(identity: str, cx: int = 320, cy: int = 180, height: int = 220, variant: str = "plain",
               angle: float = 0.0) -> np.ndarray:
    frame = fp.background(seed=5)
    paste_face(frame, identity, cx, cy, height, 0.3, variant)
    if angle:
        from PIL import Image

        frame = np.asarray(Image.fromarray(frame).rotate(angle, resample=Image.BILINEAR, center=(cx, cy)))
    return frame


@pytest.fixture(scope="module")
def faces():
    """(label, frame, dlib shape) for every bundled identity, a mirrored one, and shifted/rotated/smaller faces."""
    cases = [(identity, frame_with(identity)) for identity in list_identities()]
    cases += [("astronaut mirrored", frame_with("astronaut", variant="mirror")),
              ("hopper shifted, rotated 14 deg", frame_with("hopper", cx=212, cy=205, height=200, angle=14.0)),
              ("lfw05 small, rotated -9 deg", frame_with("lfw05", cx=470, cy=150, height=150, angle=-9.0))]
    models = pf.load_models()
    out = []
    for label, frame in cases:
        boxes = pf.detect_faces(frame)
        assert len(boxes) == 1, f"{label}: {len(boxes)} faces"
        out.append((label, frame, models.landmarks(frame, pf._rect(boxes[0])), boxes[0]))
    return out


def test_network_file_parses_to_the_face_resnet():
    net = read_network(dat_path())
    kinds = [layer.kind for layer in net.layers]
    assert kinds == [layer.kind for layer in expected_layers()]
    assert net.image_size == 150 and np.allclose(net.layers[0].means, (122.782, 117.001, 104.298), atol=1e-3)
    convs = [layer for layer in net.layers if layer.kind == "con"]
    assert len(convs) == 29 and convs[0].weights.shape == (32, 3, 7, 7) and convs[-1].weights.shape == (256, 256, 3, 3)
    assert [c.padding for c in convs[:3]] == [0, 1, 1] and all(c.padding == (0 if c.stride == 2 else 1) for c in convs[1:])
    assert net.layers[-1].kind == "fc" and net.layers[-1].weights.shape == (256, 128)
    assert all(np.isfinite(c.weights).all() and np.isfinite(c.bias).all() for c in convs)


def test_embeddings_match_dlib(faces, reference, embedder):
    assert len(faces) >= 9
    for label, frame, shape, _ in faces:
        expected = np.asarray(reference.compute_face_descriptor(frame, shape), np.float32)
        chip = dlib.get_face_chip(frame, shape, size=pf.CHIP_SIZE, padding=pf.CHIP_PADDING)
        got = embedder.embed_chips(chip)[0]
        assert got.shape == (128,) and got.dtype == np.float32
        assert np.abs(got - expected).max() < TOLERANCE, (label, float(np.abs(got - expected).max()))
    # The identities really differ (the comparison above is not between near-constant vectors).
    vectors = [embedder.embed_chips(dlib.get_face_chip(f, s, size=150, padding=0.25))[0] for _, f, s, _ in faces[:6]]
    distances = [np.linalg.norm(a - b) for i, a in enumerate(vectors) for b in vectors[i + 1:]]
    assert min(distances) > 0.6


def test_batch_equals_single(faces, embedder):
    chips = np.stack([dlib.get_face_chip(f, s, size=150, padding=0.25) for _, f, s, _ in faces[:4]])
    batch = embedder.embed_chips(chips)
    singles = np.stack([embedder.embed_chips(c)[0] for c in chips])
    assert batch.shape == (4, 128) and np.abs(batch - singles).max() < 1e-5
    with pytest.raises(ValueError, match="150x150"):
        embedder.embed_chips(np.zeros((120, 150, 3), np.uint8))


def test_faces_embed_uses_the_fast_embedder(faces, reference):
    assert pf.embedder_name() == "onnx-dlib-resnet-v1"
    label, frame, shape, box = faces[-2]
    points, vector = pf.embed(frame, box)
    assert points.shape == (68, 2)
    expected = np.asarray(reference.compute_face_descriptor(frame, shape), np.float32)
    assert np.abs(vector - expected).max() < TOLERANCE, label


def test_faster_than_dlib(faces, reference, embedder):
    _, frame, shape, _ = faces[1]

    def median_ms(call, n):
        runs = []
        for _ in range(n):
            start = time.perf_counter()
            call()
            runs.append(time.perf_counter() - start)
        return statistics.median(runs) * 1000

    chip = dlib.get_face_chip(frame, shape, size=150, padding=0.25)
    embedder.embed_chips(chip)
    fast = median_ms(lambda: embedder.embed_chips(dlib.get_face_chip(frame, shape, size=150, padding=0.25)), 9)
    slow = median_ms(lambda: reference.compute_face_descriptor(frame, shape), 3)
    assert fast < slow / 3, (fast, slow)


def _corrupt_copies():
    data = dat_path().read_bytes()
    renamed = bytearray(data)
    at = data.index(b"affine_")
    renamed[at:at + 7] = b"afine__"
    fewer_filters = bytearray(data)
    at = data.index(b"con_4") + 5 + 2 + 3 + 6 + 4736 * 4  # first conv: name, tensor header, 4736 floats
    assert fewer_filters[at:at + 2] == b"\x01\x20"  # its num_filters, 32
    fewer_filters[at + 1] = 16
    return [
        ("ends early", data[: len(data) // 2]),
        ("ends early", data[:-1]),
        ("bytes left", data + b"\x00"),
        ("layer 'afine__' where 'affine_' was expected", bytes(renamed)),
        ("con [16, 7, 7, 2, 2]", bytes(fewer_filters)),
        ("bad integer control byte", b"not a dlib network at all"),
    ]


def test_corrupt_or_truncated_file_gives_clear_error(tmp_path):
    for message, content in _corrupt_copies():
        path = tmp_path / "bad.dat"
        path.write_bytes(content)
        with pytest.raises(DlibModelError, match=r"unexpected content at byte \d+") as info:
            read_network(path)
        assert message in str(info.value), (message, str(info.value))
    with pytest.raises(DlibModelError):
        FaceEmbedder(path)


def test_faces_falls_back_to_dlib_when_the_file_is_unexpected(tmp_path, faces, reference, monkeypatch, caplog):
    bad = tmp_path / "truncated.dat"
    bad.write_bytes(dat_path().read_bytes()[:100000])
    build = pf._fast_embedder
    monkeypatch.setattr(pf, "_fast_embedder", lambda path: build(bad))
    monkeypatch.setattr(pf, "_MODELS", None)
    with caplog.at_level(logging.WARNING, logger="avgenbench.faces"):
        assert pf.embedder_name() == "dlib-resnet-v1"
        label, frame, shape, box = faces[0]
        _, vector = pf.embed(frame, box)
    warnings = [r for r in caplog.records if "fall back to dlib" in r.getMessage()]
    assert len(warnings) == 1 and "ends early" in warnings[0].getMessage()
    expected = np.asarray(reference.compute_face_descriptor(frame, shape), np.float32)
    assert np.abs(vector - expected).max() < 1e-6
    # Forced by the environment too, without a warning.
    monkeypatch.setattr(pf, "_MODELS", None)
    monkeypatch.setattr(pf, "_fast_embedder", build)
    monkeypatch.setenv("AVGENBENCH_FACE_EMBEDDER", "dlib")
    caplog.clear()
    assert pf.embedder_name() == "dlib-resnet-v1" and not caplog.records
