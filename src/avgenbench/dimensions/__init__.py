"""The eleven AVGen-Bench dimensions, one module each, found by id; and the dimensions reported beside Scheme 2.

The registry names where each dimension is declared ("module:attribute") and imports a module only when its dimension
is asked for, so that importing one dimension (or reading the ids) does not load the models and clients of all eleven.
DIMENSIONS / DIMENSION_IDS are Scheme 2's eleven (what totals, weights and tables iterate); the dimensions beside the
total (`ctrl`, weight 0, scheme.BESIDE_TOTAL) run only when named (`--dimensions ctrl`): get_dimension and
parse_dimension_list know both, ALL_DIMENSION_IDS lists both.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from .base import Backend, Dimension

_REGISTRY: dict[str, str] = {
    "vis": "avgenbench.dimensions.vis:DIMENSION",
    "aud": "avgenbench.dimensions.aud:DIMENSION",
    "av": "avgenbench.dimensions.av:DIMENSION",
    "lip": "avgenbench.dimensions.lip:DIMENSION",
    "text": "avgenbench.dimensions.text:DIMENSION",
    "face": "avgenbench.dimensions.face:DIMENSION",
    "music": "avgenbench.dimensions.music:DIMENSION",
    "speech": "avgenbench.dimensions.speech:DIMENSION",
    "lo_phy": "avgenbench.dimensions.lo_phy:DIMENSION",
    "hi_phy": "avgenbench.dimensions.hi_phy:DIMENSION",
    "holistic": "avgenbench.dimensions.holistic:DIMENSION",
}
_BESIDE_TOTAL: dict[str, str] = {"ctrl": "avgenbench.dimensions.ctrl:DIMENSION"}
DIMENSION_IDS: tuple[str, ...] = tuple(_REGISTRY)
ALL_DIMENSION_IDS: tuple[str, ...] = DIMENSION_IDS + tuple(_BESIDE_TOTAL)
_LOADED: dict[str, Dimension] = {}
_BACKENDS: dict[tuple[str, str], Backend | None] = {}


def get_dimension(dim_id: str) -> Dimension:
    """The dimension declared for an id, importing its module on first use."""
    if dim_id in _LOADED:
        return _LOADED[dim_id]
    try:
        target = _REGISTRY[dim_id] if dim_id in _REGISTRY else _BESIDE_TOTAL[dim_id]
    except (KeyError, TypeError):
        raise KeyError(f"unknown dimension '{dim_id}'; known: {', '.join(ALL_DIMENSION_IDS)}") from None
    module_name, _, attribute = target.partition(":")
    dimension = getattr(importlib.import_module(module_name), attribute)
    if dimension.id != dim_id:
        raise RuntimeError(f"{target} declares dimension '{dimension.id}', registered as '{dim_id}'")
    _LOADED[dim_id] = dimension
    return dimension


class _LazyDimensions(Mapping[str, Dimension]):
    """`DIMENSIONS[id]` for code that reads the registry as a dict; each lookup imports only that dimension."""

    def __getitem__(self, dim_id: str) -> Dimension:
        return get_dimension(dim_id)

    def __iter__(self) -> Iterator[str]:
        return iter(DIMENSION_IDS)

    def __len__(self) -> int:
        return len(DIMENSION_IDS)

    def __contains__(self, dim_id: object) -> bool:
        return dim_id in _REGISTRY

    def __repr__(self) -> str:
        return f"DIMENSIONS({', '.join(DIMENSION_IDS)})"


DIMENSIONS: Mapping[str, Dimension] = _LazyDimensions()


def parse_dimension_list(text: str | None) -> list[str]:
    """'vis,aud' -> ['vis', 'aud'] in canonical order; None or '' or 'all' -> Scheme 2's eleven (those beside the
    total, such as 'ctrl', only when named)."""
    if not text or text.strip() == "all":
        return list(DIMENSION_IDS)
    wanted = [part.strip().lower() for part in text.split(",") if part.strip()]
    for dim_id in wanted:
        if dim_id not in _REGISTRY and dim_id not in _BESIDE_TOTAL:
            raise KeyError(f"unknown dimension '{dim_id}'; known: {', '.join(ALL_DIMENSION_IDS)}")
    return [d for d in ALL_DIMENSION_IDS if d in wanted]


def get_backend(dim_id: str, tier: str) -> Backend | None:
    """The backend of a dimension for a tier, created once per process; None when the tier has none."""
    key = (dim_id, tier)
    if key not in _BACKENDS:
        factory = get_dimension(dim_id).backends.get(tier)
        _BACKENDS[key] = factory() if factory else None
    return _BACKENDS[key]
