"""Scheme 2: normalise each dimension's mean raw value to 0–100 and take the weighted mean over available dimensions.

Failure policies:
- strict (default): a fault of the generated video (missing, unreadable, no audio, no face, ...) counts as the
  dimension's worst raw value; a fault of the tool (error, no judge, no backend in the tier) is excluded.
- reference: both are dropped, as the reference implementation does.

Every number carries a 95 % bootstrap CI over prompts (see stats.py); `ci_draws=0` turns them off.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .layers import card_layers
from .scheme import (BESIDE_TOTAL, DIMENSION_IDS, DISPLAY_TO_ID, GROUP_WEIGHTS, GROUPS, POLICIES, SCHEME, normalize,
                     policy_value, status_kind)
from .stats import DEFAULT_DRAWS, DEFAULT_SEED, bootstrap, value_matrix
from .store import ResultRow
from .numbers import rounded, rounded_pair


def scheme2(normalized: dict[str, float | None]) -> tuple[float | None, float]:
    """(total, coverage) from normalised dimension scores; None entries are unavailable."""
    num = den = 0.0
    for dim_id, value in normalized.items():
        if value is None or dim_id not in SCHEME:  # a dimension outside Scheme 2 (ctrl) never enters it
            continue
        weight = SCHEME[dim_id].weight
        num += weight * value
        den += weight
    return (num / den if den else None), den


def group_scores(normalized: dict[str, float | None]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for group in GROUPS:
        values = [v for d, v in normalized.items() if v is not None and d in SCHEME and SCHEME[d].group == group]
        out[group] = sum(values) / len(values) if values else None
    return out


def scored_value(row: ResultRow, policy: str) -> float | None:
    """The raw value a row contributes to its dimension's mean under a policy, or None when excluded."""
    return policy_value(row.dimension, row.status, row.raw, policy)


@dataclass
class DimensionScore:
    id: str
    display: str
    group: str
    weight: float
    n: int = 0  # videos in the mean
    n_ok: int = 0
    n_video_fault: int = 0
    n_not_scored: int = 0
    n_tool_fault: int = 0
    raw_mean: float | None = None
    normalized: float | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    backends: list[str] = field(default_factory=list)
    raw_ci: tuple[float, float] | None = None  # 95 % bootstrap CI of raw_mean
    normalized_ci: tuple[float, float] | None = None

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else rounded_pair(v) if k.endswith("_ci") else v)
                for k, v in self.__dict__.items()}


@dataclass
class RunExpectation:
    """What a complete run holds: a row for every suite prompt and every requested dimension."""

    suite_prompts: int | None  # None: not recorded (a store from before it was) and the suite folder is gone
    dimensions: list[str]


def expectation_of(info: dict) -> RunExpectation:
    """What a stored run asked for: the suite size and dimensions its evals recorded (else its suite folder's size)."""
    config = info.get("config") or {}
    prompts = config.get("suite_prompts")
    if prompts is None and info.get("suite_dir") and Path(info["suite_dir"], "prompts").is_dir():
        from .suite import inspect_suite

        prompts = len(inspect_suite(Path(info["suite_dir"]))[0].items)
    dims = config.get("requested_dimensions") or config.get("dimensions") or []
    return RunExpectation(prompts, [d for d in DIMENSION_IDS if d in dims])


@dataclass
class Completeness:
    """How much of the suite a run's rows cover; `complete` is None when the suite size is unknown."""

    suite_prompts: int | None
    evaluated: int  # prompts with at least one row
    with_video: int  # prompts whose video file was found
    dimensions: list[str]  # the dimensions due for every prompt
    missing_rows: dict[str, int]  # dimension -> prompts without a row for it (only dimensions with some missing)

    @property
    def complete(self) -> bool | None:
        if self.missing_rows:
            return False
        return None if self.suite_prompts is None else self.evaluated >= self.suite_prompts

    def text(self) -> str:
        of = f" of {self.suite_prompts}" if self.suite_prompts is not None else " (suite size not recorded)"
        line = f"evaluated {self.evaluated}{of} prompts; {self.with_video} have a video"
        if self.complete is False:
            gaps = ", ".join(f"{SCHEME[d].display} {n}" for d, n in self.missing_rows.items())
            line += f"\nINCOMPLETE run: prompts without a row: {gaps}; the totals cover the evaluated prompts only"
        return line

    def as_dict(self) -> dict:
        return {"suite": self.suite_prompts, "evaluated": self.evaluated, "with_video": self.with_video,
                "dimensions": self.dimensions, "missing_rows": self.missing_rows, "complete": self.complete}


def completeness(rows: list[ResultRow], expected: RunExpectation | None = None) -> Completeness:
    keys = {r.video_key for r in rows}
    with_video = {r.video_key for r in rows if r.video_path}
    dims = (expected.dimensions if expected and expected.dimensions else
            [d for d in DIMENSION_IDS if any(r.dimension == d for r in rows)])
    due = expected.suite_prompts if expected and expected.suite_prompts is not None else len(keys)
    missing = {}
    for d in dims:
        n = due - len({r.video_key for r in rows if r.dimension == d})
        if n > 0:
            missing[d] = n
    return Completeness(expected.suite_prompts if expected else None, len(keys), len(with_video), dims, missing)


@dataclass
class ScoreCard:
    run: str | None
    tier: str | None
    policy: str
    total: float | None
    coverage: float
    groups: dict[str, float | None]
    dimensions: dict[str, DimensionScore]
    categories: dict[str, dict] = field(default_factory=dict)
    n_videos: int = 0
    total_ci: tuple[float, float] | None = None
    groups_ci: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    ci: dict = field(default_factory=dict)  # how the CIs were made (level, draws, seed, method); empty when off
    prompts: Completeness | None = None  # how much of the suite the rows cover
    beside: dict[str, DimensionScore] = field(default_factory=dict)  # dimensions outside Scheme 2 (ctrl), never in it

    @property
    def complete(self) -> bool | None:
        return self.prompts.complete if self.prompts else None

    def as_dict(self) -> dict:
        return {
            "prompts": self.prompts.as_dict() if self.prompts else None, "complete": self.complete,
            "run": self.run, "tier": self.tier, "failure_policy": self.policy,
            "total": rounded(self.total), "total_ci": rounded_pair(self.total_ci),
            "coverage": round(self.coverage, 4), "n_videos": self.n_videos,
            "groups": {g: rounded(v) for g, v in self.groups.items()},
            "groups_ci": {g: rounded_pair(v) for g, v in self.groups_ci.items()},
            "dimensions": {d: s.as_dict() for d, s in self.dimensions.items()},
            "categories": self.categories, "ci": self.ci,
            "beside_total": {d: s.as_dict() for d, s in self.beside.items()},
            "layers": {k: rounded(v) for k, v in card_layers(self).items()},
        }


_KIND_COUNTER = {"scored": "n_ok", "video_fault": "n_video_fault", "not_scored": "n_not_scored",
                 "tool_fault": "n_tool_fault"}


def _dimension_scores(rows: Iterable[ResultRow], policy: str, dims=SCHEME) -> dict[str, DimensionScore]:
    scores = {d: DimensionScore(d, e.display, e.group, e.weight) for d, e in dims.items()}
    sums: dict[str, float] = {d: 0.0 for d in dims}
    for row in rows:
        if row.dimension not in scores:  # Scheme-2 scores ignore ctrl rows and the other way round
            continue
        s = scores[row.dimension]
        s.statuses[row.status] = s.statuses.get(row.status, 0) + 1
        if row.backend not in s.backends:
            s.backends.append(row.backend)
        counter = _KIND_COUNTER[status_kind(row.status)]
        setattr(s, counter, getattr(s, counter) + 1)
        value = scored_value(row, policy)
        if value is not None and math.isfinite(value):
            s.n += 1
            sums[row.dimension] += value
    for dim_id, s in scores.items():
        if s.n:
            s.raw_mean = sums[dim_id] / s.n
            s.normalized = normalize(dim_id, s.raw_mean)
    return scores


def score_rows(rows: list[ResultRow], policy: str = "strict", run: str | None = None, tier: str | None = None,
               per_category: bool = True, ci_draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED,
               expected: RunExpectation | None = None) -> ScoreCard:
    """Scheme-2 card of a run's rows; `ci_draws` bootstrap resamples of the prompts give the CIs (0: none).
    `expected` (see expectation_of) lets the card say whether the run covers its whole suite."""
    if policy not in POLICIES:
        raise ValueError(f"unknown failure policy '{policy}'; use one of {', '.join(POLICIES)}")
    dims = _dimension_scores(rows, policy)
    normalized = {d: s.normalized for d, s in dims.items()}
    total, coverage = scheme2(normalized)
    card = ScoreCard(run, tier, policy, total, coverage, group_scores(normalized), dims,
                     n_videos=len({r.video_key for r in rows}), prompts=completeness(rows, expected))
    beside = _dimension_scores(rows, policy, BESIDE_TOTAL)
    card.beside = {d: s for d, s in beside.items() if s.statuses}
    if ci_draws > 0 and rows:
        cis = bootstrap(value_matrix(rows, policy), ci_draws, seed)
        for d, s in dims.items():
            s.raw_ci, s.normalized_ci = cis.raw[d], cis.normalized[d]
        card.total_ci, card.groups_ci, card.ci = cis.total, cis.groups, cis.method()
    if per_category:
        for category in sorted({r.category for r in rows}):
            sub = score_rows([r for r in rows if r.category == category], policy, run, tier, per_category=False,
                             ci_draws=ci_draws, seed=seed)
            card.categories[category] = {
                "total": rounded(sub.total), "total_ci": rounded_pair(sub.total_ci),
                "coverage": round(sub.coverage, 4), "n_videos": sub.n_videos,
                "dimensions": {d: rounded(s.normalized) for d, s in sub.dimensions.items()},
                "dimensions_ci": {d: rounded_pair(s.normalized_ci) for d, s in sub.dimensions.items()},
            }
    return card


# Published tables -----------------------------------------------------------

RAW_COLUMNS = ("model",) + tuple(SCHEME[d].display for d in DIMENSION_IDS)


def totals_from_raw_table(path: Path | str) -> list[dict]:
    """Scheme-2 totals from a CSV of raw per-dimension means (one row per model; empty cells are missing)."""
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "model" not in reader.fieldnames:
            raise ValueError(f"{path}: the header must start with 'model' and name dimensions from: {', '.join(RAW_COLUMNS[1:])}")
        unknown = [c for c in reader.fieldnames if c not in RAW_COLUMNS]
        if unknown:
            raise ValueError(f"{path}: unknown column(s) {', '.join(unknown)}; expected {', '.join(RAW_COLUMNS)}")
        for line_no, record in enumerate(reader, start=2):
            normalized: dict[str, float | None] = {}
            raw: dict[str, float | None] = {}
            for display, dim_id in DISPLAY_TO_ID.items():
                cell = (record.get(display) or "").strip()
                if not cell:
                    raw[dim_id] = normalized[dim_id] = None
                    continue
                try:
                    value = float(cell)
                except ValueError:
                    raise ValueError(f"{path} line {line_no}: {display} = {cell!r} is not a number") from None
                raw[dim_id] = value
                normalized[dim_id] = normalize(dim_id, value)
            total, coverage = scheme2(normalized)
            rows.append({
                "model": record["model"], "total": rounded(total, 2), "coverage": round(coverage, 4),
                "groups": {g: rounded(v, 2) for g, v in group_scores(normalized).items()},
                "raw": raw, "normalized": {d: rounded(v, 2) for d, v in normalized.items()},
            })
    return rows


def weights_table() -> dict[str, float]:
    return {d: SCHEME[d].weight for d in DIMENSION_IDS} | {f"group:{g}": w for g, w in GROUP_WEIGHTS.items()}
