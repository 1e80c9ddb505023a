"""Replicate's predictions API over REST (the protocol of the `replicate` client): POST a prediction for an
official model -> GET /v1/predictions/{id} -> `output` URL.

Key: REPLICATE_API_TOKEN. Default model google/veo-3.1 (4, 6 or 8 s, so 10 s asks for 8; other models get
--duration as given). A failed prediction whose error says the input or output was flagged
(E005) is a refusal.
"""

from __future__ import annotations

from ...suite import PromptItem
from ..base import DONE, FAILED, REFUSED, RUNNING, Poll
from ..rest import REFUSAL_WORDS, RestProvider
from .veo import veo_duration


class ReplicateProvider(RestProvider):
    name = "replicate"
    key_env = ("REPLICATE_API_TOKEN",)
    default_model = "google/veo-3.1"
    default_base_url = "https://api.replicate.com"
    base_url_env = "REPLICATE_BASE_URL"
    poll_interval = 5.0

    def submit_call(self, item: PromptItem):
        o = self.options
        duration = veo_duration(o.duration) if self.model.startswith("google/veo") else int(round(o.duration))
        inputs = {"prompt": item.prompt, "duration": duration, "resolution": o.resolution,
                  "aspect_ratio": o.aspect_ratio, "generate_audio": o.audio, **o.extra}
        return "POST", f"/v1/models/{self.model}/predictions", {"input": inputs}

    def job_id_from(self, reply):
        return reply.get("id")

    def poll_call(self, job_id: str):
        return "GET", f"/v1/predictions/{job_id}"

    def poll_from(self, reply) -> Poll:
        status = reply.get("status", "")
        if status == "succeeded":
            output = reply["output"]
            return Poll(DONE, url=output[0] if isinstance(output, list) else output)
        if status in ("failed", "canceled", "aborted"):
            error = str(reply.get("error") or status)
            refused = "E005" in error or any(w in error.lower() for w in REFUSAL_WORDS)
            return Poll(REFUSED if refused else FAILED, reason=error[:300])
        return Poll(RUNNING)
