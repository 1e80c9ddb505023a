"""A provider spoken through the provider's official SDK (Runway, Replicate, fal, Seedance on Volcengine Ark).

The SDK client is built once per provider, with the SDK's own retries off (the runner retries, with backoff and
the ledger's rule that a submit whose answer was lost is never sent again) and our one timeout (`http.TIMEOUT`).
Every SDK here is an httpx client underneath, so its errors are mapped once, here: an HTTP status error (the SDK's
exception carries `status_code`, or `status` for replicate) of 429 or 5xx is Transient, a 4xx whose text names a
content check is a refusal, any other 4xx is Fatal (`http.HTTPFault`, so the runner can tell a job the provider
forgot, 404); a timeout or broken connection (an httpx exception, or an SDK exception raised from one) is Transient,
except a submit's read timeout, which is Unconfirmed. A missing SDK is a Fatal naming the extra that installs it.
Subclasses fill in `make_client`, `start` (submit, returns the job id) and `state` (the job's Poll); the video URL
they return is downloaded by `http.download_video`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from ..suite import PromptItem
from . import http
from .base import REFUSAL_WORDS, Fatal, Options, Poll, Provider, Refused, Transient, Unconfirmed, lazy_import


def sdk_timeout() -> Any:
    """`http.TIMEOUT` as the httpx.Timeout the SDK clients take (read when a client is built)."""
    import httpx

    connect, read = http.TIMEOUT
    return httpx.Timeout(read, connect=connect)


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an SDK's error carries, if it is a status error."""
    for attr in ("status_code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def transport_error(exc: BaseException) -> BaseException | None:
    """The httpx transport error (timeout, refused or dropped connection) behind `exc`, if any: the SDKs raise it
    as is or wrap it in their own exception (`raise ... from err`)."""
    import httpx

    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, (httpx.TransportError, TimeoutError, ConnectionError)):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class SdkProvider(Provider):
    sdk = ""  # the import name of the official SDK
    extra = ""  # the avgenbench extra that installs it

    def __init__(self, options: Options | None = None, base_url: str | None = None):
        super().__init__(options, base_url)
        self._client: Any = None
        self._lock = threading.Lock()

    # --- what subclasses fill in -------------------------------------------------------------------------------
    def make_client(self, sdk: Any) -> Any:
        """The SDK's client for this provider's key and base URL, its own retries off."""
        raise NotImplementedError

    def start(self, item: PromptItem) -> str:
        """Submit `item` through the SDK; the job id."""
        raise NotImplementedError

    def state(self, job_id: str) -> Poll:
        """The job's state, read through the SDK."""
        raise NotImplementedError

    def is_refusal(self, text: str) -> bool:
        return any(w in text.lower() for w in REFUSAL_WORDS)

    # --- the protocol ------------------------------------------------------------------------------------------
    def check(self) -> None:
        lazy_import(self.sdk, self.extra)
        self.key()

    def client(self) -> Any:
        with self._lock:  # the runner's threads share one client (httpx clients are thread-safe)
            if self._client is None:
                self._client = self.make_client(lazy_import(self.sdk, self.extra))
            return self._client

    def call(self, fn: Callable[[], Any], submitting: bool = False) -> Any:
        """Run one SDK call with its errors mapped (see the module's docstring)."""
        try:
            return fn()
        except Exception as exc:
            mapped = self.map_error(exc, submitting)
            if mapped is None:
                raise
            raise mapped from None

    def map_error(self, exc: Exception, submitting: bool) -> Exception | None:
        if isinstance(exc, (Transient, Refused, Fatal, Unconfirmed)):
            return exc
        status = http_status(exc)
        if status is not None and status >= 400:
            text = " ".join(str(exc).split())
            if status == 429 or status >= 500:
                return Transient(f"HTTP {status}: {text[:200]}")
            if self.is_refusal(text):
                return Refused(f"HTTP {status}: {text[:300]}")
            return http.HTTPFault(status, text[:500])
        cause = transport_error(exc)
        if cause is None:
            return None
        import httpx

        if submitting and isinstance(cause, httpx.ReadTimeout):
            return Unconfirmed(f"{self.name}: submit sent but unanswered (read timeout); the provider may have accepted "
                               "the job, so it is not resubmitted automatically (check the provider's console, then "
                               "--retry-failed)")
        return Transient(f"{self.name}: {type(cause).__name__}")

    def submit(self, item: PromptItem) -> str:
        job_id = self.call(lambda: self.start(item), submitting=True)
        if not job_id:
            raise Fatal(f"{self.name}: submit answered without a job id")
        return str(job_id)

    def poll(self, job_id: str) -> Poll:
        try:
            return self.call(lambda: self.state(job_id))
        except (KeyError, TypeError, IndexError, AttributeError, ValueError) as exc:
            raise Transient(f"{self.name}: unexpected poll answer ({type(exc).__name__})") from None

    def download(self, poll: Poll, dest: Path) -> None:
        http.download_video(self.name, poll, dest)
