"""What a dimension is, what a backend does, and what a measurement returns.

A dimension module declares one `Dimension` and its backends. A backend turns one decoded Clip (plus the prompt and its
frozen annotation) into one `Measurement`: a status, a raw value in the paper's unit, and evidence a person can read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..annotations import PromptAnnotation
from ..media import Clip, MediaNeeds
from ..scheme import (BESIDE_TOTAL, GROUP_WEIGHTS, GROUPS, NOT_SCORED, RETRY_STATUSES, SCHEME, TIERS, TOOL_FAULTS, VIDEO_FAULTS,
                      DimensionScheme, Normalization, Status, inverse, scale, status_kind)
from ..scheme import entry
from ..suite import PromptItem

# Scheme-2 facts live in scheme.py (it imports nothing from the package); re-exported here for existing imports.
__all__ = ["TIERS", "GROUPS", "GROUP_WEIGHTS", "Status", "VIDEO_FAULTS", "NOT_SCORED", "TOOL_FAULTS", "RETRY_STATUSES",
           "status_kind", "scale", "inverse", "Measurement", "ItemContext", "Backend", "Dimension"]


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
    options: Mapping[str, Any] = field(default_factory=dict)
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

    def unavailable_reason(self, options: Mapping[str, Any]) -> str | None:
        """Why this backend cannot run here (missing model, package, weights); None when it can."""
        return None

    def applies(self, ctx: "ItemContext") -> Measurement | None:
        """A measurement decided from the prompt alone, before any media is decoded (e.g. `not_applicable` when
        the prompt asks nothing of this dimension); None to measure the clip."""
        return None

    def identity(self, options: Mapping[str, Any]) -> tuple[str, str]:
        """(name, version) stored with each row. Override when options change what is measured (a judge, a model):
        stored rows are kept on resume only while the identity is unchanged."""
        return self.name, self.version

    @abstractmethod
    def measure(self, clip: Clip, ctx: ItemContext) -> Measurement: ...


@dataclass(frozen=True)
class Dimension:
    """A dimension's measuring side: the media it needs, the annotations it reads and its backend per tier. Its Scheme-2
    facts (display name, group, unit, direction, normalisation, worst value, weight) are scheme.SCHEME[id]."""

    id: str
    needs: MediaNeeds
    annotations_used: tuple[str, ...] = ()
    backends: dict[str, Callable[[], Backend]] = field(default_factory=dict)  # tier -> factory

    def __post_init__(self) -> None:
        if self.id not in SCHEME and self.id not in BESIDE_TOTAL:
            raise ValueError(f"dimension '{self.id}' is not in scheme.SCHEME or scheme.BESIDE_TOTAL")

    @property
    def scheme(self) -> DimensionScheme:
        return entry(self.id)

    @property
    def in_scheme(self) -> bool:
        """False: reported beside the Scheme-2 total, never inside it (weight 0)."""
        return self.scheme.in_scheme

    @property
    def display(self) -> str:
        return self.scheme.display

    @property
    def group(self) -> str:
        return self.scheme.group

    @property
    def unit(self) -> str:
        return self.scheme.unit

    @property
    def higher_is_better(self) -> bool:
        return self.scheme.higher_is_better

    @property
    def normalize(self) -> Normalization:
        return self.scheme.normalize

    @property
    def worst_raw(self) -> float:
        """The value a video fault is scored as under the strict policy."""
        return self.scheme.worst_raw

    @property
    def description(self) -> str:
        return self.scheme.description

    @property
    def weight(self) -> float:
        return self.scheme.weight

    @property
    def normalization(self) -> str:
        return self.scheme.normalization
