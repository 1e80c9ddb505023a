"""Lip, paper tier: SyncNet v2 with the S3FD face detector (`syncnet-python`), run in the `syncnet` environment.

The package's pipeline detects and tracks faces, crops each track and scores it with SyncNet. The rule is SyncNet's:
per track, the distance between lip and audio features is averaged over the clip at each audio shift of −15…+15
frames; the offset is the shift at the minimum and the confidence is the median distance minus that minimum. Our part
is the reduction over tracks: the raw value is the mean |offset| in frames at 25 fps over the tracks whose confidence is
at least 1.0; a clip with no such track is not scored (`inconclusive`), one with no face track at all is `no_face`.
`offset_and_confidence` states the per-track rule on a distance matrix so it can be checked by hand.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass

import numpy as np

from ..dimensions.base import Measurement, Status
from .common import PaperWorker
from .identities import SYNCNET

MAX_SHIFT = 15  # frames each way (vshift)
MIN_CONFIDENCE = 1.0
FPS = 25


def offset_and_confidence(distances: np.ndarray, max_shift: int = MAX_SHIFT) -> tuple[int, float, float]:
    """distances: (frames, 2·max_shift+1), column j the distance at audio shift j − max_shift.
    Returns (offset, confidence, minimum distance): offset = max_shift − argmin of the per-shift mean."""
    table = np.asarray(distances, dtype=float)
    if table.ndim != 2 or table.shape[1] != 2 * max_shift + 1:
        raise ValueError(f"expected (frames, {2 * max_shift + 1}) distances, got {table.shape}")
    mean = table.mean(axis=0)
    best = int(np.argmin(mean))
    return max_shift - best, float(np.median(mean) - mean[best]), float(mean[best])


@dataclass(frozen=True)
class LipResult:
    status: str
    raw: float | None
    confident: int  # tracks with confidence >= MIN_CONFIDENCE
    tracks: int


def lip_offset(offsets: list[int], confidences: list[float], min_confidence: float = MIN_CONFIDENCE) -> LipResult:
    """Mean |offset| (frames) over the confident tracks; no track → no_face, none confident → inconclusive."""
    if len(offsets) != len(confidences):
        raise ValueError("one confidence per offset expected")
    if not offsets:
        return LipResult(Status.NO_FACE, None, 0, 0)
    kept = [abs(int(o)) for o, c in zip(offsets, confidences) if c >= min_confidence]
    if not kept:
        return LipResult(Status.INCONCLUSIVE, None, 0, len(offsets))
    return LipResult(Status.OK, float(np.mean(kept)), len(kept), len(offsets))


def _ffmpeg_on_path() -> None:
    """The pipeline calls `ffmpeg` by name: when none is on PATH, expose imageio-ffmpeg's binary under that name."""
    import shutil

    if shutil.which("ffmpeg"):
        return
    import imageio_ffmpeg

    # In the model's own environment, not a shared temporary folder: a link left there by an environment since
    # deleted would point nowhere (and block a new one) on the next run.
    folder = os.path.join(sys.prefix, "avgen-bin")
    os.makedirs(folder, exist_ok=True)
    link = os.path.join(folder, "ffmpeg")
    target = imageio_ffmpeg.get_ffmpeg_exe()
    if not os.path.lexists(link) or os.path.realpath(link) != os.path.realpath(target):
        staged = f"{link}.{os.getpid()}"
        os.symlink(target, staged)
        os.replace(staged, link)  # atomic: a worker starting at the same time sees the old link or the new one
    os.environ["PATH"] = folder + os.pathsep + os.environ.get("PATH", "")


class SyncNetLip(PaperWorker, identity=SYNCNET):
    def _build(self, weights):
        from syncnet_python import SyncNetPipeline

        _ffmpeg_on_path()
        return SyncNetPipeline({"s3fd_weights": str(weights / "sfd_face.pth"),
                                "syncnet_weights": str(weights / "syncnet_v2.model"),
                                "vshift": MAX_SHIFT, "frame_rate": FPS}, device=self._device)

    def measure(self, clip, ctx) -> Measurement:
        if not clip.has_audio:
            return Measurement(Status.NO_AUDIO_STREAM, message="SyncNet needs the audio track")
        pipeline = self._load()
        with tempfile.TemporaryDirectory(prefix="avgen-syncnet-") as work:
            offsets, confidences, distances, *_ = pipeline.inference(os.fspath(clip.path), None, cache_dir=work)
        result = lip_offset(list(offsets), list(confidences))
        evidence = {"tracks": [{"offset": int(o), "confidence": round(float(c), 3), "min_dist": round(float(d), 3)}
                               for o, c, d in zip(offsets, confidences, distances)],
                    "confident_tracks": result.confident, "min_confidence": MIN_CONFIDENCE, "device": self._device}
        message = {Status.NO_FACE: "no face track of at least 50 frames was found",
                   Status.INCONCLUSIVE: f"no face track reached confidence {MIN_CONFIDENCE}"}.get(result.status, "")
        return Measurement(result.status, result.raw, evidence, message)


if __name__ == "__main__":
    from ..worker import serve

    serve(SyncNetLip())
