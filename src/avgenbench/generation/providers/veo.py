"""Google Veo through the official `google-genai` SDK, on Vertex AI (Veo left the Gemini Developer API; the SDK
now sends generate_videos to Vertex only).

Auth: an API key (Vertex AI express mode) from GOOGLE_API_KEY or GEMINI_API_KEY, or a project with Application
Default Credentials from GOOGLE_CLOUD_PROJECT (+ GOOGLE_CLOUD_LOCATION, default us-central1).
Protocol: models.generate_videos -> long-running operation name (the job id) -> operations.get until done ->
the video comes back inline (bytes) and is written out. Veo renders 4, 6 or 8 s: --duration is rounded down to
the nearest of those (10 s asks for 8). A response whose videos were all filtered by Responsible-AI checks is a
refusal with Google's reasons.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...suite import PromptItem
from ..base import DONE, FAILED, REFUSED, RUNNING, Fatal, Poll, Provider, Refused, Transient, Unconfirmed, lazy_import

VEO_DURATIONS = (4, 6, 8)
_REFUSAL_WORDS = ("safety", "policy", "blocked", "prohibited", "responsible ai", "sensitive")


def veo_duration(seconds: float) -> int:
    fitting = [d for d in VEO_DURATIONS if d <= seconds]
    return fitting[-1] if fitting else VEO_DURATIONS[0]


class VeoProvider(Provider):
    name = "veo"
    key_env = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
    default_model = "veo-3.1-generate-001"
    poll_interval = 10.0

    def __init__(self, options=None, base_url=None):
        super().__init__(options, base_url)
        self._client = None
        self._ops = {}

    def check(self) -> None:
        lazy_import("google.genai", "generate-veo")
        if not os.environ.get("GOOGLE_CLOUD_PROJECT"):
            self.key()

    def client(self):
        if self._client is None:
            genai = lazy_import("google.genai", "generate-veo")
            types = lazy_import("google.genai.types", "generate-veo")
            http = types.HttpOptions(base_url=self.base_url) if self.base_url else None
            project = os.environ.get("GOOGLE_CLOUD_PROJECT")
            if project and not any(os.environ.get(n) for n in self.key_env):
                self._client = genai.Client(vertexai=True, project=project, http_options=http,
                                            location=os.environ.get("GOOGLE_CLOUD_LOCATION", "us-central1"))
            else:
                self._client = genai.Client(vertexai=True, api_key=self.key(), http_options=http)
        return self._client

    def _call(self, fn, submitting: bool = False):
        errors = lazy_import("google.genai.errors", "generate-veo")
        try:
            return fn()
        except errors.APIError as exc:
            code, message = int(getattr(exc, "code", 0) or 0), str(getattr(exc, "message", "") or exc)
            if code == 429 or code >= 500:
                raise Transient(f"HTTP {code}: {message[:200]}") from None
            if any(w in message.lower() for w in _REFUSAL_WORDS):
                raise Refused(message[:300]) from None
            raise Fatal(f"HTTP {code}: {message[:300]}") from None
        except Exception as exc:
            if submitting and type(exc).__name__ == "ReadTimeout":
                raise Unconfirmed("generate_videos sent but unanswered (read timeout); the operation may exist, so "
                                  "it is not resubmitted automatically (check the console, then --retry-failed)") from None
            if type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "ssl") or isinstance(exc, (TimeoutError, ConnectionError)):
                raise Transient(f"{type(exc).__name__}: {exc}"[:200]) from None
            raise

    def submit(self, item: PromptItem) -> str:
        types = lazy_import("google.genai.types", "generate-veo")
        o = self.options
        config = types.GenerateVideosConfig(number_of_videos=1, duration_seconds=veo_duration(o.duration),
                                            aspect_ratio=o.aspect_ratio, resolution=o.resolution, generate_audio=o.audio,
                                            **o.extra)
        source = types.GenerateVideosSource(prompt=item.prompt)
        op = self._call(lambda: self.client().models.generate_videos(model=self.model, source=source, config=config),
                        submitting=True)
        return op.name

    def poll(self, job_id: str) -> Poll:
        types = lazy_import("google.genai.types", "generate-veo")
        op = self._call(lambda: self.client().operations.get(types.GenerateVideosOperation(name=job_id)))
        if op.error:
            message = str(op.error.get("message", op.error)) if isinstance(op.error, dict) else str(op.error)
            state = REFUSED if any(w in message.lower() for w in _REFUSAL_WORDS) else FAILED
            return Poll(state, reason=message[:300])
        if not op.done:
            return Poll(RUNNING)
        result = op.result or op.response
        videos = list(result.generated_videos or []) if result else []
        if not videos:
            if result and result.rai_media_filtered_count:
                reasons = "; ".join(result.rai_media_filtered_reasons or []) or "filtered by Responsible-AI checks"
                return Poll(REFUSED, reason=reasons[:300])
            return Poll(FAILED, reason="operation finished without a video")
        return Poll(DONE, data=videos[0].video)

    def download(self, poll: Poll, dest: Path) -> None:
        video = poll.data
        if video is not None and video.video_bytes:
            dest.write_bytes(video.video_bytes)
            return
        if video is not None and video.uri:
            raise Fatal(f"Veo returned a storage URI ({video.uri.split('?')[0]}) instead of bytes; "
                        "fetch it with your cloud storage tools")
        raise Transient("operation held no video bytes")
