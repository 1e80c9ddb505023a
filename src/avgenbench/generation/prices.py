"""Estimated prices, in US dollars per second of generated video, used by --dry-run and --max-cost.

These defaults are list prices as published by each provider for the default settings (720p, audio on where the
model has it) when this table was written; providers change them, so check yours and override with a JSON file
`{"provider": {"model id": usd_per_second, "*": usd_per_second}}` (`--prices FILE`). A model missing from the
table has no estimate: --dry-run shows '?', and --max-cost refuses to start rather than guess.
"""

from __future__ import annotations

import json
from pathlib import Path

DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "synthetic": {"*": 0.0},
    "ltx2": {"*": 0.0},  # local GPU: no per-video fee
    "veo": {"veo-3.1-generate-001": 0.40, "veo-3.1-fast-generate-001": 0.15, "veo-3.0-generate-001": 0.40,
            "veo-3.0-fast-generate-001": 0.15},
    "wan": {"wan2.5-t2v-preview": 0.10, "wan2.6-t2v": 0.10},
    "kling": {"kling-v2-6": 0.14},
    "seedance": {"seedance-1-5-pro-251215": 0.05},
    "runway": {"gen4.5": 0.12, "veo3.1": 0.40, "veo3.1_fast": 0.15},
    "fal": {"fal-ai/veo3.1": 0.40, "fal-ai/veo3.1/fast": 0.15},
    "replicate": {"google/veo-3.1": 0.40, "google/veo-3.1-fast": 0.15},
}


class PriceError(ValueError):
    pass


def load_prices(path: Path | str | None = None) -> dict[str, dict[str, float]]:
    """The default table with the user's file laid over it (per provider, per model)."""
    table = {p: dict(models) for p, models in DEFAULT_PRICES.items()}
    if path is None:
        return table
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PriceError(f"cannot read price file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise PriceError(f"price file {path}: expected an object of providers")
    for provider, models in data.items():
        if not isinstance(models, dict) or not all(isinstance(v, (int, float)) and v >= 0 for v in models.values()):
            raise PriceError(f"price file {path}: '{provider}' must map model ids to non-negative USD per second")
        table.setdefault(provider, {}).update({m: float(v) for m, v in models.items()})
    return table


def price_per_second(table: dict[str, dict[str, float]], provider: str, model: str) -> float | None:
    models = table.get(provider, {})
    if model in models:
        return models[model]
    return models.get("*")
