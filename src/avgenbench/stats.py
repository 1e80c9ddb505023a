"""How sure a score is: bootstrap CIs over prompts, subset stability, paired run comparison.

Everything works on a prompts × dimensions matrix of scored raw values (NaN where a row is excluded under the failure
policy). A resample, a subset or the full set is a weight vector over prompts; a dimension's mean raw value is
(w @ values) / (w @ present), normalised afterwards, exactly as Scheme 2 does it on the full set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .scheme import DIMENSION_IDS, GROUPS, SCHEME, policy_value
from .store import ResultRow

DEFAULT_DRAWS = 1000
DEFAULT_SEED = 0
CI_LEVEL = 0.95
STABILITY_FRACTIONS = (0.8, 0.6, 0.4, 0.2)
STABILITY_TRIALS = 200

_WEIGHTS = np.array([SCHEME[d].weight for d in DIMENSION_IDS])
_GROUP_MASKS = {g: np.array([SCHEME[d].group == g for d in DIMENSION_IDS]) for g in GROUPS}
_NORMALIZERS = [np.vectorize(SCHEME[d].normalize, otypes=[float]) for d in DIMENSION_IDS]


@dataclass
class Matrix:
    """Scored raw values of one run: keys[i] × DIMENSION_IDS[j]; NaN where excluded."""

    keys: list[str]
    values: np.ndarray  # (n_prompts, n_dims)

    @property
    def present(self) -> np.ndarray:
        return np.isfinite(self.values)


def value_matrix(rows: list[ResultRow], policy: str, keys: list[str] | None = None) -> Matrix:
    """The matrix of a run's rows under a failure policy; `keys` fixes the prompt order (missing prompts are all NaN)."""
    if keys is None:
        keys = sorted({r.video_key for r in rows})
    index = {k: i for i, k in enumerate(keys)}
    col = {d: j for j, d in enumerate(DIMENSION_IDS)}
    values = np.full((len(keys), len(DIMENSION_IDS)), np.nan)
    for row in rows:
        i = index.get(row.video_key)
        if i is None or row.dimension not in col:
            continue
        value = policy_value(row.dimension, row.status, row.raw, policy)
        if value is not None and math.isfinite(value):
            values[i, col[row.dimension]] = value
    return Matrix(keys, values)


@dataclass
class Aggregates:
    """Per-draw scores; each array has one row per weight vector."""

    raw: np.ndarray  # (draws, dims) mean raw, NaN where no prompt counts
    normalized: np.ndarray  # (draws, dims)
    groups: dict[str, np.ndarray]  # group -> (draws,)
    total: np.ndarray  # (draws,)


def aggregate(matrix: Matrix, weights: np.ndarray) -> Aggregates:
    """Scheme-2 scores for each weight vector (rows of `weights`, shape (draws, n_prompts))."""
    present = matrix.present.astype(float)
    filled = np.where(matrix.present, matrix.values, 0.0)
    weights = np.asarray(weights, dtype=float)
    sums = weights @ filled
    counts = weights @ present
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(counts > 0, sums / np.where(counts > 0, counts, 1.0), np.nan)
    normalized = np.full_like(raw, np.nan)
    for j, norm in enumerate(_NORMALIZERS):
        ok = np.isfinite(raw[:, j])
        if ok.any():
            normalized[ok, j] = norm(raw[ok, j])
    have = np.isfinite(normalized)
    norm0 = np.where(have, normalized, 0.0)
    den = have.astype(float) @ _WEIGHTS
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.where(den > 0, (norm0 @ _WEIGHTS) / np.where(den > 0, den, 1.0), np.nan)
        groups = {}
        for g, mask in _GROUP_MASKS.items():
            n = have[:, mask].sum(axis=1)
            groups[g] = np.where(n > 0, norm0[:, mask].sum(axis=1) / np.where(n > 0, n, 1), np.nan)
    return Aggregates(raw, normalized, groups, total)


def bootstrap_weights(n: int, draws: int, seed: int) -> np.ndarray:
    """Multiplicity of each prompt in each resample with replacement: (draws, n)."""
    rng = np.random.default_rng(seed)
    if n == 0:
        return np.zeros((draws, 0))
    return rng.multinomial(n, np.full(n, 1.0 / n), size=draws).astype(float)


def interval(samples: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float] | None:
    """Percentile interval of the finite samples, or None when none is finite."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(finite, [tail, 100.0 - tail])
    return float(lo), float(hi)


@dataclass
class BootstrapCIs:
    raw: dict[str, tuple[float, float] | None]
    normalized: dict[str, tuple[float, float] | None]
    groups: dict[str, tuple[float, float] | None]
    total: tuple[float, float] | None
    draws: int
    seed: int
    level: float = CI_LEVEL

    def method(self) -> dict:
        return {"level": self.level, "draws": self.draws, "seed": self.seed,
                "method": "percentile bootstrap, resampling prompts with replacement"}


def bootstrap(matrix: Matrix, draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED, level: float = CI_LEVEL) -> BootstrapCIs:
    """95 % (by default) percentile CIs for every dimension (raw and normalised), group and the total."""
    agg = aggregate(matrix, bootstrap_weights(len(matrix.keys), draws, seed))
    dims = list(DIMENSION_IDS)
    return BootstrapCIs(
        raw={d: interval(agg.raw[:, j], level) for j, d in enumerate(dims)},
        normalized={d: interval(agg.normalized[:, j], level) for j, d in enumerate(dims)},
        groups={g: interval(v, level) for g, v in agg.groups.items()},
        total=interval(agg.total, level), draws=draws, seed=seed, level=level)


# Stability over prompt subsets ---------------------------------------------------

def subset_weights(n: int, k: int, trials: int, rng: np.random.Generator) -> np.ndarray:
    """0/1 weights choosing k of n prompts without replacement, one row per trial."""
    order = np.argsort(rng.random((trials, n)), axis=1)[:, :k]
    weights = np.zeros((trials, n))
    np.put_along_axis(weights, order, 1.0, axis=1)
    return weights


def _summary(samples: np.ndarray, full: float | None) -> dict:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return {"mean": None, "std": None, "min": None, "max": None, "mean_minus_full": None, "trials_scored": 0}
    mean = float(finite.mean())
    return {"mean": mean, "std": float(finite.std(ddof=1)) if finite.size > 1 else 0.0,
            "min": float(finite.min()), "max": float(finite.max()),
            "mean_minus_full": None if full is None else mean - full, "trials_scored": int(finite.size)}


def stability(matrix: Matrix, fractions=STABILITY_FRACTIONS, trials: int = STABILITY_TRIALS,
              seed: int = DEFAULT_SEED) -> dict:
    """Re-score random prompt subsets of each size: summary of the total and of every dimension's score."""
    n = len(matrix.keys)
    full = aggregate(matrix, np.ones((1, n)))
    full_total = None if not np.isfinite(full.total[0]) else float(full.total[0])
    full_dims = {d: (float(v) if np.isfinite(v) else None) for d, v in zip(DIMENSION_IDS, full.normalized[0])}
    subsets = []
    for fraction in fractions:
        k = max(1, int(round(fraction * n))) if n else 0
        rng = np.random.default_rng([seed, k])  # one stream per size: a size's result does not depend on the others
        agg = aggregate(matrix, subset_weights(n, k, trials, rng))
        subsets.append({
            "fraction": fraction, "prompts": k, "trials": trials,
            "total": _summary(agg.total, full_total),
            "dimensions": {d: _summary(agg.normalized[:, j], full_dims[d]) for j, d in enumerate(DIMENSION_IDS)},
        })
    return {"prompts": n, "seed": seed, "full_total": full_total, "full_dimensions": full_dims, "subsets": subsets}


# Paired comparison -----------------------------------------------------------------

def _per_prompt_normalized(values: np.ndarray) -> np.ndarray:
    out = np.full_like(values, np.nan)
    for j, norm in enumerate(_NORMALIZERS):
        ok = np.isfinite(values[:, j])
        if ok.any():
            out[ok, j] = norm(values[ok, j])
    return out


def compare(rows_a: list[ResultRow], rows_b: list[ResultRow], policy: str, draws: int = DEFAULT_DRAWS,
            seed: int = DEFAULT_SEED, level: float = CI_LEVEL) -> dict:
    """A − B on the prompts both runs hold: per-dimension and total difference with a paired bootstrap CI, and the share
    of prompts (scored in both) where each run's per-video normalised value is higher."""
    keys_a = {r.video_key for r in rows_a}
    keys_b = {r.video_key for r in rows_b}
    shared = sorted(keys_a & keys_b)
    ma, mb = value_matrix(rows_a, policy, shared), value_matrix(rows_b, policy, shared)
    n = len(shared)
    point_a, point_b = aggregate(ma, np.ones((1, n))), aggregate(mb, np.ones((1, n)))
    weights = bootstrap_weights(n, draws, seed)
    boot_a, boot_b = aggregate(ma, weights), aggregate(mb, weights)
    per_a, per_b = _per_prompt_normalized(ma.values), _per_prompt_normalized(mb.values)
    dims = {}
    for j, d in enumerate(DIMENSION_IDS):
        a, b = point_a.normalized[0, j], point_b.normalized[0, j]
        both = np.isfinite(per_a[:, j]) & np.isfinite(per_b[:, j])
        m = int(both.sum())
        wins_a = int((per_a[both, j] > per_b[both, j]).sum())
        wins_b = int((per_a[both, j] < per_b[both, j]).sum())
        dims[d] = {
            "a": _f(a), "b": _f(b), "diff": _f(a - b) if np.isfinite(a) and np.isfinite(b) else None,
            "ci": interval(boot_a.normalized[:, j] - boot_b.normalized[:, j], level),
            "paired_prompts": m,
            "a_wins": wins_a / m if m else None, "b_wins": wins_b / m if m else None,
            "ties": (m - wins_a - wins_b) / m if m else None,
        }
    ta, tb = point_a.total[0], point_b.total[0]
    return {
        "shared_prompts": n, "only_a": len(keys_a - keys_b), "only_b": len(keys_b - keys_a), "policy": policy,
        "ci": {"level": level, "draws": draws, "seed": seed, "method": "paired percentile bootstrap over shared prompts"},
        "total": {"a": _f(ta), "b": _f(tb), "diff": _f(ta - tb) if np.isfinite(ta) and np.isfinite(tb) else None,
                  "ci": interval(boot_a.total - boot_b.total, level)},
        "dimensions": dims,
    }


def _f(value) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None
