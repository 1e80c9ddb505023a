"""Paper-tier backends whose model lives in an environment of its own (model_envs.py, `avgenbench setup paper`).

The evaluating process decodes the video once and hands the model's worker its media (worker.py); the worker runs
`python -m <spec.worker>` inside the model's environment with the weights folder and the device in its environment.
"""

from __future__ import annotations

from typing import Any

from .. import model_envs
from ..media import Clip, MediaNeeds
from .base import Backend, ItemContext, Measurement, Status

WEIGHTS_ENV = "AVGENBENCH_MODEL_WEIGHTS"  # where the worker finds its weights
DEVICE_ENV = "AVGENBENCH_MODEL_DEVICE"  # cpu, cuda, cuda:N (eval --device)


def valid_device(text: str) -> bool:
    """eval --device: cpu, cuda, cuda:N or auto (decided in the worker: cuda when its torch sees a GPU)."""
    value = text.strip().lower()
    return value in ("cpu", "cuda", "auto") or (value.startswith("cuda:") and value[5:].isdigit())


class ModelEnvBackend(Backend):
    """A backend measured by a worker in the environment `env_name`; subclasses set name, version, env_name and
    media needs."""

    tier = "paper"
    env_name = ""
    worker = ""  # the module run in the environment (default: the environment spec's worker)
    media = MediaNeeds()

    def __init__(self) -> None:
        self._worker = None

    def needs(self) -> MediaNeeds:
        return self.media

    def identity(self, options: dict[str, Any]) -> tuple[str, str]:
        # Rows made from another build of the environment (other pins, other weights) are redone.
        stamp = model_envs.stamp(self.env_name)
        weights = ",".join(f"{k}:{v[:12]}" for k, v in sorted(stamp.get("weights", {}).items()))
        return self.name, f"{self.version}+{stamp.get('spec', 'unbuilt')}+{weights or 'no-weights'}"

    def unavailable_reason(self, options: dict[str, Any]) -> str | None:
        state = model_envs.state(self.env_name)
        return None if state.ready else f"{state.reason()}; run `{state.fix}`"

    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement:
        reason = self.unavailable_reason(ctx.options)
        if reason:
            return Measurement(Status.ERROR, message=reason)
        return self._ensure_worker(ctx.options).measure(clip, ctx)

    def _ensure_worker(self, options: dict[str, Any]):
        if self._worker is None:
            from ..worker import SubprocessBackend

            spec = model_envs.MODEL_ENVS[self.env_name]
            env = {WEIGHTS_ENV: str(model_envs.weights_dir(self.env_name)),
                   DEVICE_ENV: str(options.get("device") or "cpu")}
            self._worker = SubprocessBackend([str(model_envs.env_python(self.env_name)), "-m", self.worker or spec.worker],
                                             self.name, self.version, self.tier, self.needs(), env=env)
        return self._worker

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None
