"""Parse `--judge` specs: 'gemini:MODEL' or 'openai:MODEL', with optional settings after '?'.

Examples: 'gemini:gemini-2.5-pro', 'openai:gpt-4o?video=frames&frames=12',
'openai:Qwen/Qwen2.5-Omni-7B?video=video_url', 'openai:qwen2.5:7b?response_format=none&audio=0'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

KINDS = ("gemini", "openai")

# Settings each backend understands, with defaults (strings, as they arrive in a spec).
DEFAULTS = {
    "gemini": {"fps": "1", "inline_mb": "14", "media_resolution": "", "max_output_tokens": "4096"},
    "openai": {"video": "frames", "frames": "12", "frame_side": "512", "audio": "1",
               "response_format": "json_schema", "max_output_tokens": "4096"},
}
# Settings that change what the judge answers (part of cache keys and stored row identities); the others (timeouts,
# retries, concurrency, prices) do not.
ANSWER_SETTINGS = ("fps", "inline_mb", "media_resolution", "video", "frames", "frame_side", "audio", "max_output_tokens")
COMMON = {"timeout": "120", "retries": "4", "backoff": "2", "concurrency": "4", "rpm": "0",
          "price_in": "", "price_out": ""}


@dataclass(frozen=True)
class JudgeSpec:
    kind: str
    model: str
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.model}"

    def get(self, key: str) -> str:
        return self.settings.get(key, "")

    def number(self, key: str) -> float:
        value = self.get(key)
        return float(value) if value else 0.0


# The model `--judge gemini` means when it names none: the reference's current choice (it moved to it in May 2026).
DEFAULT_MODELS = {"gemini": "gemini-3-flash-preview"}


def with_default_model(text: str) -> str:
    """'gemini' (or 'gemini:') -> 'gemini:<its default model>'; any other spec unchanged."""
    bare = (text or "").strip().lower().rstrip(":")
    return f"{bare}:{DEFAULT_MODELS[bare]}" if bare in DEFAULT_MODELS else text


def parse_spec(text: str) -> JudgeSpec:
    """'kind:model[?k=v&...]' -> JudgeSpec ('gemini' alone: DEFAULT_MODELS). Raises ValueError with a readable reason."""
    text = with_default_model(text)
    if not text or ":" not in text:
        raise ValueError(f"judge spec '{text}' must look like gemini:MODEL or openai:MODEL")
    kind, rest = text.split(":", 1)
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise ValueError(f"unknown judge backend '{kind}'; use one of {', '.join(KINDS)}")
    model, _, query = rest.partition("?")
    if not model.strip():
        raise ValueError(f"judge spec '{text}' names no model")
    settings = {**COMMON, **DEFAULTS[kind]}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in settings:
            raise ValueError(f"unknown setting '{key}' for {kind} judges; known: {', '.join(sorted(settings))}")
        settings[key] = value
    if kind == "openai" and settings["video"] not in ("frames", "video_url"):
        raise ValueError("openai judge setting video must be 'frames' or 'video_url'")
    if kind == "openai" and settings["response_format"] not in ("json_schema", "json_object", "none"):
        raise ValueError("openai judge setting response_format must be json_schema, json_object or none")
    return JudgeSpec(kind, model.strip(), settings)


def answer_identity(text: str) -> str:
    """'kind:model' plus the non-default settings that change answers: 'openai:gpt-4o?frames=24'."""
    try:
        spec = parse_spec(text)
    except ValueError:
        return text
    extra = "&".join(f"{k}={v}" for k, v in sorted(spec.settings.items())
                     if k in ANSWER_SETTINGS and v != DEFAULTS[spec.kind].get(k))
    return spec.label + (f"?{extra}" if extra else "")
