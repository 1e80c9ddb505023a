"""What a judge is asked and what it answers, independent of any vendor SDK."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union


@dataclass(frozen=True)
class TextPart:
    text: str

    def fingerprint(self) -> str:
        return "text:" + hashlib.sha256(self.text.encode()).hexdigest()


@dataclass(frozen=True)
class VideoPart:
    """A whole video file. Identified in the cache by its content hash, never by its path."""

    path: str
    sha256: str
    mime_type: str = "video/mp4"

    def fingerprint(self) -> str:
        return "video:" + self.sha256

    def size(self) -> int:
        return Path(self.path).stat().st_size

    def read(self) -> bytes:
        return Path(self.path).read_bytes()


@dataclass(frozen=True)
class FramesPart:
    """Sampled frames as JPEG bytes with their times (s); used where a server takes no video."""

    jpegs: tuple[bytes, ...]
    times: tuple[float, ...]

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for t, jpeg in zip(self.times, self.jpegs):
            digest.update(f"{t:.3f}".encode())
            digest.update(hashlib.sha256(jpeg).digest())
        return "frames:" + digest.hexdigest()


@dataclass(frozen=True)
class AudioPart:
    """A mono WAV clip."""

    wav: bytes

    def fingerprint(self) -> str:
        return "audio:" + hashlib.sha256(self.wav).hexdigest()


Part = Union[TextPart, VideoPart, FramesPart, AudioPart]


@dataclass
class JudgeRequest:
    template_id: str
    template_version: str
    system: str
    parts: list[Part]
    schema: dict[str, Any]
    temperature: float = 0.0
    repeat: int = 0  # 0: the cached answer; k > 0: the k-th extra sample for judge variance
    # Ids the answer must cover: {"checks": ["E1", "E2"]} means every id needs an entry in answer["checks"].
    required_ids: dict[str, list[str]] = field(default_factory=dict)

    def fingerprint(self) -> str:
        payload = {
            "template": [self.template_id, self.template_version], "system": self.system,
            "parts": [p.fingerprint() for p in self.parts], "schema": self.schema,
            "temperature": self.temperature, "repeat": self.repeat, "required_ids": self.required_ids,
        }
        return json.dumps(payload, sort_keys=True)

    @property
    def has_media(self) -> bool:
        return any(not isinstance(p, TextPart) for p in self.parts)


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class RawReply:
    """What a backend got back from one call."""

    text: str
    usage: Usage = field(default_factory=Usage)


@dataclass
class JudgeResponse:
    data: dict[str, Any] | None
    raw_text: str
    usage: Usage
    latency: float
    backend: str
    model: str
    cached: bool = False
    calls: int = 0  # network calls this answer took (0 when cached)
    cost: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.data is not None and not self.error


class JudgeError(RuntimeError):
    """The judge could not give a valid answer; the message says why (never contains a key)."""


class TransientError(RuntimeError):
    """Worth retrying: 429, 5xx, timeouts, dropped connections."""


class BudgetExhausted(JudgeError):
    """--max-cost was reached; no new calls are scheduled."""
