"""Vendor backends: turn a JudgeRequest into one API call. Retries, caching and parsing live in client.py.

A backend raises TransientError for what is worth retrying (429, 5xx, timeouts, connection errors, a reply body that
is not JSON or is cut off) and JudgeError for the rest. Messages never carry the API key.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import threading
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import Any

from .spec import ANSWER_SETTINGS, JudgeSpec
from .types import AudioPart, FramesPart, JudgeError, JudgeRequest, RawReply, TextPart, TransientError, Usage, VideoPart


class JudgeBackend(ABC):
    def __init__(self, spec: JudgeSpec, base_url: str | None, api_key: str | None):
        self.spec = spec
        self.base_url = base_url
        self._key = api_key

    @property
    def name(self) -> str:
        return self.spec.kind

    @property
    def model(self) -> str:
        return self.spec.model

    @property
    def secrets(self) -> list[str]:
        return [self._key] if self._key else []

    @property
    def wants_frames(self) -> bool:
        """True when the video goes as sampled frames (and audio) instead of the file."""
        return False

    @property
    def wants_audio(self) -> bool:
        return False

    def identity(self) -> dict[str, Any]:
        """What changes the answers (part of the cache key): backend, model and media settings, not timeouts or keys."""
        return {"backend": self.name, "model": self.model,
                "media": {k: v for k, v in sorted(self.spec.settings.items()) if k in ANSWER_SETTINGS}}

    @contextmanager
    def media_session(self):
        """Spans every attempt of one question; backends that upload media release it on exit."""
        yield

    @abstractmethod
    def send(self, request: JudgeRequest, timeout: float) -> RawReply: ...


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# Gemini ----------------------------------------------------------------------

class GeminiBackend(JudgeBackend):
    """google-genai: JSON mode with the response schema, explicit video fps, inline or Files API video."""

    def __init__(self, spec, base_url, api_key):
        super().__init__(spec, base_url, api_key)
        self._client = None
        self._local = threading.local()  # uploads of the current question, per thread: sha256 -> File
        self.uploads = 0
        self.deleted = 0

    @contextmanager
    def media_session(self):
        self._local.files = {}
        try:
            yield
        finally:
            files, self._local.files = self._local.files, None
            for file in files.values():
                try:
                    self._client.files.delete(name=file.name)
                    self.deleted += 1
                except Exception:
                    pass  # the service expires uploads after 48 h anyway

    def _get_client(self, timeout: float):
        if self._client is None:
            from google import genai
            from google.genai import types

            options = types.HttpOptions(timeout=int(timeout * 1000), base_url=self.base_url or None)
            self._client = genai.Client(api_key=self._key, http_options=options)
        return self._client

    def send(self, request: JudgeRequest, timeout: float) -> RawReply:
        client = self._get_client(timeout)
        if getattr(self._local, "files", None) is None:  # called outside the client: own session
            with self.media_session():
                return self._send(client, request, timeout)
        return self._send(client, request, timeout)

    def _send(self, client, request: JudgeRequest, timeout: float) -> RawReply:
        from google.genai import types

        parts = [self._part(p, client, timeout) for p in request.parts]
        config: dict[str, Any] = dict(
            system_instruction=request.system, temperature=request.temperature,
            response_mime_type="application/json", response_json_schema=request.schema,
            max_output_tokens=int(self.spec.number("max_output_tokens")) or None,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        if self.spec.get("media_resolution"):
            config["media_resolution"] = "MEDIA_RESOLUTION_" + self.spec.get("media_resolution").upper()
        response = _call(lambda: client.models.generate_content(
            model=self.model, contents=[types.Content(role="user", parts=parts)],
            config=types.GenerateContentConfig(**config)))
        usage = response.usage_metadata
        tokens_in = (usage.prompt_token_count or 0) if usage else 0
        tokens_out = ((usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)) if usage else 0
        try:
            text = response.text or ""
        except Exception:
            text = ""
        return RawReply(text, Usage(tokens_in, tokens_out))

    def _part(self, part, client, timeout: float):
        from google.genai import types

        if isinstance(part, TextPart):
            return types.Part(text=part.text)
        if isinstance(part, VideoPart):
            sampling = types.VideoMetadata(fps=self.spec.number("fps") or None)
            if part.size() <= self.spec.number("inline_mb") * 1_000_000:
                return types.Part(inline_data=types.Blob(data=part.read(), mime_type=part.mime_type), video_metadata=sampling)
            file = self._local.files.get(part.sha256)
            if file is None:
                file = _call(lambda: client.files.upload(file=part.path, config=types.UploadFileConfig(mime_type=part.mime_type)))
                self._local.files[part.sha256] = file
                self.uploads += 1
                file = self._wait_active(client, file, timeout)
                self._local.files[part.sha256] = file
            return types.Part(file_data=types.FileData(file_uri=file.uri, mime_type=part.mime_type), video_metadata=sampling)
        if isinstance(part, AudioPart):
            return types.Part(inline_data=types.Blob(data=part.wav, mime_type="audio/wav"))
        if isinstance(part, FramesPart):
            raise JudgeError("the gemini backend sends the video file, not frames")
        raise TypeError(f"unknown part {type(part).__name__}")

    @staticmethod
    def _wait_active(client, file, timeout: float):
        deadline = time.monotonic() + max(timeout, 10)
        while str(getattr(file, "state", "") or "").upper().endswith("PROCESSING"):
            if time.monotonic() > deadline:
                raise TransientError("uploaded video still processing")
            time.sleep(1.0)
            file = _call(functools.partial(client.files.get, name=file.name))
        if str(getattr(file, "state", "") or "").upper().endswith("FAILED"):
            raise JudgeError("the Files API could not process the uploaded video")
        return file


# OpenAI-compatible -------------------------------------------------------------

SCHEMA_HINT = "Answer with one JSON object and nothing else, following this JSON schema:\n"


class OpenAIBackend(JudgeBackend):
    """openai SDK against any OpenAI-compatible server; video as a video_url part or as frames plus audio."""

    def __init__(self, spec, base_url, api_key):
        super().__init__(spec, base_url, api_key)
        self._client = None
        self.response_format = spec.get("response_format")

    @property
    def wants_frames(self) -> bool:
        return self.spec.get("video") == "frames"

    @property
    def wants_audio(self) -> bool:
        return self.spec.get("audio") not in ("", "0", "false", "no")

    def _get_client(self, timeout: float):
        if self._client is None:
            import openai

            self._client = openai.OpenAI(api_key=self._key or "no-key", base_url=self.base_url or None,
                                         timeout=timeout, max_retries=0)
        return self._client

    def send(self, request: JudgeRequest, timeout: float) -> RawReply:
        import openai

        client = self._get_client(timeout)
        parts = [c for p in request.parts for c in self._content(p)]
        while True:
            content = list(parts)
            if self.response_format != "json_schema":  # the server will not enforce the schema: state it
                content.append({"type": "text", "text": SCHEMA_HINT + json.dumps(request.schema)})
            messages = [{"role": "system", "content": request.system}, {"role": "user", "content": content}]
            kwargs: dict[str, Any] = dict(model=self.model, messages=messages, temperature=request.temperature,
                                          max_tokens=int(self.spec.number("max_output_tokens")) or None)
            if self.response_format == "json_schema":
                kwargs["response_format"] = {"type": "json_schema", "json_schema": {
                    "name": request.template_id.replace(".", "_"), "schema": request.schema, "strict": False}}
            elif self.response_format == "json_object":
                kwargs["response_format"] = {"type": "json_object"}
            try:
                response = _call(functools.partial(client.chat.completions.create, **kwargs))
                break
            except JudgeError as exc:
                # A server without structured output: step down once per level and remember it.
                if "response_format" in kwargs and isinstance(exc.__cause__, openai.BadRequestError) \
                        and any(w in str(exc).lower() for w in ("response_format", "json_schema", "json_object", "schema")):
                    self.response_format = "json_object" if self.response_format == "json_schema" else "none"
                    continue
                raise
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content or "") if choice else ""
        usage = response.usage
        return RawReply(text, Usage(getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0))

    def _content(self, part) -> list[dict[str, Any]]:
        if isinstance(part, TextPart):
            return [{"type": "text", "text": part.text}]
        if isinstance(part, VideoPart):
            return [{"type": "video_url", "video_url": {"url": f"data:{part.mime_type};base64,{_b64(part.read())}"}}]
        if isinstance(part, FramesPart):
            out: list[dict[str, Any]] = []
            for t, jpeg in zip(part.times, part.jpegs):
                out.append({"type": "text", "text": f"frame at t={t:.2f}s"})
                out.append({"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{_b64(jpeg)}"}})
            return out
        if isinstance(part, AudioPart):
            return [{"type": "input_audio", "input_audio": {"data": _b64(part.wav), "format": "wav"}}]
        raise TypeError(f"unknown part {type(part).__name__}")


# errors ------------------------------------------------------------------------

def _call(fn):
    """Run one SDK call, sorting its failures into TransientError or JudgeError."""
    try:
        return fn()
    except (TransientError, JudgeError):
        raise
    except Exception as exc:
        transient, text = _classify(exc)
        raise (TransientError if transient else JudgeError)(text) from exc


def _classify(exc: Exception) -> tuple[bool, str]:
    name = type(exc).__name__
    code = getattr(exc, "status_code", None) or getattr(exc, "code", None)
    try:
        code = int(code) if code is not None else None
    except (TypeError, ValueError):
        code = None
    message = str(exc)[:300]
    if isinstance(exc, json.JSONDecodeError):  # an HTTP 200 whose body is not JSON or was cut off: a server hiccup
        return True, f"the judge's reply body is not JSON or is cut off ({name}: {message})"
    if code is not None:
        return (code == 429 or code >= 500 or code == 408), f"HTTP {code} ({name}): {message}"
    try:
        import httpx

        if isinstance(exc, httpx.TransportError):
            return True, f"{name}: {message}"
    except ImportError:  # pragma: no cover
        pass
    transient_names = ("Timeout", "Connection", "RemoteProtocol")
    return any(t in name for t in transient_names), f"{name}: {message}"


def make_backend(spec: JudgeSpec, base_url: str | None = None) -> JudgeBackend:
    """The backend for a spec, with its key and endpoint from the environment unless given."""
    if spec.kind == "gemini":
        key = os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
        url = base_url or os.environ.get("GOOGLE_GEMINI_BASE_URL") or None
        if not key:
            raise JudgeError("gemini judge needs GEMINI_API_KEY or GOOGLE_API_KEY in the environment")
        return GeminiBackend(spec, url, key)
    key = os.environ.get("OPENAI_API_KEY")
    url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    if not key and not url:
        raise JudgeError("openai judge needs OPENAI_API_KEY, or a local server via OPENAI_BASE_URL / --judge-base-url")
    return OpenAIBackend(spec, url, key)
