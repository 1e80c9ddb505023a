"""Local LTX-2 (open weights, audio + video in one pass) through diffusers' `LTX2Pipeline`, on a GPU.

--model is a Hugging Face id or a local folder of a saved pipeline (default Lightricks/LTX-2; weights must
already be on disk or reachable). Synchronous: `submit` renders the clip into OUT/.staging/<job id>.mp4 (video
and the pipeline's audio at the vocoder's sample rate), `poll` finds it, `download` moves it into place.
Defaults: 10 s at 24 fps (241 frames, the 8k+1 the model needs), 720p 16:9 as 1280x704 (multiples of 32),
30 steps; any call argument of the pipeline can be set through Options.extra (e.g. num_inference_steps).
No per-video fee: the price table lists it at 0.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from ...suite import PromptItem
from ..base import DONE, FAILED, Fatal, Poll, Provider, lazy_import
from .synthetic import SyntheticProvider

SIZES = {("720p", "16:9"): (1280, 704), ("720p", "9:16"): (704, 1280), ("480p", "16:9"): (768, 512),
         ("1080p", "16:9"): (1920, 1088), ("720p", "1:1"): (704, 704)}


def frame_count(seconds: float, fps: float) -> int:
    """Frames for `seconds`, rounded to the 8k+1 LTX-2 accepts."""
    return int(round(seconds * fps / 8)) * 8 + 1


class LTX2Provider(Provider):
    name = "ltx2"
    default_model = "Lightricks/LTX-2"
    poll_interval = 0.0
    max_concurrency = 1

    def __init__(self, options=None, base_url=None):
        super().__init__(options, base_url)
        self._pipe = None
        self._lock = threading.Lock()  # one render at a time on the device

    def check(self) -> None:
        lazy_import("torch", "generate-ltx2")
        diffusers = lazy_import("diffusers", "generate-ltx2")
        if not hasattr(diffusers, "LTX2Pipeline"):
            raise Fatal(f"diffusers {diffusers.__version__} has no LTX2Pipeline; install diffusers>=0.42")

    def pipeline(self):
        if self._pipe is None:
            torch = lazy_import("torch", "generate-ltx2")
            diffusers = lazy_import("diffusers", "generate-ltx2")
            cuda = torch.cuda.is_available()
            dtype = torch.bfloat16 if cuda else torch.float32
            try:
                pipe = diffusers.LTX2Pipeline.from_pretrained(self.model, torch_dtype=dtype)
            except (OSError, ValueError) as exc:
                raise Fatal(f"ltx2: cannot load {self.model}: {exc}"[:400]) from None
            self._pipe = pipe.to("cuda") if cuda else pipe
        return self._pipe

    def call_arguments(self, item: PromptItem) -> dict[str, Any]:
        o = self.options
        width, height = SIZES.get((o.resolution, o.aspect_ratio), (1280, 704))
        fps = float(o.extra.get("frame_rate", 24.0))
        args = {"prompt": item.prompt, "width": width, "height": height, "frame_rate": fps,
                "num_frames": frame_count(o.duration, fps), "num_inference_steps": 30}
        args.update(o.extra)
        return args

    def submit(self, item: PromptItem) -> str:
        torch = lazy_import("torch", "generate-ltx2")
        args = self.call_arguments(item)
        seed = int(args.pop("seed", 0))
        with self._lock:
            pipe = self.pipeline()
            generator = torch.Generator(device=pipe.device).manual_seed(seed)
            video, audio = pipe(**args, generator=generator, output_type="np", return_dict=False)
            rate = int(getattr(pipe.vocoder.config, "output_sampling_rate", 24000))
        frames = [np.clip(np.asarray(f) * 255.0 + 0.5, 0, 255).astype(np.uint8) for f in video[0]]
        sound = None
        if self.options.audio and audio is not None:
            wave = audio[0].float().cpu().numpy() if hasattr(audio[0], "float") else np.asarray(audio[0])
            sound = np.clip(wave.T if wave.ndim == 2 else wave, -1.0, 1.0).astype(np.float32)
        from ...synthetic.encode import write_clip

        job_id = uuid.uuid4().hex
        self.staging.mkdir(parents=True, exist_ok=True)
        write_clip(self.staging / f"{job_id}.mp4", frames, args["frame_rate"], audio=sound, sample_rate=rate)
        return job_id

    def poll(self, job_id: str) -> Poll:
        found = self.staging / f"{job_id}.mp4"
        return Poll(DONE, url=str(found)) if found.is_file() else Poll(FAILED, reason=f"render of job {job_id} is gone")

    def download(self, poll: Poll, dest: Path) -> None:
        SyntheticProvider.download(self, poll, dest)
