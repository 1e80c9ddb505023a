"""Build result stores with known per-video rows for the statistics, leaderboard and report tests."""

from __future__ import annotations

from pathlib import Path

from avgenbench.dimensions import DIMENSION_IDS, DIMENSIONS
from avgenbench.store import ResultRow, Store


def row(run: str, key: str, dim: str, status: str = "ok", raw: float | None = None, tier: str = "lite",
        evidence: dict | None = None, message: str = "", video_path: str | None = None, content: str | None = None,
        backend: str = "test-backend") -> ResultRow:
    category = key.split("/", 1)[0]
    normalized = DIMENSIONS[dim].normalize(raw) if status == "ok" and raw is not None else None
    return ResultRow(run, key, dim, backend, "1.0", tier, category, content or key.split("/", 1)[1], video_path, None,
                     status, raw, normalized, evidence or {}, message, 0.0, 0.01)


def write_run(out_dir: Path, run: str, rows: list[ResultRow], tier: str = "lite", policy: str = "strict",
              suite_dir: str = "", videos_dir: str = "") -> None:
    with Store(out_dir) as store:
        store.ensure_run(run, tier, videos_dir, suite_dir, "test", {"failure_policy": policy})
        store.write_results(rows)


def full_rows(run: str, values: dict[str, list[float]], tier: str = "lite", categories=("ads", "news")) -> list[ResultRow]:
    """Rows for every dimension: values[dim][i] is prompt i's raw value (None: a no_audio_stream video fault)."""
    rows = []
    for dim, series in values.items():
        for i, raw in enumerate(series):
            key = f"{categories[i % len(categories)]}/prompt {i:03d}"
            status = "ok" if raw is not None else "no_audio_stream"
            rows.append(row(run, key, dim, status, raw, tier))
    return rows


def uniform_values(rng, n: int) -> dict[str, list[float]]:
    """Random raw values inside each dimension's unit range, for every dimension."""
    out = {}
    for d in DIMENSION_IDS:
        lo, hi = {"aud": (1, 10), "lo_phy": (1, 5), "av": (0, 0.5), "lip": (0, 8), "vis": (0, 1)}.get(d, (0, 100))
        out[d] = [float(v) for v in rng.uniform(lo, hi, n)]
    return out
