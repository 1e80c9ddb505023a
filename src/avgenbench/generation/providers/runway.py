"""Runway's API over REST (what the `runwayml` SDK wraps): POST /v1/text_to_video -> GET /v1/tasks/{id} ->
`output[0]`.

Key: RUNWAYML_API_SECRET. Defaults: model veo3.1 (audio on; 4, 6 or 8 s, so 10 s asks for 8), ratio 1280:720
for 720p 16:9. A failed
task whose failureCode starts with SAFETY is a refusal.
"""

from __future__ import annotations

from ...suite import PromptItem
from ..base import DONE, FAILED, REFUSED, RUNNING, Poll
from ..rest import RestProvider
from .veo import veo_duration

RATIOS = {("720p", "16:9"): "1280:720", ("720p", "9:16"): "720:1280", ("1080p", "16:9"): "1920:1080",
          ("1080p", "9:16"): "1080:1920"}


class RunwayProvider(RestProvider):
    name = "runway"
    key_env = ("RUNWAYML_API_SECRET",)
    default_model = "veo3.1"
    default_base_url = "https://api.dev.runwayml.com"
    base_url_env = "RUNWAYML_BASE_URL"
    poll_interval = 5.0
    api_version = "2024-11-06"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key()}", "X-Runway-Version": self.api_version}

    def submit_call(self, item: PromptItem):
        o = self.options
        veo = self.model.startswith("veo")
        duration = (8 if self.model == "veo3" else veo_duration(o.duration)) if veo else int(round(o.duration))
        body = {"model": self.model, "promptText": item.prompt, "duration": duration,
                "ratio": RATIOS.get((o.resolution, o.aspect_ratio), "1280:720"), **o.extra}
        if self.model.startswith("veo3.1"):  # the audio switch exists for Veo 3.1 (and its fast variant) only
            body.setdefault("audio", o.audio)
        return "POST", "/v1/text_to_video", body

    def job_id_from(self, reply):
        return reply.get("id")

    def poll_call(self, job_id: str):
        return "GET", f"/v1/tasks/{job_id}"

    def poll_from(self, reply) -> Poll:
        status = reply.get("status", "")
        if status == "SUCCEEDED":
            return Poll(DONE, url=reply["output"][0])
        if status in ("FAILED", "CANCELLED"):
            code = str(reply.get("failureCode") or "")
            reason = f"{code}: {reply.get('failure') or status}".strip(": ")
            return Poll(REFUSED if code.startswith("SAFETY") else FAILED, reason=reason[:300])
        return Poll(RUNNING)
