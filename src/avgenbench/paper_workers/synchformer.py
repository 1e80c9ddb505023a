"""AV, paper tier: Synchformer's audio-visual offset (checkpoint 24-01-04T16-39-21), run in the `synchformer`
environment with the model code of its repository at the pinned commit.

Synchformer classifies the offset of a 5 s audio-visual crop into 21 classes evenly spaced over −2…+2 s. Our part: the
raw value of a crop is the expected absolute offset under the model's class probabilities, E|offset| = Σ p_k·|o_k|
(softmax over the class logits); a clip longer than one crop is cut into consecutive crops (the last one ending at the
clip's end) and the clip's value is their mean. Frames arrive at 25 fps and audio mono at 16 kHz, as the model was
trained; the repository's own test transforms then crop and normalise them.
"""

from __future__ import annotations

import numpy as np

from ..dimensions.base import Measurement, Status
from .common import PaperWorker
from .identities import SYNCHFORMER, SYNCHFORMER_CROP_S, SYNCHFORMER_FRAMES

FPS = 25
RATE = 16000
CROP_S = SYNCHFORMER_CROP_S
MAX_OFFSET_S = 2.0
CLASSES = 21
MIN_SIDE = 256  # the repository re-encodes to this shorter side before its 224 centre crop
FRAMES = SYNCHFORMER_FRAMES
CHECKPOINT = "24-01-04T16-39-21.pt"
CONFIG = "cfg-24-01-04T16-39-21.yaml"


def offset_grid(max_offset: float = MAX_OFFSET_S, classes: int = CLASSES) -> np.ndarray:
    """The offset (s) of each class: `classes` values evenly spaced over −max…+max."""
    return np.linspace(-max_offset, max_offset, classes)


def softmax(logits) -> np.ndarray:
    values = np.asarray(logits, dtype=float)
    shifted = np.exp(values - values.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def expected_abs_offset(logits, grid: np.ndarray | None = None) -> float:
    """E|offset| (s) of one crop from its class logits."""
    grid = offset_grid() if grid is None else np.asarray(grid, dtype=float)
    probs = softmax(logits)
    if probs.shape != grid.shape:
        raise ValueError(f"{probs.shape[-1]} logits for {grid.shape[0]} offset classes")
    return float((probs * np.abs(grid)).sum())


def crop_starts(duration: float, crop: float = CROP_S) -> list[float]:
    """Starts (s) of consecutive crops covering the clip; the last ends at the clip's end (so it may overlap the one
    before). A clip shorter than one crop gets none (the model needs a whole crop)."""
    if duration + 1e-6 < crop:
        return []
    count = int(np.ceil(duration / crop - 1e-6))
    starts = [i * crop for i in range(count - 1)] + [max(0.0, duration - crop)]
    return [round(s, 3) for s in starts]


def scale_to_min_side(size: tuple[int, int], min_side: int = MIN_SIDE) -> tuple[int, int]:
    """(height, width) scaled so the shorter side is min_side, both even (as the repository's re-encoding does)."""
    h, w = size
    factor = min_side / min(h, w)
    return int(round(h * factor / 2)) * 2, int(round(w * factor / 2)) * 2


class SynchformerAV(PaperWorker, identity=SYNCHFORMER):
    def _build(self, weights):
        import torch
        from omegaconf import OmegaConf
        from scripts.train_utils import get_model, get_transforms

        cfg = OmegaConf.load(weights / CONFIG)
        # The feature extractors' weights are inside the model checkpoint; older configs name the transformer
        # by a module path the repository has since renamed.
        cfg.model.params.afeat_extractor.params.ckpt_path = None
        cfg.model.params.vfeat_extractor.params.ckpt_path = None
        target = cfg.model.params.transformer.target
        cfg.model.params.transformer.target = target.replace(".modules.feature_selector.", ".sync_model.")
        _, model = get_model(cfg, torch.device(self._device))
        ckpt = torch.load(weights / CHECKPOINT, map_location="cpu")
        model.load_state_dict(ckpt["model"])
        self._cfg = cfg
        self._transform = get_transforms(cfg, ["test"])["test"]
        self._grid = offset_grid(float(cfg.data.max_off_sec),
                                 int(cfg.model.params.transformer.params.off_head_cfg.params.out_features))
        return model.eval()

    def _crop_logits(self, rgb, audio, start: float):
        import torch
        from scripts.train_utils import prepare_inputs

        item = {"video": rgb, "audio": audio, "path": "", "split": "test",
                "meta": {"video": {"fps": [FPS]}, "audio": {"framerate": [RATE]}},
                "targets": {"v_start_i_sec": start, "offset_sec": 0.0}}
        item = self._transform(item)
        batch = torch.utils.data.default_collate([item])
        aud, vid, _ = prepare_inputs(batch, torch.device(self._device))
        with torch.no_grad(), torch.autocast("cuda", enabled=bool(self._cfg.training.use_half_precision)
                                             and self._device.startswith("cuda")):
            _, logits = self._model(vid, aud)
        return logits.float().cpu().numpy()[0]

    def measure(self, clip, ctx) -> Measurement:
        audio = clip.audio.get(RATE)
        frames = clip.frames_for(FRAMES)
        if audio is None or len(audio) == 0:
            return Measurement(Status.NO_AUDIO_STREAM, message="Synchformer needs the audio track")
        duration = min(len(frames.images) / FPS, len(audio) / RATE)
        starts = crop_starts(duration)
        if not starts:
            return Measurement(Status.TOO_SHORT, message=f"{duration:.2f} s is shorter than one {CROP_S:g} s crop")
        import torch

        self._load()
        images = torch.from_numpy(np.ascontiguousarray(frames.images)).permute(0, 3, 1, 2)  # (T, 3, H, W) uint8
        height, width = scale_to_min_side(tuple(images.shape[2:]))
        rgb = torch.nn.functional.interpolate(images.float(), size=(height, width), mode="bilinear",
                                              align_corners=False).clamp(0, 255).to(torch.uint8)
        wave = torch.from_numpy(np.asarray(audio, dtype=np.float32))
        per_crop = [expected_abs_offset(self._crop_logits(rgb, wave, s), self._grid) for s in starts]
        return Measurement(Status.OK, float(np.mean(per_crop)),
                           {"crops": [{"start": s, "e_abs_offset": round(v, 4)} for s, v in zip(starts, per_crop)],
                            "device": self._device, "checkpoint": CHECKPOINT})


if __name__ == "__main__":
    from ..worker import serve

    serve(SynchformerAV())
