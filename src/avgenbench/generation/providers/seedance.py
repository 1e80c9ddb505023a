"""ByteDance Seedance through Volcengine Ark's REST API (what `volcengine-python-sdk[ark]` wraps):
POST /api/v3/contents/generations/tasks -> GET .../tasks/{id} -> `content.video_url`.

Key: ARK_API_KEY. Region: ARK_BASE_URL (default https://ark.cn-beijing.volces.com; BytePlus ModelArk is
https://ark.ap-southeast.bytepluses.com). Defaults: seedance-1-5-pro-251215, 720p, 16:9, 10 s, audio on.
Errors whose code names sensitive content are refusals.
"""

from __future__ import annotations

from ...suite import PromptItem
from ..base import DONE, FAILED, REFUSED, RUNNING, Poll
from ..rest import REFUSAL_WORDS, RestProvider


class SeedanceProvider(RestProvider):
    name = "seedance"
    key_env = ("ARK_API_KEY",)
    default_model = "seedance-1-5-pro-251215"
    default_base_url = "https://ark.cn-beijing.volces.com"
    base_url_env = "ARK_BASE_URL"
    poll_interval = 10.0

    def submit_call(self, item: PromptItem):
        o = self.options
        body = {"model": self.model, "content": [{"type": "text", "text": item.prompt}],
                "resolution": o.resolution, "ratio": o.aspect_ratio, "duration": int(round(o.duration)),
                "generate_audio": o.audio, "watermark": False, **o.extra}
        return "POST", "/api/v3/contents/generations/tasks", body

    def job_id_from(self, reply):
        return reply.get("id")

    def poll_call(self, job_id: str):
        return "GET", f"/api/v3/contents/generations/tasks/{job_id}"

    def poll_from(self, reply) -> Poll:
        status = reply.get("status", "")
        if status == "succeeded":
            return Poll(DONE, url=reply["content"]["video_url"])
        if status in ("failed", "cancelled", "expired"):
            error = reply.get("error") or {}
            text = f"{error.get('code', '')}: {error.get('message', status)}".strip(": ")
            refused = any(w in text.lower() for w in REFUSAL_WORDS)
            return Poll(REFUSED if refused else FAILED, reason=text[:300])
        return Poll(RUNNING)
