"""fal.ai's queue over REST (the protocol of `fal-client`): POST queue.fal.run/{model} -> GET
.../requests/{id}/status until COMPLETED -> GET .../requests/{id} for the result's `video.url`.

Key: FAL_KEY (sent as `Authorization: Key ...`). Default model fal-ai/veo3.1 (4, 6 or 8 s, sent as "8s"). A result request
answered 422 with a content-policy message is a refusal; an errored request is a failed job.
"""

from __future__ import annotations

from ...suite import PromptItem
from .. import http
from ..base import DONE, FAILED, REFUSED, RUNNING, Poll, Refused
from ..rest import RestProvider
from .veo import veo_duration


class FalProvider(RestProvider):
    name = "fal"
    key_env = ("FAL_KEY",)
    default_model = "fal-ai/veo3.1"
    default_base_url = "https://queue.fal.run"
    base_url_env = "FAL_QUEUE_URL"
    poll_interval = 5.0

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self.key()}"}

    def _app(self) -> str:
        return "/".join(self.model.split("/")[:2])  # requests live under the app id, without sub-paths

    def submit_call(self, item: PromptItem):
        o = self.options
        duration = f"{veo_duration(o.duration)}s" if "veo" in self.model else str(int(round(o.duration)))
        inputs = {"prompt": item.prompt, "duration": duration, "resolution": o.resolution,
                  "aspect_ratio": o.aspect_ratio, "generate_audio": o.audio, **o.extra}
        return "POST", f"/{self.model}", inputs

    def job_id_from(self, reply):
        return reply.get("request_id")

    def poll_call(self, job_id: str):
        return "GET", f"/{self._app()}/requests/{job_id}/status"

    def poll_from(self, reply) -> Poll:
        status = reply.get("status", "")
        if status == "COMPLETED":
            if reply.get("error"):
                return Poll(FAILED, reason=str(reply["error"])[:300])
            return Poll(DONE, url=reply.get("response_url") or "")
        if status in ("IN_QUEUE", "IN_PROGRESS"):
            return Poll(RUNNING)
        return Poll(FAILED, reason=f"unknown queue status {status!r}")

    def poll(self, job_id: str) -> Poll:
        state = super().poll(job_id)
        if state.state != DONE:
            return state
        try:  # the result itself: a refusal shows up here, as a 4xx
            result = self._json("GET", f"/{self._app()}/requests/{job_id}")
        except Refused as exc:
            return Poll(REFUSED, reason=str(exc))
        except http.HTTPFault as exc:
            return Poll(FAILED, reason=str(exc)[:300])
        url = ((result.get("video") or {}).get("url")) if isinstance(result, dict) else None
        return Poll(DONE, url=url) if url else Poll(FAILED, reason="result holds no video URL")
