"""Kling's REST API (no official SDK): text2video task -> poll -> video URL, authorised by a short-lived JWT
(HS256) signed here from the access key and secret key.

Keys: KLING_ACCESS_KEY and KLING_SECRET_KEY. Region: KLING_BASE_URL (default the global endpoint). Defaults:
kling-v2-6, mode pro, 10 s, 16:9, sound on. Kling renders 5 or 10 s (--duration rounds to the nearer).
Business code 1301 (content security) and a failed task whose message names a content check are refusals.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time

from ...suite import PromptItem
from ..base import DONE, FAILED, REFUSAL_WORDS, REFUSED, RUNNING, Fatal, Poll
from ..rest import RestProvider


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def kling_token(access_key: str, secret_key: str, now: float | None = None, ttl: int = 1800) -> str:
    """The JWT Kling expects: iss = access key, valid from 5 s ago for `ttl` seconds, signed HS256 with the secret."""
    now = int(time.time() if now is None else now)
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps({"iss": access_key, "exp": now + ttl, "nbf": now - 5}, separators=(",", ":")).encode())
    signature = hmac.new(secret_key.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


class KlingProvider(RestProvider):
    name = "kling"
    key_env = ("KLING_ACCESS_KEY", "KLING_SECRET_KEY")
    default_model = "kling-v2-6"
    default_base_url = "https://api-singapore.klingai.com"
    base_url_env = "KLING_BASE_URL"
    poll_interval = 15.0

    def key(self) -> str:
        missing = [n for n in self.key_env if not os.environ.get(n)]
        if missing:
            raise Fatal(f"kling: set {' and '.join(missing)}")
        return os.environ["KLING_ACCESS_KEY"]

    def headers(self) -> dict[str, str]:
        self.key()
        token = kling_token(os.environ["KLING_ACCESS_KEY"], os.environ["KLING_SECRET_KEY"])
        return {"Authorization": f"Bearer {token}"}

    def submit_call(self, item: PromptItem):
        o = self.options
        body = {"model_name": self.model, "prompt": item.prompt, "duration": "10" if o.duration >= 7.5 else "5",
                "aspect_ratio": o.aspect_ratio, "mode": "pro", "sound": "on" if o.audio else "off", **o.extra}
        return "POST", "/v1/videos/text2video", body

    def is_refusal(self, status: int, text: str) -> bool:
        return '"code": 1301' in text or '"code":1301' in text

    def job_id_from(self, reply):
        if reply.get("code", 0) != 0:
            raise Fatal(f"kling: code {reply.get('code')}: {reply.get('message')}")
        return (reply.get("data") or {}).get("task_id")

    def poll_call(self, job_id: str):
        return "GET", f"/v1/videos/text2video/{job_id}"

    def poll_from(self, reply) -> Poll:
        data = reply["data"]
        status = data.get("task_status", "")
        if status == "succeed":
            return Poll(DONE, url=data["task_result"]["videos"][0]["url"])
        if status == "failed":
            message = data.get("task_status_msg", "failed")
            refused = any(w in message.lower() for w in REFUSAL_WORDS)
            return Poll(REFUSED if refused else FAILED, reason=message)
        return Poll(RUNNING)
