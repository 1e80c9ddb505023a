"""Token usage -> USD with a configurable price table (USD per million tokens)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .spec import JudgeSpec

# USD per million tokens (input, output). Defaults to check against your provider's current price list; override
# with AVGENBENCH_JUDGE_PRICES=file.json ({"model-prefix": [input, output]}) or price_in/price_out in the judge spec.
# The longest matching model-name prefix wins; unknown models (local servers) cost 0.
# Gemini 3 previews: Google's list price for text, image and video input up to 200k tokens (audio input costs more,
# longer prompts cost more); the Gemini 3 Pro preview was later renamed or followed by newer versions, whose prices are
# not in this table (unknown: they cost 0 here until added with AVGENBENCH_JUDGE_PRICES).
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gemini-3-pro-preview": (2.00, 12.0),
    "gemini-3-flash-preview": (0.50, 3.00),
    "gemini-2.5-pro": (1.25, 10.0),
    "gemini-2.5-flash-lite": (0.10, 0.40),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.0-flash": (0.10, 0.40),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.0),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
}


def load_table() -> dict[str, tuple[float, float]]:
    table = dict(DEFAULT_PRICES)
    override = os.environ.get("AVGENBENCH_JUDGE_PRICES")
    if override:
        extra = json.loads(Path(override).read_text())
        table.update({k: tuple(v) for k, v in extra.items() if not k.startswith("_")})
    return table  # type: ignore[return-value]


def price_for(spec: JudgeSpec, table: dict[str, tuple[float, float]] | None = None) -> tuple[float, float] | None:
    """(input, output) USD per million tokens for the spec's model; None when unknown."""
    if spec.get("price_in") or spec.get("price_out"):
        return spec.number("price_in"), spec.number("price_out")
    table = load_table() if table is None else table
    model = spec.model.lower().rsplit("/", 1)[-1]
    matches = [k for k in table if model.startswith(k.lower())]
    return table[max(matches, key=len)] if matches else None


def cost_of(prices: tuple[float, float] | None, input_tokens: int, output_tokens: int) -> float:
    if prices is None:
        return 0.0
    return (input_tokens * prices[0] + output_tokens * prices[1]) / 1_000_000
