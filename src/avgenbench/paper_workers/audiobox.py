"""Aud, paper tier: Audiobox-Aesthetics' production quality (PQ, 1–10), run in the `audiobox-aesthetics` environment.

The clip's audio arrives mono at 16 kHz (the rate the model was trained at). Like the package's own predictor, a clip is
cut into 10 s windows (the last one zero-padded and masked), each window is scored, and the clip's value is the mean of
the windows weighted by how much of each window is audio. The network and its checkpoint format are the package's
(`audiobox_aesthetics.model.aes.AesMultiOutput`); its file-level predictor is not used because it imports torchaudio,
which has no build for the pinned torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..dimensions.base import Measurement, Status
from .common import PaperWorker
from .identities import AUDIOBOX

RATE = 16000
WINDOW_S = 10
AXES = ("CE", "CU", "PC", "PQ")
CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class Window:
    start: int  # first sample
    length: int  # samples of audio in it (the rest is padding)
    weight: float  # length / window size


def windows(n_samples: int, rate: int = RATE, seconds: int = WINDOW_S) -> list[Window]:
    """Consecutive windows of `seconds` covering n_samples; the last may be partly audio."""
    size = rate * seconds
    return [Window(start, min(size, n_samples - start), min(size, n_samples - start) / size)
            for start in range(0, n_samples, size)]


def window_batch(audio: np.ndarray, cuts: list[Window], size: int) -> tuple[np.ndarray, np.ndarray]:
    """(wav, mask), each (windows, 1, size): the audio of each window zero-padded, and True where it is audio."""
    wav = np.zeros((len(cuts), 1, size), dtype=np.float32)
    mask = np.zeros((len(cuts), 1, size), dtype=bool)
    for i, cut in enumerate(cuts):
        wav[i, 0, :cut.length] = audio[cut.start:cut.start + cut.length]
        mask[i, 0, :cut.length] = True
    return wav, mask


def weighted_mean(values, weights) -> float:
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    return float((values * weights).sum() / weights.sum())


def strip_prefix(state_dict: dict) -> dict:
    """The checkpoint's keys carry the training wrapper's 'model.' prefix; the network's do not."""
    return {re.sub(r"^model\.", "", key): value for key, value in state_dict.items()}


class AudioboxPQ(PaperWorker, identity=AUDIOBOX):
    def __init__(self) -> None:
        super().__init__()
        self._denorm: dict[str, tuple[float, float]] = {}

    def _build(self, weights):
        import torch
        from audiobox_aesthetics.model.aes import AesMultiOutput

        with open(weights / CHECKPOINT, "rb") as fh:
            ckpt = torch.load(fh, map_location=self._device)
        config = {key: ckpt["model_cfg"][key] for key in (
            "proj_num_layer", "proj_ln", "proj_act_fn", "proj_dropout", "nth_layer", "use_weighted_layer_sum",
            "precision", "normalize_embed", "output_dim")}
        model = AesMultiOutput(**config, target_transform=ckpt["target_transform"])
        model.load_state_dict(strip_prefix(ckpt["state_dict"]))
        self._denorm = {axis: (float(model.target_transform[axis]["mean"]), float(model.target_transform[axis]["std"]))
                        for axis in AXES}
        return model.to(self._device).eval()

    def measure(self, clip, ctx) -> Measurement:
        audio = clip.audio.get(RATE)
        if audio is None or len(audio) == 0:
            return Measurement(Status.NO_AUDIO_STREAM, message="no audio to score")
        import torch

        model = self._load()
        cuts = windows(len(audio))
        wav, mask = window_batch(np.asarray(audio, dtype=np.float32), cuts, RATE * WINDOW_S)
        with torch.inference_mode():
            preds = model({"wav": torch.from_numpy(wav).to(self._device), "mask": torch.from_numpy(mask).to(self._device)})
        weights = [cut.weight for cut in cuts]
        scores = {}
        for axis in AXES:
            mean, std = self._denorm[axis]
            scores[axis] = weighted_mean(preds[axis].float().cpu().numpy() * std + mean, weights)
        return Measurement(Status.OK, scores["PQ"], {"axes": {k: round(v, 4) for k, v in scores.items()},
                                                      "windows": len(cuts), "device": self._device,
                                                      "model": "audiobox-aesthetics (facebook/audiobox-aesthetics)"})


if __name__ == "__main__":
    from ..worker import serve

    serve(AudioboxPQ())
