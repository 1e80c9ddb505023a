"""What every paper worker shares: the backend skeleton (`PaperWorker`), where its weights are, which device it runs
on, and light signal helpers."""

from __future__ import annotations

import os
from math import gcd
from pathlib import Path
from typing import Any

import numpy as np

from ..dimensions.base import Backend
from ..dimensions.in_env import DEVICE_ENV, WEIGHTS_ENV
from ..media import MediaNeeds
from .identities import Identity


def weights_folder() -> Path:
    """The model's weights folder (set by the evaluating process)."""
    folder = os.environ.get(WEIGHTS_ENV)
    if not folder:
        raise RuntimeError(f"{WEIGHTS_ENV} is not set: run this worker through avgenbench (a paper-tier eval)")
    return Path(folder)


def choose_device(requested: str | None, cuda_available: bool) -> str:
    """The device to load the model on: 'cpu', 'cuda', 'cuda:N', or 'auto' (cuda when the environment's torch sees a
    GPU, else cpu). A CUDA device asked for on a machine without one is an error, not a silent fall-back."""
    wanted = (requested or "cpu").strip().lower()
    if wanted == "auto":
        return "cuda" if cuda_available else "cpu"
    if wanted == "cpu":
        return "cpu"
    if wanted == "cuda" or (wanted.startswith("cuda:") and wanted[5:].isdigit()):
        if not cuda_available:
            raise RuntimeError(f"device {wanted} asked for, but torch in this environment sees no CUDA GPU")
        return wanted
    raise ValueError(f"unknown device {requested!r}: use cpu, cuda, cuda:N or auto")


def torch_device() -> str:
    """choose_device for this process, asking the environment's torch whether a GPU is there."""
    import torch

    return choose_device(os.environ.get(DEVICE_ENV), bool(torch.cuda.is_available()))


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Mono float32 audio resampled by a polyphase filter (scipy), unchanged when the rates agree."""
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected mono audio (1-D), got shape {samples.shape}")
    if from_rate == to_rate:
        return samples
    from scipy.signal import resample_poly

    common = gcd(int(from_rate), int(to_rate))
    return resample_poly(samples, int(to_rate) // common, int(from_rate) // common).astype(np.float32)


def even_indices(count: int, wanted: int) -> list[int]:
    """`wanted` frame indices spread evenly over `count` frames (all of them when there are no more than wanted)."""
    if count <= 0 or wanted <= 0:
        return []
    if count <= wanted:
        return list(range(count))
    return [int((2 * i + 1) * count // (2 * wanted)) for i in range(wanted)]


class PaperWorker(Backend):
    """The backend a paper worker serves. Its name, version and media come from its Identity
    (`class X(PaperWorker, identity=...)`); its model is built once, by `_build`, on the first clip that needs it, on the
    device the evaluating process asked for (`_choose_device`)."""

    tier = "paper"
    media = MediaNeeds()

    def __init_subclass__(cls, identity: Identity | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if identity is not None:
            cls.name, cls.version, cls.media = identity.name, identity.version, identity.needs

    def __init__(self) -> None:
        self._model: Any = None
        self._device = "cpu"

    def needs(self) -> MediaNeeds:
        return self.media

    def _choose_device(self) -> str:
        return torch_device()

    def _build(self, weights: Path) -> Any:
        """The model (whatever `measure` uses of it) on self._device, from the weights folder."""
        raise NotImplementedError

    def _load(self) -> Any:
        if self._model is None:
            self._device = self._choose_device()
            self._model = self._build(weights_folder())
        return self._model
