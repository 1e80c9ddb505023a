"""How numbers are written: one place for the tables, the report, the leaderboard and the JSON outputs."""

from __future__ import annotations

from typing import Sequence

DASH = "—"  # a value that was not measured


def fixed(value: float | None, digits: int = 1, missing: str = DASH) -> str:
    """`value` with `digits` decimals; `missing` for None."""
    return missing if value is None else f"{value:.{digits}f}"


def interval(ci: Sequence[float] | None, digits: int = 1, kind: str = "f") -> str:
    """'[lo, hi]' with `digits` decimals (kind 'f') or significant digits (kind 'g'); '' without an interval."""
    return "" if not ci else f"[{ci[0]:.{digits}{kind}}, {ci[1]:.{digits}{kind}}]"


def rounded(value: float | None, digits: int = 4) -> float | None:
    """`value` rounded for JSON output; None stays None."""
    return None if value is None else round(float(value), digits)


def rounded_pair(ci: Sequence[float] | None, digits: int = 4) -> list[float] | None:
    return None if ci is None else [round(float(ci[0]), digits), round(float(ci[1]), digits)]
