"""Scheme 2 as data: the eleven dimensions' names, groups, units, directions, weights and normalisations, the status
kinds and the failure policies.

This module imports nothing from the package, so scoring, statistics, leaderboards and reports read the scheme without
loading any measuring code; `dimensions/` takes these facts from here and adds what measuring needs.
"""

from __future__ import annotations

from dataclasses import dataclass

TIERS = ("lite", "paper")
GROUPS = {"basic": "Basic uni-modal", "cross": "Basic cross-modal", "fine": "Fine-grained"}
GROUP_WEIGHTS = {"basic": 0.2, "cross": 0.2, "fine": 0.6}


# Statuses ------------------------------------------------------------------------

class Status:
    OK = "ok"
    # Caused by the generated video: scored as the dimension's worst value under the strict policy.
    MISSING_VIDEO = "missing_video"
    UNREADABLE = "unreadable"
    NO_VIDEO_STREAM = "no_video_stream"
    NO_AUDIO_STREAM = "no_audio_stream"
    TOO_SHORT = "too_short"
    TOO_SMALL = "too_small"  # dimensions that read frames only
    AUDIO_OFFSET = "audio_offset"  # dimensions that read audio only
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
STATUS_KINDS = ("scored", "video_fault", "not_scored", "tool_fault")


def status_kind(status: str) -> str:
    """'scored', 'video_fault', 'not_scored' or 'tool_fault'."""
    if status == Status.OK:
        return "scored"
    if status in VIDEO_FAULTS:
        return "video_fault"
    if status in NOT_SCORED:
        return "not_scored"
    return "tool_fault"


# Normalisations ------------------------------------------------------------------

@dataclass(frozen=True)
class Normalization:
    """Raw value -> 0–100. 'scale': raw × param; 'inverse': 100 · (1 − raw / param); both clamped to 0–100."""

    kind: str
    param: float

    def __post_init__(self) -> None:
        if self.kind not in ("scale", "inverse"):
            raise ValueError(f"unknown normalisation kind '{self.kind}'")
        if not self.param > 0:
            raise ValueError(f"a normalisation parameter must be positive, not {self.param}")

    def __call__(self, raw: float) -> float:
        value = raw * self.param if self.kind == "scale" else 100.0 * (1.0 - raw / self.param)
        return min(100.0, max(0.0, value))

    @property
    def text(self) -> str:
        if self.kind == "scale":
            return f"raw × {self.param:g}, clamped to 0–100"
        return f"100 · max(0, 1 − raw / {self.param:g})"


def scale(factor: float) -> Normalization:
    return Normalization("scale", factor)


def inverse(limit: float) -> Normalization:
    return Normalization("inverse", limit)


# Dimensions ----------------------------------------------------------------------

@dataclass(frozen=True)
class DimensionScheme:
    """What Scheme 2 knows of one dimension; its weight is its group's weight shared equally among the group."""

    id: str
    display: str
    group: str
    unit: str
    higher_is_better: bool
    normalize: Normalization
    worst_raw: float  # the value a video fault is scored as under the strict policy
    description: str = ""

    @property
    def weight(self) -> float:
        if self.id not in SCHEME:  # reported beside the total, never in it
            return 0.0
        members = sum(1 for d in SCHEME.values() if d.group == self.group)
        return GROUP_WEIGHTS[self.group] / members

    @property
    def in_scheme(self) -> bool:
        return self.id in SCHEME

    @property
    def normalization(self) -> str:
        return self.normalize.text


_SCORE = "score 0–100"
# In canonical order: id, display, group, unit, higher_is_better, normalisation, worst raw value, description.
SCHEME: dict[str, DimensionScheme] = {d.id: d for d in (
    DimensionScheme("vis", "Vis", "basic", "quality score 0–1", True, scale(100), 0.0, "No-reference visual quality."),
    DimensionScheme("aud", "Aud", "basic", "production quality 1–10", True, scale(10), 1.0, "Audio production quality."),
    DimensionScheme("av", "AV", "cross", "offset seconds", False, inverse(0.5), 0.5, "Audio-visual time offset."),
    DimensionScheme("lip", "Lip", "cross", "offset frames @25 fps", False, inverse(8), 8.0,
                    "Lip-audio offset of visible speakers."),
    DimensionScheme("text", "Text", "fine", _SCORE, True, scale(1), 0.0, "Required on-screen text, legible and stable."),
    DimensionScheme("face", "Face", "fine", _SCORE, True, scale(1), 0.0, "Expected number of stable face identities."),
    DimensionScheme("music", "Music", "fine", _SCORE, True, scale(1), 0.0, "Notes, sequences and chords as the prompt asks."),
    DimensionScheme("speech", "Speech", "fine", _SCORE, True, scale(1), 0.0, "Speech the prompt asks for."),
    DimensionScheme("lo_phy", "Lo-Phy", "fine", "rating 1–5", True, scale(20), 1.0, "Physical commonsense of motion."),
    DimensionScheme("hi_phy", "Hi-Phy", "fine", _SCORE, True, scale(1), 0.0,
                    "Physical expectations of the prompt and visible violations."),
    DimensionScheme("holistic", "Holistic", "fine", _SCORE, True, scale(1), 0.0, "Whole-prompt adherence."),
)}
DIMENSION_IDS: tuple[str, ...] = tuple(SCHEME)
DISPLAY_TO_ID = {d.display: d.id for d in SCHEME.values()}

# Dimensions reported beside the Scheme-2 total and never inside it (weight 0), so published totals stay comparable;
# they run only when named (`--dimensions ctrl`).
BESIDE_TOTAL: dict[str, DimensionScheme] = {d.id: d for d in (
    DimensionScheme("ctrl", "Control", "control", _SCORE, True, scale(1), 0.0,
                    "Loudness, tempo and pitch trends, counts and stops the prompt asks of the sound."),
)}
ALL_DIMENSION_IDS: tuple[str, ...] = DIMENSION_IDS + tuple(BESIDE_TOTAL)


def entry(dim_id: str) -> DimensionScheme:
    """What the scheme knows of a dimension, in Scheme 2 or beside it (KeyError for an unknown id)."""
    return SCHEME[dim_id] if dim_id in SCHEME else BESIDE_TOTAL[dim_id]


def normalize(dim_id: str, raw: float) -> float:
    """A dimension's raw value (or mean raw value) on the 0–100 scale."""
    return entry(dim_id).normalize(raw)


# Failure policies ----------------------------------------------------------------

POLICIES = ("strict", "reference")
POLICY_TEXT = {
    "strict": "a fault of the generated video counts as the dimension's worst raw value; a fault of the tool is "
              "excluded",
    "reference": "faults of the video and of the tool are both excluded, as the reference implementation does",
}


def policy_value(dim_id: str, status: str, raw: float | None, policy: str) -> float | None:
    """The raw value a measurement contributes to its dimension's mean under a failure policy; None when excluded."""
    kind = status_kind(status)
    if kind == "scored":
        return raw
    if kind == "video_fault" and policy == "strict":
        return entry(dim_id).worst_raw
    return None
