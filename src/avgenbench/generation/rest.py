"""A provider spoken over plain HTTPS+JSON with `requests`, for the APIs without an official SDK we use (Kling has
none; Wan's DashScope API is spoken directly, as the issue allows): submit a task, poll it, download the video URL.

Subclasses say where to send what (`submit_call`, `poll_call`), with which headers, and how to read the answers
(`job_id_from`, `poll_from`, `is_refusal`); errors are mapped once here: 429/5xx/timeouts are Transient, a 4xx the
subclass recognises as a content check is a refusal, any other 4xx is Fatal. The SDK providers are in `sdk.py`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..suite import PromptItem
from . import http
from .base import Fatal, Poll, Provider, Refused, Transient, Unconfirmed


class RestProvider(Provider):
    default_base_url = ""
    base_url_env = ""  # optional environment variable pointing the provider at another region or a proxy

    def __init__(self, options=None, base_url=None):
        super().__init__(options, base_url)
        self.base_url = (base_url or (os.environ.get(self.base_url_env) if self.base_url_env else None)
                         or self.default_base_url).rstrip("/")

    # --- what subclasses fill in -------------------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        raise NotImplementedError

    def submit_call(self, item: PromptItem) -> tuple[str, str, dict[str, Any]]:
        """(method, path, JSON body) that starts a job."""
        raise NotImplementedError

    def job_id_from(self, reply: dict[str, Any]) -> str:
        raise NotImplementedError

    def poll_call(self, job_id: str) -> tuple[str, str]:
        raise NotImplementedError

    def poll_from(self, reply: dict[str, Any]) -> Poll:
        raise NotImplementedError

    def is_refusal(self, status: int, text: str) -> bool:
        """Whether a 4xx answer (status, body) is the provider's content check refusing the prompt."""
        raise NotImplementedError

    # --- the protocol ------------------------------------------------------------------------------------------
    def _json(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        try:
            return http.request_json(method, self.base_url + path, self.headers(), body)
        except http.HTTPFault as exc:
            if self.is_refusal(exc.status, exc.text):
                raise Refused(f"HTTP {exc.status}: {exc.text[:300]}") from None
            raise

    def submit(self, item: PromptItem) -> str:
        method, path, body = self.submit_call(item)
        try:
            reply = self._json(method, path, body)
        except http.ReadTimedOut as exc:
            raise Unconfirmed(f"{exc}; the provider may have accepted the job, so it is not resubmitted "
                              "automatically (check the provider's console, then --retry-failed)") from None
        job_id = self.job_id_from(reply)
        if not job_id:
            raise Fatal(f"{self.name}: submit answered without a job id: {str(reply)[:200]}")
        return str(job_id)

    def poll(self, job_id: str) -> Poll:
        method, path = self.poll_call(job_id)
        try:
            return self.poll_from(self._json(method, path))
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise Transient(f"{self.name}: unexpected poll answer ({type(exc).__name__})") from None

    def download(self, poll: Poll, dest: Path) -> None:
        http.download_video(self.name, poll, dest)
