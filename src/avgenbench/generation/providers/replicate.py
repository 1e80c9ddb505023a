"""Replicate through its official SDK `replicate` (extra `generate-replicate`): `models.predictions.create` for an
official model -> prediction id -> `predictions.get` until succeeded -> the `output` URL, downloaded.

Key: REPLICATE_API_TOKEN. Endpoint: the SDK's (REPLICATE_BASE_URL, which the SDK reads itself, else
https://api.replicate.com). Two SDK behaviours are turned off: its transport retries GETs answered 429/503/504 up to
10 times (the runner retries instead), and predictions.create sends no timeout at all unless `wait` is set (which
would make the server hold the request), so requests without a limit get ours. Default model google/veo-3.1 (4, 6 or
8 s, so 10 s asks for 8; other models get --duration as given). A failed prediction whose error says the input or
output was flagged (E005), or a submit refused as sensitive, is a refusal.
"""

from __future__ import annotations

from typing import Any

from ...suite import PromptItem
from ..base import DONE, FAILED, REFUSED, RUNNING, Poll
from ..sdk import SdkProvider, sdk_timeout
from .veo import veo_duration


def _transport_with_limits(timeout: Any) -> Any:
    """An httpx transport that gives a request without a timeout (replicate's create) the client's limits."""
    import httpx

    limits = {"connect": timeout.connect, "read": timeout.read, "write": timeout.write, "pool": timeout.pool}

    class WithLimits(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            given = request.extensions.get("timeout") or {}
            request.extensions["timeout"] = {k: given.get(k) if given.get(k) is not None else v
                                             for k, v in limits.items()}
            return super().handle_request(request)

    return WithLimits()


class ReplicateProvider(SdkProvider):
    name = "replicate"
    key_env = ("REPLICATE_API_TOKEN",)
    default_model = "google/veo-3.1"
    sdk, extra = "replicate", "generate-replicate"
    poll_interval = 5.0

    def make_client(self, replicate: Any) -> Any:
        timeout = sdk_timeout()
        client = replicate.Client(api_token=self.key(), base_url=self.base_url, timeout=timeout,
                                  transport=_transport_with_limits(timeout))
        retrying = getattr(client._client, "_transport", None)  # the SDK wraps every transport in its RetryTransport
        if hasattr(retrying, "max_attempts"):
            retrying.max_attempts = 1
        return client

    def start(self, item: PromptItem) -> str:
        o = self.options
        duration = veo_duration(o.duration) if self.model.startswith("google/veo") else int(round(o.duration))
        inputs = {"prompt": item.prompt, "duration": duration, "resolution": o.resolution,
                  "aspect_ratio": o.aspect_ratio, "generate_audio": o.audio, **o.extra}
        return self.client().models.predictions.create(model=self.model, input=inputs).id

    def is_refusal(self, text: str) -> bool:
        return "E005" in text or super().is_refusal(text)

    def state(self, job_id: str) -> Poll:
        prediction = self.client().predictions.get(job_id)
        status = prediction.status
        if status == "succeeded":
            output = prediction.output
            return Poll(DONE, url=output[0] if isinstance(output, list) else output)
        if status in ("failed", "canceled", "aborted"):
            error = str(prediction.error or status)
            return Poll(REFUSED if self.is_refusal(error) else FAILED, reason=error[:300])
        return Poll(RUNNING)  # starting, processing
