"""The options of one eval run, typed.

Backends still read them as a mapping (`options.get("whisper_model")`, `{**options}`, `options.items()`): the mapping
view holds the options that are set (not None) plus any extra keys, so code written for the old options dict reads
the same values. Picklable, so that worker processes get the same options.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True, eq=False)  # compared as a mapping (== the old dict), never hashed
class RunOptions(Mapping[str, Any]):
    failure_policy: str | None = None
    lo_phy: str | None = None  # Lo-Phy's backend choice (dimensions/lo_phy.py LO_PHY_MODES)
    ocr_detector: str | None = None  # Text's detector: int8 (default) or fp32
    ocr_threads: int | None = None
    music_pyin: bool | None = None  # Music's pYIN check (None: on)
    whisper_model: str | None = None  # a local CTranslate2 Whisper model directory
    face_model: str | None = None  # an InsightFace model directory (paper Face)
    judge: str | None = None  # the judge spec, e.g. 'gemini:gemini-2.5-pro'
    judge_base_url: str | None = None
    judge_cache: str | None = None
    judge_session: str | None = None
    max_cost: float | None = None
    judge_repeats: int | None = None
    judge_reduce: str | None = None  # how K repeated judge scores become one: mean (default) or median
    extra: dict[str, Any] = field(default_factory=dict)  # keys this class does not name (e.g. a test's judge_client)

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> "RunOptions":
        """RunOptions from an options dict (or RunOptions); keys it does not name go to `extra`."""
        if isinstance(options, RunOptions):
            return options
        options = dict(options or {})
        named = {f.name for f in fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in options.items() if k in named},
                   extra={k: v for k, v in options.items() if k not in named})

    def _named(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}

    def __getitem__(self, key: str) -> Any:
        """A named option (None when unset) or an extra key; KeyError for anything else."""
        if key in self.extra:
            return self.extra[key]
        if key != "extra" and key in self._named():
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        yield from (k for k, v in self._named().items() if v is not None)
        yield from self.extra

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, key: object) -> bool:
        return key in self.extra or (isinstance(key, str) and self._named().get(key) is not None)

    def get(self, key: str, default: Any = None) -> Any:
        """Like dict.get on the old options dict: `default` for an option that is unset."""
        value = self[key] if (key in self.extra or key in self._named()) else None
        return default if value is None and key not in self.extra else value

    def as_dict(self) -> dict[str, Any]:
        return dict(self.items())
