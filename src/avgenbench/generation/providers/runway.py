"""Runway through its official SDK `runwayml` (extra `generate-runway`): `text_to_video.create` -> task id ->
`tasks.retrieve` until SUCCEEDED -> `output[0]`, a signed link that is downloaded.

Key: RUNWAYML_API_SECRET. Endpoint: the SDK's (RUNWAYML_BASE_URL, which the SDK reads itself, else
https://api.dev.runwayml.com; it sends the API version header). Built with max_retries=0: the runner retries.
Defaults: model veo3.1 (audio on; 4, 6 or 8 s, so 10 s asks for 8), ratio 1280:720 for 720p 16:9. --param fields
go into the request body as given (the SDK's extra_body). A failed task whose failureCode starts with SAFETY, or a
submit refused for moderation, is a refusal.
"""

from __future__ import annotations

from typing import Any

from ...suite import PromptItem
from ..base import DONE, FAILED, REFUSED, RUNNING, Poll
from ..sdk import SdkProvider, sdk_timeout
from .veo import veo_duration

RATIOS = {("720p", "16:9"): "1280:720", ("720p", "9:16"): "720:1280", ("1080p", "16:9"): "1920:1080",
          ("1080p", "9:16"): "1080:1920"}


class RunwayProvider(SdkProvider):
    name = "runway"
    key_env = ("RUNWAYML_API_SECRET",)
    default_model = "veo3.1"
    sdk, extra = "runwayml", "generate-runway"
    poll_interval = 5.0

    def make_client(self, runwayml: Any) -> Any:
        return runwayml.RunwayML(api_key=self.key(), base_url=self.base_url, max_retries=0, timeout=sdk_timeout())

    def start(self, item: PromptItem) -> str:
        o = self.options
        veo = self.model.startswith("veo")
        duration = (8 if self.model == "veo3" else veo_duration(o.duration)) if veo else int(round(o.duration))
        fields: dict[str, Any] = {"model": self.model, "prompt_text": item.prompt, "duration": duration,
                                  "ratio": RATIOS.get((o.resolution, o.aspect_ratio), "1280:720")}
        if self.model.startswith("veo3.1"):  # the audio switch exists for Veo 3.1 (and its fast variant) only
            fields["audio"] = o.audio
        task = self.client().text_to_video.create(**fields, extra_body=o.extra or None)
        return task.id

    def state(self, job_id: str) -> Poll:
        task = self.client().tasks.retrieve(job_id)
        status = task.status
        if status == "SUCCEEDED":
            return Poll(DONE, url=task.output[0])
        if status in ("FAILED", "CANCELLED"):
            code = str(getattr(task, "failure_code", None) or "")
            reason = f"{code}: {getattr(task, 'failure', None) or status}".strip(": ")
            return Poll(REFUSED if code.startswith("SAFETY") else FAILED, reason=reason[:300])
        return Poll(RUNNING)  # PENDING, THROTTLED, RUNNING
