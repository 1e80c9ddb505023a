"""What a dimension is, what a backend does, and what a measurement returns.

A dimension module declares one `Dimension` and its backends. A backend turns one decoded Clip (plus the prompt and its
frozen annotation) into one `Measurement`: a status, a raw value in the paper's unit, and evidence a person can read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable

from ..annotations import PromptAnnotation
from ..media import Clip, MediaNeeds, MediaStatus
from ..suite import PromptItem

TIERS = ("lite", "paper")
GROUPS = {"basic": "Basic uni-modal", "cross": "Basic cross-modal", "fine": "Fine-grained"}
GROUP_WEIGHTS = {"basic": 0.2, "cross": 0.2, "fine": 0.6}


class Status:
    OK = "ok"
    # Caused by the generated video: scored as the dimension's worst value under the strict policy.
    MISSING_VIDEO = MediaStatus.MISSING_VIDEO
    UNREADABLE = MediaStatus.UNREADABLE
    NO_VIDEO_STREAM = MediaStatus.NO_VIDEO_STREAM
    NO_AUDIO_STREAM = MediaStatus.NO_AUDIO_STREAM
    TOO_SHORT = MediaStatus.TOO_SHORT
    TOO_SMALL = MediaStatus.TOO_SMALL  # dimensions that read frames only
    AUDIO_OFFSET = MediaStatus.AUDIO_OFFSET  # dimensions that read audio only
    NO_FACE = "no_face"
    NO_SPEECH = "no_speech"
    # Not scored and not a fault: the prompt asks nothing of this dimension, or the measure cannot apply.
    NOT_APPLICABLE = "not_applicable"
    NO_EVENTS = "no_events"
    INCONCLUSIVE = "inconclusive"  # the measure cannot tell (evidence no better than chance, a face never confirmed)
    # The tool could not run: excluded, and visible in coverage.
    UNAVAILABLE_IN_TIER = "unavailable_in_tier"
    NO_JUDGE = "no_judge"
    ERROR = "error"


VIDEO_FAULTS = frozenset({
    Status.MISSING_VIDEO, Status.UNREADABLE, Status.NO_VIDEO_STREAM, Status.NO_AUDIO_STREAM, Status.TOO_SHORT,
    Status.TOO_SMALL, Status.AUDIO_OFFSET, Status.NO_FACE, Status.NO_SPEECH,
})
NOT_SCORED = frozenset({Status.NOT_APPLICABLE, Status.NO_EVENTS, Status.INCONCLUSIVE})
TOOL_FAULTS = frozenset({Status.UNAVAILABLE_IN_TIER, Status.NO_JUDGE, Status.ERROR})
# Rows a re-run recomputes instead of keeping.
RETRY_STATUSES = frozenset({Status.ERROR, Status.NO_JUDGE})


def status_kind(status: str) -> str:
    """'scored', 'video_fault', 'not_scored' or 'tool_fault'."""
    if status == Status.OK:
        return "scored"
    if status in VIDEO_FAULTS:
        return "video_fault"
    if status in NOT_SCORED:
        return "not_scored"
    return "tool_fault"


@dataclass
class Measurement:
    status: str
    raw: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def __post_init__(self) -> None:
        if self.status == Status.OK and self.raw is None:
            raise ValueError("an ok measurement needs a raw value")
        if self.raw is not None:
            self.raw = float(self.raw)


@dataclass
class ItemContext:
    """Everything a backend may read besides the clip."""

    item: PromptItem
    annotation: PromptAnnotation
    tier: str = "lite"
    options: dict[str, Any] = field(default_factory=dict)
    judge: Any = None  # a judge client when one is configured (paper tier)


class Backend(ABC):
    """One way to measure a dimension. Instantiated once per process; load models lazily in `prepare`."""

    name: str = ""
    version: str = "0"
    tier: str = "lite"
    # Judge templates (ids) this backend asks: their versions and the prompt are part of each row's context
    # (provenance.row_context), so a new rubric recomputes the rows made with the old one.
    templates: tuple[str, ...] = ()

    def needs(self) -> MediaNeeds | None:
        """Media this backend needs; None means the dimension's declared needs."""
        return None

    def unavailable_reason(self, options: dict[str, Any]) -> str | None:
        """Why this backend cannot run here (missing model, package, weights); None when it can."""
        return None

    def applies(self, ctx: "ItemContext") -> Measurement | None:
        """A measurement decided from the prompt alone, before any media is decoded (e.g. `not_applicable` when
        the prompt asks nothing of this dimension); None to measure the clip."""
        return None

    def identity(self, options: dict[str, Any]) -> tuple[str, str]:
        """(name, version) stored with each row. Override when options change what is measured (a judge, a model):
        stored rows are kept on resume only while the identity is unchanged."""
        return self.name, self.version

    @abstractmethod
    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement: ...


def scale(factor: float) -> Callable[[float], float]:
    def normalize(raw: float) -> float:
        return min(100.0, max(0.0, raw * factor))

    normalize.__doc__ = f"raw × {factor:g}, clamped to 0–100"
    return normalize


def inverse(limit: float) -> Callable[[float], float]:
    def normalize(raw: float) -> float:
        return min(100.0, max(0.0, 100.0 * (1.0 - raw / limit)))

    normalize.__doc__ = f"100 · max(0, 1 − raw / {limit:g})"
    return normalize


@dataclass(frozen=True)
class Dimension:
    id: str
    display: str
    group: str
    unit: str
    higher_is_better: bool
    normalize: Callable[[float], float]
    worst_raw: float  # the value a video fault is scored as under the strict policy
    needs: MediaNeeds
    annotations_used: tuple[str, ...] = ()
    backends: dict[str, Callable[[], Backend]] = field(default_factory=dict)  # tier -> factory
    description: str = ""
    in_scheme: bool = True  # False: reported beside the Scheme-2 total, never inside it (weight 0)

    @property
    def weight(self) -> float:
        if not self.in_scheme:
            return 0.0
        members = 2 if self.group in ("basic", "cross") else 7
        return GROUP_WEIGHTS[self.group] / members

    @property
    def normalization(self) -> str:
        return self.normalize.__doc__ or ""
