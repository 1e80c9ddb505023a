"""ByteDance Seedance through Volcengine Ark's official SDK (`volcenginesdkarkruntime`, from the
`volcengine-ark-runtime` distribution, extra `generate-seedance`): `Ark.content_generation.tasks.create` -> task id
-> `tasks.get` until succeeded -> `content.video_url`, downloaded.

Key: ARK_API_KEY. Region: ARK_BASE_URL (default https://ark.cn-beijing.volces.com/api/v3; BytePlus ModelArk is
https://ark.ap-southeast.bytepluses.com/api/v3, same API and client; "/api/v3" is added when missing). Built with
max_retries=0: the runner retries. Defaults: seedance-1-5-pro-251215, 720p, 16:9, 10 s, audio on, no watermark.
--param fields go into the request body as given (the SDK's extra_body). Errors whose code names sensitive content
are refusals.
"""

from __future__ import annotations

import os
from typing import Any

from ...suite import PromptItem
from ..base import DONE, FAILED, REFUSED, RUNNING, Poll
from ..sdk import SdkProvider, sdk_timeout

DEFAULT_BASE_URL = "https://ark.cn-beijing.volces.com/api/v3"


def ark_base_url(url: str | None) -> str:
    url = (url or DEFAULT_BASE_URL).rstrip("/")
    return url if url.endswith("/api/v3") else url + "/api/v3"


class SeedanceProvider(SdkProvider):
    name = "seedance"
    key_env = ("ARK_API_KEY",)
    default_model = "seedance-1-5-pro-251215"
    sdk, extra = "volcenginesdkarkruntime", "generate-seedance"
    poll_interval = 10.0

    def make_client(self, ark: Any) -> Any:
        return ark.Ark(base_url=ark_base_url(self.base_url or os.environ.get("ARK_BASE_URL")), api_key=self.key(),
                       max_retries=0, timeout=sdk_timeout())

    def start(self, item: PromptItem) -> str:
        o = self.options
        task = self.client().content_generation.tasks.create(
            model=self.model, content=[{"type": "text", "text": item.prompt}], resolution=o.resolution,
            ratio=o.aspect_ratio, duration=int(round(o.duration)), generate_audio=o.audio, watermark=False,
            extra_body=o.extra or None)
        return task.id

    def state(self, job_id: str) -> Poll:
        task = self.client().content_generation.tasks.get(task_id=job_id)
        status = task.status
        if status == "succeeded":
            return Poll(DONE, url=task.content.video_url)
        if status in ("failed", "cancelled", "expired"):
            error = getattr(task, "error", None)
            text = f"{getattr(error, 'code', '') or ''}: {getattr(error, 'message', '') or status}".strip(": ")
            return Poll(REFUSED if self.is_refusal(text) else FAILED, reason=text[:300])
        return Poll(RUNNING)  # queued, running
