"""An int8 copy of rapidocr's text detector, built on this machine at first use and cached.

The PP-OCR detection model inside the rapidocr wheel is quantised statically (int8 weights per channel, uint8
activations, QDQ format) after calibration on frames drawn with pictures.py (production code; the synthetic generator
draws with it too): captions 12-96 px (font size) at 960 px wide, light on dark and dark on light, over flat dark and
bright scenes, gradients, textures, photographs and faces, some with grain, and frames with no text at all. The frames go through rapidocr's own detector preprocessing at
the Text dimension's detector size, so the calibration sees exactly what the detector sees.

The built model lives in `models/` under the cache root (cachedir.py: `$AVGENBENCH_CACHE_DIR`, else
`$XDG_CACHE_HOME/avgenbench`, else `~/.cache/avgenbench`) under a name keyed by the source model's sha256, the
onnxruntime and onnx versions and CALIBRATION_VERSION; it is written to a temporary file and renamed into place, so
worker processes that race to build it never see a partial file (a lock file lets one of them build while the others
wait). Nothing is downloaded.

Limits: onnxruntime's int8 kernels differ by CPU; on x86 without VNNI the u8s8 convolution can saturate, so the reading
may stray further from fp32 there than on the VNNI machine these checks ran on (tests/test_ocr_int8.py shows it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from ..cachedir import cache_root
from ..media import file_sha256
from ..pictures import draw_text, head_crop, paste_head, scene_frames, text_size

CALIBRATION_VERSION = 1  # bump when the calibration frames or the quantisation settings change
CALIBRATION_SEED = 20260
CALIBRATION_METHOD = "minmax"
OPSET = 17  # per-channel QDQ needs opset >= 13; the wheel's det model is opset 11
WIDTH, HEIGHT = 960, 540
WORDS = ("SALE", "Open 24h", "EXIT", "Breaking News", "Chapter 3", "coffee & tea", "WELCOME HOME", "No. 42",
         "Try it free", "EIGHTY-SEVEN", "live at 9pm", "Subscribe", "The End", "Route 66", "price $19.99",
         "Quiet please", "Level 7", "AVGen", "hello world", "SCORE 3:1", "Station Road", "100% cotton")
FONT_SIZES = (12, 14, 16, 18, 22, 28, 36, 48, 64, 80, 96)


def cache_dir() -> Path:
    """Where built models are kept (see the module docstring)."""
    return cache_root() / "models"


def cache_key(source: Path, detect_side: int) -> str:
    import onnx
    import onnxruntime

    parts = (file_sha256(source), onnxruntime.__version__, onnx.__version__, CALIBRATION_VERSION, CALIBRATION_METHOD,
             detect_side)
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def cached_path(source: Path, detect_side: int) -> Path:
    return cache_dir() / f"{source.stem}.int8-c{CALIBRATION_VERSION}.{cache_key(source, detect_side)}.onnx"


# calibration frames -------------------------------------------------------------------------------------------------

def _background(kind: str, rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    import cv2

    if kind == "dark":
        return np.full((height, width, 3), rng.integers(5, 35, 3), np.uint8)
    if kind == "bright":
        return np.full((height, width, 3), rng.integers(215, 250, 3), np.uint8)
    if kind == "gradient":
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        lo, hi = rng.uniform(0, 120, 3), rng.uniform(130, 255, 3)
        u = (xx / width * 0.6 + yy / height * 0.4)[..., None]
        return (lo + (hi - lo) * u).astype(np.uint8)
    if kind == "faces":
        image = _background("texture", rng, width, height)
        for k, identity in enumerate(("astronaut", "hopper")):
            paste_head(image, head_crop(identity), int(width * (0.3 + 0.4 * k)), height // 2, int(height * 0.7))
        return image
    # a procedural texture or a skimage photograph, panned crop scaled up to the frame
    crop = scene_frames(kind, duration=1.0, fps=1, width=720, height=405, seed=int(rng.integers(1000)))[0]
    if width < height:
        crop = np.ascontiguousarray(np.rot90(crop))
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)


def _caption(image: np.ndarray, rng: np.random.Generator, lines: int) -> None:
    """Draw `lines` strings of random sizes, colours and styles (plain, on a box) in place, top to bottom."""
    height, width = image.shape[:2]
    y = int(rng.integers(4, 30))
    for _ in range(lines):
        size = int(rng.choice(FONT_SIZES))
        text = str(rng.choice(WORDS))
        w, h = text_size(text, size)
        if y + h + 8 > height:
            break
        if w + 8 < width:
            x = int(rng.integers(4, width - w - 4))
            under = float(image[y:y + h, x:x + w].mean())
            light = under < 128 if rng.random() < 0.85 else under >= 128  # mostly contrasting, sometimes not
            colour = tuple(int(c) for c in (rng.integers(200, 256, 3) if light else rng.integers(0, 60, 3)))
            box = None
            if rng.random() < 0.3:
                box = tuple(int(c) for c in (rng.integers(0, 50, 3) if light else rng.integers(190, 256, 3)))
            draw_text(image, text, x, y, size, color=colour, box=box, bold=bool(rng.random() < 0.7))
        y += int(h * rng.uniform(1.6, 3.0)) + 6


def calibration_frames(seed: int = CALIBRATION_SEED) -> list[np.ndarray]:
    """Deterministic RGB frames (longer side 960) with and without text over varied scenes (see module docstring)."""
    rng = np.random.default_rng(seed)
    scenes = ("dark", "bright", "gradient", "texture", "astronaut", "coffee", "chelsea", "rocket", "faces", "texture")
    frames = []
    for k, scene in enumerate(scenes):
        portrait = k == 6
        width, height = (HEIGHT, WIDTH) if portrait else (WIDTH, HEIGHT)
        base = _background(scene, rng, width, height)
        if k % 3 == 0:
            frames.append(base.copy())  # no text
        image = base.copy()
        _caption(image, rng, lines=int(rng.integers(3, 7)))
        frames.append(image)
        if k % 2 == 1:  # film grain over text
            noisy = image.astype(np.float32) + rng.normal(0, rng.uniform(6, 18), image.shape)
            frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return frames


def detector_input(image: np.ndarray, detect_side: int) -> np.ndarray:
    """The tensor rapidocr's detector is given for `image` at limit_side_len=detect_side, limit_type='max' (frames at
    the Text dimension's sizes pass rapidocr's whole-image bounds and padding steps unchanged)."""
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    return DetPreProcess(detect_side, "max", [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])(image)


# building -----------------------------------------------------------------------------------------------------------

class _Frames:
    """onnxruntime CalibrationDataReader over fixed input tensors."""

    def __init__(self, name: str, tensors: list[np.ndarray]):
        self._feeds = [{name: t} for t in tensors]
        self._items = iter(self._feeds)

    def get_next(self):
        return next(self._items, None)

    def rewind(self):
        self._items = iter(self._feeds)


# MinMax was chosen by measurement against the fp32 detector on 89 held-out frames (calibration_frames with three
# other seeds, and frames of rendered clips): 0.73 % of probability-map pixels on the other side of the 0.3 threshold
# (Percentile 0.53 %, Entropy 0.50 %), yet the same lines read on all but 7-9 frames for each of the three (a
# marginal box appearing or vanishing, one letter of a word flipping); MinMax builds in ~7 s against ~25 s for Entropy,
# and the histogram methods need every calibration frame in one shape (no portrait frame). reduce_range (7-bit weights)
# doubled the disagreement.
CALIBRATION_METHODS = {"minmax": "MinMax", "percentile": "Percentile", "entropy": "Entropy"}


def build(source: Path, out: Path, detect_side: int, method: str = CALIBRATION_METHOD) -> None:
    """Quantise `source` into `out` (overwritten), calibrated on `calibration_frames()` by `method`."""
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    tensors = [detector_input(f, detect_side) for f in calibration_frames()]
    with tempfile.TemporaryDirectory(prefix="avgenbench-int8-") as tmp:
        upgraded, prepared = Path(tmp) / "opset.onnx", Path(tmp) / "prepared.onnx"
        onnx.save(version_converter.convert_version(onnx.load(str(source)), OPSET), str(upgraded))
        quant_pre_process(str(upgraded), str(prepared), skip_symbolic_shape=True)
        name = onnx.load(str(prepared)).graph.input[0].name
        quantize_static(str(prepared), str(out), _Frames(name, tensors), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=getattr(CalibrationMethod, CALIBRATION_METHODS[method]))


def int8_detector(source: Path, detect_side: int) -> Path:
    """The cached int8 model for `source`, built first when missing. Raises RuntimeError saying why it cannot be."""
    try:
        import onnx  # noqa: F401
        from onnxruntime.quantization import quantize_static  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(f"building the int8 text detector needs the 'onnx' package ({exc})") from exc
    target = cached_path(source, detect_side)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(target):  # workers starting together build it once; the others wait, then find it
        if target.is_file():
            return target
        fd, partial = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
        os.close(fd)
        try:
            build(source, Path(partial), detect_side)
            os.replace(partial, target)  # atomic: a reader finds nothing or the whole file
        except Exception as exc:
            raise RuntimeError(f"could not build the int8 text detector from {source.name}: "
                               f"{type(exc).__name__}: {exc}") from exc
        finally:
            if os.path.exists(partial):
                os.remove(partial)
    return target


@contextlib.contextmanager
def _build_lock(target: Path):
    """An exclusive advisory lock next to `target` where the platform has one (else none: the rename keeps it safe)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(target.with_suffix(".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
