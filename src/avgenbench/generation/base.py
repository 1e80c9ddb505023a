"""The provider interface of the generation runner: submit a prompt, poll its job, download the finished video.

A provider raises `Transient` for what may pass on retry (HTTP 429 and 5xx, timeouts, a broken download) and
returns a `Poll` whose state says whether the job runs, finished, failed or was refused. Keys are read from the
provider's usual environment variables and are never put into messages (`redact`).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..suite import PromptItem

RUNNING, DONE, FAILED, REFUSED = "running", "done", "failed", "refused"
# words by which a provider's error text says it refused the prompt (content policy) rather than failed
REFUSAL_WORDS = ("sensitive", "safety", "moderation", "policy", "inspection", "flagged", "prohibited", "risk")


class Transient(RuntimeError):
    """A failure that may pass on retry: rate limit, server error, timeout, broken download."""


class Fatal(RuntimeError):
    """A failure retrying will not fix: missing key or SDK, a rejected request (bad model id, bad options)."""


class Refused(RuntimeError):
    """The provider refused this prompt (content policy); recorded, never retried."""


class Unconfirmed(RuntimeError):
    """A submit whose answer was lost after the request went out (read timeout): the provider may hold (and bill)
    the job. Recorded as failed and never resubmitted automatically, so a lost answer cannot make us pay twice."""


class Unsupported(ValueError):
    """The provider cannot render this prompt at all (e.g. the synthetic provider and a prompt without a spec)."""


@dataclass
class Options:
    """What every provider understands; each documents how it maps them (and which it ignores)."""

    model: str | None = None
    duration: float = 10.0
    resolution: str = "720p"
    aspect_ratio: str = "16:9"
    audio: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Poll:
    state: str  # RUNNING | DONE | FAILED | REFUSED
    url: str | None = None  # where the finished video is (a URL or a local file)
    reason: str = ""
    data: Any = None  # provider-specific payload for `download` (e.g. inline video bytes)


class Provider(ABC):
    """One backend. `submit` must return as soon as the provider holds the job (its id goes into the ledger
    before any poll); `poll` and `download` must be safe to call again after a crash."""

    name: str = ""
    key_env: tuple[str, ...] = ()  # environment variables holding the key, first one set wins
    default_model: str = ""
    poll_interval: float = 10.0
    max_concurrency: int | None = None  # local renderers work one prompt at a time whatever --concurrency says

    def __init__(self, options: Options | None = None, base_url: str | None = None):
        self.options = options or Options()
        self.model = self.options.model or self.default_model
        self.base_url = base_url
        self.staging: Path | None = None

    def supports(self, item: PromptItem) -> bool:
        return True

    def check(self) -> None:
        """Raise Fatal when the provider cannot run here (no key, no SDK); called once before anything is sent."""
        self.key()

    def key(self) -> str:
        if not self.key_env:
            return ""
        for name in self.key_env:
            if os.environ.get(name):
                return os.environ[name]
        raise Fatal(f"{self.name}: set {' or '.join(self.key_env)} to your API key")

    def secrets(self) -> list[str]:
        """Values that must never appear in messages."""
        return [os.environ[n] for n in self.key_env if os.environ.get(n)]

    @abstractmethod
    def submit(self, item: PromptItem) -> str:
        """Start a job for `item`; return its id. Local providers render into `self.staging` (a hidden folder in
        OUT the runner sets before the first call)."""

    @abstractmethod
    def poll(self, job_id: str) -> Poll:
        """The job's state now."""

    @abstractmethod
    def download(self, poll: Poll, dest: Path) -> None:
        """Write the finished video to `dest` (the runner renames it into place)."""


def lazy_import(module: str, extra: str):
    """Import an optional SDK or raise Fatal naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise Fatal(f"the {module!r} package is missing; install it with: pip install 'avgenbench[{extra}]'") from None
