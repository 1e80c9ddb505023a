"""fal.ai's queue through its official SDK `fal-client` (extra `generate-fal`): `SyncClient.submit` -> request id ->
`status` until Completed -> `result`, whose `video.url` is downloaded.

Key: FAL_KEY. Endpoint: fal-client has no base-URL argument; it builds every queue URL from its module-level
`QUEUE_URL_FORMAT`, https://$FAL_QUEUE_RUN_HOST/ (default queue.fal.run, read when fal_client is imported). A base
URL given to avgenbench (tests: a loopback) is put there for this process. fal-client retries 408/409/429, gateway
errors and every transport error, a submit's read timeout included (which could create a second billed job), up to
its module-level MAX_ATTEMPTS (10) with no per-client switch: that is set to 1, and the runner retries instead.
Default model fal-ai/veo3.1 (4, 6 or 8 s, sent as "8s"). A result request answered 4xx with a content-policy message
is a refusal; a request that completed with an error is a failed job (a refusal when its error type names the
content policy).
"""

from __future__ import annotations

import importlib
from typing import Any

from ...suite import PromptItem
from .. import http
from ..base import DONE, FAILED, REFUSED, RUNNING, Poll, Refused
from ..sdk import SdkProvider
from .veo import veo_duration


class FalProvider(SdkProvider):
    name = "fal"
    key_env = ("FAL_KEY",)
    default_model = "fal-ai/veo3.1"
    sdk, extra = "fal_client", "generate-fal"
    poll_interval = 5.0

    def make_client(self, fal_client: Any) -> Any:
        queue = importlib.import_module("fal_client.client")
        hosts = importlib.import_module("fal_client.auth")
        queue.MAX_ATTEMPTS = 1
        queue.QUEUE_URL_FORMAT = (self.base_url.rstrip("/") + "/" if self.base_url
                                  else f"https://{hosts.FAL_QUEUE_RUN_HOST}/")
        return fal_client.SyncClient(key=self.key(), default_timeout=http.TIMEOUT[1])

    def start(self, item: PromptItem) -> str:
        o = self.options
        duration = f"{veo_duration(o.duration)}s" if "veo" in self.model else str(int(round(o.duration)))
        inputs = {"prompt": item.prompt, "duration": duration, "resolution": o.resolution,
                  "aspect_ratio": o.aspect_ratio, "generate_audio": o.audio, **o.extra}
        return self.client().submit(self.model, arguments=inputs).request_id

    def state(self, job_id: str) -> Poll:
        status = self.client().status(self.model, job_id)
        if type(status).__name__ != "Completed":
            return Poll(RUNNING)  # Queued, InProgress
        if status.error:
            reason = f"{status.error_type or 'error'}: {status.error}"
            return Poll(REFUSED if self.is_refusal(reason) else FAILED, reason=reason[:300])
        try:  # the result itself: a refusal shows up here, as a 4xx
            result = self.call(lambda: self.client().result(self.model, job_id))
        except Refused as exc:
            return Poll(REFUSED, reason=str(exc))
        except http.HTTPFault as exc:
            return Poll(FAILED, reason=str(exc)[:300])
        url = (result.get("video") or {}).get("url") if isinstance(result, dict) else None
        return Poll(DONE, url=url) if url else Poll(FAILED, reason="result holds no video URL")
