"""The eleven AVGen-Bench dimensions, one module each, found by id; and dimensions reported beside Scheme 2.

DIMENSIONS / DIMENSION_IDS are Scheme 2's eleven (what totals, weights and tables iterate). EXTRA_DIMENSIONS
(`ctrl`) have weight 0 and run only when named (`--dimensions ctrl`); get_dimension and parse_dimension_list know both.
"""

from __future__ import annotations

from . import aud, av, ctrl, face, hi_phy, holistic, lip, lo_phy, music, speech, text, vis
from .base import Backend, Dimension

DIMENSIONS: dict[str, Dimension] = {
    m.DIMENSION.id: m.DIMENSION for m in (vis, aud, av, lip, text, face, music, speech, lo_phy, hi_phy, holistic)
}
DIMENSION_IDS: tuple[str, ...] = tuple(DIMENSIONS)
EXTRA_DIMENSIONS: dict[str, Dimension] = {ctrl.DIMENSION.id: ctrl.DIMENSION}  # outside Scheme 2, never in a total
ALL_DIMENSION_IDS: tuple[str, ...] = DIMENSION_IDS + tuple(EXTRA_DIMENSIONS)
_BACKENDS: dict[tuple[str, str], Backend | None] = {}


def get_dimension(dim_id: str) -> Dimension:
    try:
        return DIMENSIONS[dim_id] if dim_id in DIMENSIONS else EXTRA_DIMENSIONS[dim_id]
    except KeyError:
        raise KeyError(f"unknown dimension '{dim_id}'; known: {', '.join(ALL_DIMENSION_IDS)}") from None


def parse_dimension_list(text: str | None) -> list[str]:
    """'vis,aud' -> ['vis', 'aud'] in canonical order; None or '' or 'all' -> Scheme 2's eleven (extras such as
    'ctrl' only when named)."""
    if not text or text.strip() == "all":
        return list(DIMENSION_IDS)
    wanted = [part.strip().lower() for part in text.split(",") if part.strip()]
    for dim_id in wanted:
        get_dimension(dim_id)
    return [d for d in ALL_DIMENSION_IDS if d in wanted]


def get_backend(dim_id: str, tier: str) -> Backend | None:
    """The backend of a dimension for a tier, created once per process; None when the tier has none."""
    key = (dim_id, tier)
    if key not in _BACKENDS:
        factory = get_dimension(dim_id).backends.get(tier)
        _BACKENDS[key] = factory() if factory else None
    return _BACKENDS[key]
