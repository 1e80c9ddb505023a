"""Deterministic pictures from assets that ship offline with our dependencies.

Captions in DejaVu Sans (shipped with matplotlib), procedural colour textures, scikit-image photographs panned over
time, and real faces (scikit-image's `astronaut`, matplotlib's `grace_hopper.jpg`, four faces of scikit-image's LFW
subset) as square head crops pasted into frames. Production code draws with these (the int8 OCR detector's calibration
frames, perception/ocr_int8.py), and so does the synthetic generator above it; changing what they draw changes the
int8 detector's calibration (bump ocr_int8.CALIBRATION_VERSION).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# ---- text ----


@lru_cache(maxsize=8)
def font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / name), size)


def text_size(text: str, size: int, bold: bool = True) -> tuple[int, int]:
    left, top, right, bottom = font(size, bold).getbbox(text)
    return right - left, bottom - top


def draw_text(image: np.ndarray, text: str, x: int, y: int, size: int, color=(255, 255, 255),
              box: tuple[int, int, int] | None = None, bold: bool = True) -> tuple[int, int, int, int]:
    """Draw `text` with its top-left at (x, y) in place; optional solid box behind it. Returns the text's bbox."""
    pil = Image.fromarray(image)
    draw = ImageDraw.Draw(pil)
    f = font(size, bold)
    left, top, right, bottom = draw.textbbox((x, y), text, font=f)
    if box is not None:
        pad = max(2, size // 5)
        draw.rectangle((left - pad, top - pad, right + pad, bottom + pad), fill=tuple(box))
    draw.text((x, y), text, font=f, fill=tuple(color))
    image[...] = np.asarray(pil)
    return left, top, right, bottom


# ---- scenes ----


def texture(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth-plus-detailed random colour texture (uint8 RGB), never flat."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    out = np.zeros((height, width, 3), np.float32)
    for sigma, weight in ((24.0, 1.0), (6.0, 0.6), (1.5, 0.35)):
        layer = gaussian_filter(rng.standard_normal((height, width, 3)).astype(np.float32), (sigma, sigma, 0))
        out += weight * layer / (layer.std() + 1e-6)
    out = 128 + 38 * out
    return np.clip(out, 0, 255).astype(np.uint8)


def photo(name: str) -> np.ndarray:
    """A scikit-image sample photograph (a skimage.data name) as uint8 RGB."""
    from skimage import color, data

    image = getattr(data, name)()
    if image.ndim == 2:
        image = color.gray2rgb(image)
    return image[..., :3].astype(np.uint8)


def scene(kind: str, seed: int) -> np.ndarray:
    """A photograph (a skimage.data name) or a procedural texture ('texture'), at least 720 x 420."""
    if kind == "texture":
        return texture(420, 720, seed)
    image = photo(kind)
    from skimage.transform import resize

    scale = max(420 / image.shape[0], 720 / image.shape[1])
    if scale > 1:
        image = (resize(image, (int(image.shape[0] * scale) + 1, int(image.shape[1] * scale) + 1), order=1) * 255)
    return image.astype(np.uint8)


def scene_frames(kind: str, duration: float = 3.0, fps: float = 24, width: int = 480, height: int = 270,
                 seed: int = 0) -> list[np.ndarray]:
    """A slow diagonal pan over a photograph (a skimage.data name) or a procedural texture ('texture')."""
    picture = scene(kind, seed)
    n = int(round(duration * fps))
    span_x, span_y = picture.shape[1] - width, picture.shape[0] - height
    out = []
    for i in range(n):
        u = i / max(1, n - 1)
        x, y = int(round(u * min(span_x, 1.5 * n))), int(round(u * min(span_y, 0.5 * n)))
        out.append(np.ascontiguousarray(picture[y:y + height, x:x + width]))
    return out


# ---- faces ----

CROP = 256
LFW_FACES = (1, 5, 6, 18)  # indices into skimage's lfw_subset.npy


def list_identities() -> list[str]:
    """Names of the distinct real identities available offline."""
    return ["astronaut", "hopper"] + [f"lfw{i:02d}" for i in LFW_FACES]


@lru_cache(maxsize=None)
def face_source(identity: str) -> tuple[np.ndarray, tuple[float, float, float]]:
    """(RGB image, (face centre x, centre y, face size)) of an identity's photograph."""
    if identity == "astronaut":
        from skimage import data

        return data.astronaut(), (220.0, 122.0, 91.0)
    if identity == "hopper":
        import matplotlib.cbook

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
            image = np.asarray(Image.open(fh).convert("RGB"))
        return image, (273.0, 232.0, 187.0)
    if identity.startswith("lfw") and identity[3:].isdigit() and int(identity[3:]) in LFW_FACES:
        from skimage import data

        faces = np.load(os.path.join(os.path.dirname(data.__file__), "lfw_subset.npy"))
        grey = np.asarray(Image.fromarray((faces[int(identity[3:])] * 255).astype(np.uint8)).resize((150, 150), Image.BICUBIC))
        grey = np.pad(grey, 90, mode="edge")
        return np.repeat(grey[:, :, None], 3, axis=2), (165.0, 160.0, 125.0)
    raise KeyError(f"unknown identity {identity!r}; known: {', '.join(list_identities())}")


@lru_cache(maxsize=None)
def head_crop(identity: str) -> np.ndarray:
    """The identity's square head crop (CROP x CROP x 3 uint8 RGB), face box at about half its height."""
    image, (cx, cy, size) = face_source(identity)
    half = size  # the crop spans twice the face size
    box = (int(cx - half), int(cy - half * 1.05), int(cx + half), int(cy + half * 0.95))
    pad = max(0, -box[0], -box[1], box[2] - image.shape[1], box[3] - image.shape[0])
    if pad:
        image = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
        box = tuple(v + pad for v in box)
    crop = image[box[1]:box[3], box[0]:box[2]]
    return np.asarray(Image.fromarray(crop).resize((CROP, CROP), Image.BICUBIC))


@lru_cache(maxsize=64)
def head_alpha(size: int) -> np.ndarray:
    """A feathered ellipse covering the head, so the crop's square border never shows."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    r = np.sqrt(((xx - size / 2) / (size * 0.46)) ** 2 + ((yy - size / 2) / (size * 0.5)) ** 2)
    return np.clip((1.0 - r) / 0.12, 0, 1)[:, :, None]


def paste_head(frame: np.ndarray, crop: np.ndarray, cx: int, cy: int, height: int) -> None:
    """Paste a head crop, `height` px tall, centred at (cx, cy) into `frame` ((H, W, 3) uint8 RGB) in place, through
    head_alpha; parts outside the frame are clipped."""
    size = max(8, int(height))
    head = np.asarray(Image.fromarray(crop).resize((size, size), Image.BILINEAR))
    alpha = head_alpha(size)
    x0, y0 = int(cx) - size // 2, int(cy) - size // 2
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(frame.shape[1], x0 + size), min(frame.shape[0], y0 + size)
    if fx1 <= fx0 or fy1 <= fy0:
        return
    part = head[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0].astype(np.float32)
    a = alpha[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    region = frame[fy0:fy1, fx0:fx1].astype(np.float32)
    frame[fy0:fy1, fx0:fx1] = (part * a + region * (1 - a)).astype(np.uint8)
